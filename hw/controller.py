"""Controller: the boards behind one zero-based outlet range, as the app sees them."""

import operator
from collections.abc import Sequence

from .board import Board
from .handle import BoardHandle, Reapplied, Restore
from .meters import MeterReading


class Controller:
    """Every configured board, its outlets concatenated in config order; thread-safe.

    There is no lock across boards: each BoardHandle has its own, so a slow or vanished
    board delays only calls for its own outlets.
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

    def targets(self) -> list[bool]:
        """The state every outlet was last switched to (or started or restored with)."""
        return [on for handle in self.boards for on in handle.targets()]

    def physical_states(self) -> list[bool | None]:
        """What each board last reported per outlet, None if never read; never waits on hardware."""
        return [on for handle in self.boards for on in handle.physical_states()]

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
