"""Controller: the boards behind one zero-based outlet range, as the app sees them."""

import operator
import threading
import time
from collections.abc import Callable, Sequence

from .board import Board
from .errors import HardwareError
from .handle import BoardHandle, Held, Reapplied, Restore
from .meters import MeterReading

# What on_boards runs for one board: that board, held, and its outlets named in the call.
Part = Callable[[Held, list[int]], None]


class Controller:
    """Every configured board, its outlets concatenated in config order; thread-safe.

    There is no lock across boards: each BoardHandle has its own, so a slow or vanished
    board delays only calls for its own outlets. on_boards holds several at once without
    ever waiting for one while holding another.
    """

    def __init__(self, boards: Sequence[Board], poll_interval: float = 1.0) -> None:
        self.boards: list[BoardHandle] = []
        first = 0
        for board in boards:
            self.boards.append(BoardHandle(board, first, poll_interval))
            first += board.relay_count
        self.outlet_count = first
        self._started = False

    def __enter__(self) -> "Controller":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(
        self, targets: Sequence[bool], *, restore: Restore | None = None, reapplied: Reapplied | None = None
    ) -> None:
        """Open every board, apply targets and start monitoring.

        A board that cannot be opened is left offline for its monitor to retry; this
        returns once every board has been tried, the boards being tried in parallel.
        A board that returns after an outage gets restore(its outlets) (default: its
        targets); reapplied(board name, {outlet: on}, why) hears of every relay a
        monitor switched on its own, so the caller can record it.
        """
        if len(targets) != self.outlet_count:
            raise ValueError(f"expected {self.outlet_count} targets, got {len(targets)}")
        if self._started:
            raise RuntimeError("controller already started")
        self._started = True
        for handle in self.boards:
            handle.start(targets[handle.outlets.start : handle.outlets.stop], restore, reapplied)
        for handle in self.boards:
            handle.wait_ready()

    def set_outlet(self, index: int, on: bool) -> None:
        """Switch an outlet; its target changes only if that worked (bounds: BoardHandle.switch)."""
        handle = self.board_of(index)
        handle.switch(index - handle.outlets.start, bool(on))

    def on_boards(self, indexes: Sequence[int], part: Part, wait: float | None = None) -> None:
        """Hold every board of indexes, then run part(board, its outlets) on each.

        Waits at most wait (default: each board's timeout) for each board, and raises
        BoardUnavailable "busy" with nothing run if one stays taken. The boards' parts
        run at once, one thread each, and each board is let go as its part ends, so no
        board waits for another's I/O. Raises the first failure once every part ended.
        """
        groups = self._groups(indexes)
        if not groups:
            return
        handles = [handle for handle, _ in groups]
        now = time.monotonic()
        _acquire_all(handles, [now + (handle.board.timeout if wait is None else wait) for handle in handles])
        failures: list[HardwareError | None] = [None] * len(groups)

        def run(position: int) -> None:
            handle, outlets = groups[position]
            try:
                part(Held(handle), outlets)
            except HardwareError as exc:  # raised below, in the caller's thread
                failures[position] = exc
            finally:
                handle.release()

        others = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(1, len(groups))]
        for thread in others:
            thread.start()
        try:
            run(0)
        finally:
            for thread in others:
                thread.join()
        for failure in failures:
            if failure is not None:
                raise failure

    def _groups(self, indexes: Sequence[int]) -> list[tuple[BoardHandle, list[int]]]:
        """indexes by board: boards in config order, outlets in the order given."""
        owners = [(self.board_of(index), index) for index in indexes]
        return [
            (handle, [index for owner, index in owners if owner is handle])
            for handle in self.boards
            if any(owner is handle for owner, _ in owners)
        ]

    def targets(self) -> list[bool]:
        """The state every outlet was last switched to (or started or restored with)."""
        return [on for handle in self.boards for on in handle.targets()]

    def physical_states(self) -> list[bool | None]:
        """What each board last reported per outlet, None if never read; never waits on hardware."""
        states: list[bool | None] = []
        for handle in self.boards:
            states += handle.physical_states()  # a board at a time, not an outlet at a time
        return states

    def physical_state(self, index: int) -> bool | None:
        """What the board last reported for one outlet; never waits on hardware."""
        handle = self.board_of(index)
        return handle.physical_state(index - handle.outlets.start)

    def read_meters(self) -> dict[str, MeterReading]:
        """Every meter in board order, as last polled; offline boards' values are None."""
        readings: dict[str, MeterReading] = {}
        for handle in self.boards:
            readings.update(handle.meters())
        return readings

    def board_of(self, index: int) -> BoardHandle:
        """The board that owns outlet index."""
        index = operator.index(index)
        for handle in self.boards:
            if index in handle.outlets:
                return handle
        raise IndexError(f"outlet {index} out of range 0-{self.outlet_count - 1}")

    def close(self) -> None:
        """Stop every monitor and close every port; safe to call twice."""
        for handle in self.boards:
            handle.stop()
        for handle in self.boards:
            handle.close()


def _acquire_all(handles: list[BoardHandle], deadlines: list[float]) -> None:
    """Take every handle's lock by its deadline, waiting only while holding none (as std::lock).

    Block on one, try the others at once; if one is taken, let all go and block on that
    one next. Raises its busy() failure at its deadline, holding nothing.
    """
    first = 0
    while True:
        if not handles[first].acquire(deadlines[first]):
            raise handles[first].busy()
        held = [first]
        for position, handle in enumerate(handles):
            if position == first:
                continue
            if not handle.acquire(deadlines[position], blocking=False):
                break
            held.append(position)
        else:
            return
        for taken in held:
            handles[taken].release()
        first = position
