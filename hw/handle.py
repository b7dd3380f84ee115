"""BoardHandle: one board's lock, cached reports and monitor thread inside a Controller."""

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from .board import Board
from .errors import BoardUnavailable, HardwareError
from .meters import MeterReading

log = logging.getLogger("hw")

ONLINE = "online"
OFFLINE = "offline"

# What one monitor round may do, each with its own budget: open, read, write, read, meters.
ROUND_OPERATIONS = 5

# The states a returning board should get, for its outlets (controller-wide indexes).
Restore = Callable[[range], Sequence[bool]]
# Told what the monitor switched on its own: board name, {outlet: on}, and why.
Reapplied = Callable[[str, dict[int, bool], str], None]

BACK_ONLINE = "back online"
UNDOING = "undoing a failed switch"


def _on_off(on: bool) -> str:
    return "On" if on else "Off"


class BoardHandle:
    """One board as the controller holds it: its lock, what it last reported, its monitor.

    Commands, polls and reconnects all hold the board's I/O lock, so a poll never sees a
    command half done and any mismatch it finds between target and relay is real. The
    cached reports sit behind a second lock that is never held while talking to the
    board, so reading them never waits on hardware. _online changes only under the I/O lock.
    A target changes only when the board carried it out: a failed switch leaves nothing
    behind to be applied later, and the monitor undoes whatever half of it reached the relay.
    """

    def __init__(self, board: Board, first_outlet: int, poll_interval: float) -> None:
        self.board = board
        self.name = board.name
        self.outlets = range(first_outlet, first_outlet + board.relay_count)
        self._poll_interval = poll_interval
        # A plain lock: the thread that releases it may not be the one that took it (hold()).
        self._io = threading.Lock()
        self._cache = threading.Lock()
        self._targets = [False] * board.relay_count
        self._physical: list[bool | None] = [None] * board.relay_count
        self._idle_meters = board.idle_meters()
        self._meters = dict(self._idle_meters)
        self._diverged: set[int] = set()
        self._online = False
        self._unsure = False  # a switch failed midway: the relays may differ from the targets
        self._failure: HardwareError | None = None
        self._restore: Restore | None = None
        self._reapplied: Reapplied | None = None
        self.errors = 0  # failed opens, polls and commands, for metrics; changed under the I/O lock
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._monitor, name=f"hw-monitor-{self.name}", daemon=True)

    def __repr__(self) -> str:
        first, last = self.outlets.start, self.outlets.stop - 1
        return f"<BoardHandle {self.name!r} outlets {first}-{last} {self.status}>"

    @property
    def status(self) -> str:
        """Either "online" or "offline"."""
        return ONLINE if self._online else OFFLINE

    @property
    def last_error(self) -> str | None:
        """The most recent failure, kept after the board recovers; None if there was none."""
        failure = self._failure
        return None if failure is None else str(failure)

    def start(
        self, targets: Sequence[bool], restore: Restore | None = None, reapplied: Reapplied | None = None
    ) -> None:
        """Remember the targets and start the monitor, which opens the board and applies them.

        When the board returns after an outage it gets restore(outlets), or its targets
        without one; reapplied is told every relay the monitor switched on its own.
        """
        with self._cache:
            self._targets = [bool(on) for on in targets]
        self._restore = restore
        self._reapplied = reapplied
        self._thread.start()

    def wait_ready(self) -> None:
        """Wait until the monitor's first attempt to open the board has finished."""
        # That attempt may wait for the I/O lock, then run a round, each step within the budget.
        self._ready.wait((1 + ROUND_OPERATIONS) * self.board.timeout + self._poll_interval)

    @contextmanager
    def hold(self, wait: float | None = None) -> Iterator["Held"]:
        """Hold the board's lock for a block, waiting at most wait (default: its timeout).

        Raises BoardUnavailable "busy" when a poll or another command keeps it longer; then
        nothing has changed. wait=math.inf waits for as long as it takes.
        """
        if not self.acquire(time.monotonic() + (self.board.timeout if wait is None else wait)):
            raise self.busy()
        try:
            yield Held(self)
        finally:
            self._io.release()

    def acquire(self, deadline: float, blocking: bool = True) -> bool:
        """Take the board's lock by deadline (at once or not at all if not blocking)."""
        if not blocking:
            return self._io.acquire(blocking=False)
        if deadline == float("inf"):
            return self._io.acquire()
        return self._io.acquire(timeout=max(0.0, deadline - time.monotonic()))

    def release(self) -> None:
        """Give back the lock taken by acquire(); any thread may."""
        self._io.release()

    def busy(self) -> BoardUnavailable:
        """The failure of a caller that could not have the board in time."""
        message = f"busy: another command held the board for longer than {self.board.timeout:g} s"
        return BoardUnavailable(message, self.name, self.board.url)

    def stop(self) -> None:
        """Ask the monitor to stop; it does at once, or when its current operation ends."""
        self._stop.set()

    def close(self) -> None:
        """Stop the monitor and close the port."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        with self._io:
            self.board.close()
            self._online = False

    def targets(self) -> list[bool]:
        with self._cache:
            return list(self._targets)

    def physical_states(self) -> list[bool | None]:
        with self._cache:
            return list(self._physical)

    def physical_state(self, relay: int) -> bool | None:
        with self._cache:
            return self._physical[relay]

    def meters(self) -> dict[str, MeterReading]:
        with self._cache:
            return dict(self._meters)

    def switch(self, index: int, on: bool) -> None:
        """Switch this board's relay index; its target becomes on only if that worked.

        Waits at most the board's timeout for its lock ("busy", nothing changes on the
        board) and then at most the timeout for the board itself (it goes offline).
        """
        if not self._online:
            raise BoardUnavailable(self._offline_reason(), self.name, self.board.url)
        with self.hold():
            self._switch_held(index, on)

    def _switch_held(self, index: int, on: bool) -> None:
        """Switch a relay while the caller holds the I/O lock."""
        if not self._online:
            raise BoardUnavailable(self._offline_reason(), self.name, self.board.url)
        try:
            self.board.set_relay(index, on, self._deadline())
        except HardwareError as exc:
            # The command may have reached the relay: the next round puts the target back.
            self._unsure = True
            if isinstance(exc, BoardUnavailable):
                self._went_offline(exc)
            else:
                self._failure = exc
                self.errors += 1
            raise
        # Changing the target under the I/O lock keeps targets and commands in one order.
        with self._cache:
            self._targets[index] = on
            self._diverged.discard(index)
        self._remember({index: on})

    def _monitor(self) -> None:
        self._watch()
        self._ready.set()
        while not self._stop.wait(self._poll_interval):
            self._watch()

    def _deadline(self) -> float:
        """The deadline of one operation started now: each has the whole budget."""
        return time.monotonic() + self.board.timeout

    def _watch(self) -> None:
        """One monitor round: poll an online board, or reopen an offline one and re-apply."""
        if not self._io.acquire(timeout=self.board.timeout):
            return  # a command holds the board and reports its own failures
        try:
            if self._stop.is_set():
                return
            reopening = not self._online
            returning = reopening and self._ready.is_set()
            try:
                if reopening:
                    self.board.open(self._deadline())
                if reopening or self._unsure:
                    # What the relays did meanwhile, logged before we change them.
                    found = self.board.read_states(self._deadline())
                    self._remember(dict(enumerate(found)))
                    self._apply(found, returning)
                states = self.board.read_states(self._deadline())
                meters = self.board.read_meters(self._deadline())
            except HardwareError as exc:
                self._went_offline(exc)
                return
            self._record(states, meters)
            if reopening:
                if self._failure is not None:
                    log.info('board "%s" back online; re-applied configured states', self.name)
                # Last, so whoever sees the board online also sees what it reported.
                self._online = True
        finally:
            self._io.release()

    def _apply(self, found: Sequence[bool], returning: bool) -> None:
        """Write the targets (a returning board's restored states) and report what changed."""
        wanted = self.targets()
        if returning and self._restore is not None:
            wanted = [bool(on) for on in self._restore(self.outlets)]
        self.board.write_states(wanted, self._deadline())
        with self._cache:
            self._targets = list(wanted)
        self._unsure = False
        changed = {self.outlets.start + i: on for i, on in enumerate(wanted) if found[i] != on}
        if changed and self._reapplied is not None and self._ready.is_set():
            self._reapplied(self.name, changed, BACK_ONLINE if returning else UNDOING)

    def _record(self, states: Sequence[bool], meters: dict[str, MeterReading]) -> None:
        """Cache a full read and warn once about each relay that differs from its target."""
        self._remember(dict(enumerate(states)))
        with self._cache:
            self._meters = meters
            diverged = {i for i, on in enumerate(states) if on != self._targets[i]}
            newly = sorted(diverged - self._diverged)
            self._diverged = diverged
        for index in newly:
            log.warning(
                'board "%s": Outlet %d reports %s but its target is %s',
                self.name,
                self.outlets.start + index + 1,
                _on_off(states[index]),
                _on_off(not states[index]),
            )

    def _remember(self, states: Mapping[int, bool]) -> None:
        """Cache reported relay states, logging each change as DLI does (outlets from 1)."""
        with self._cache:
            changed = [i for i, on in states.items() if self._physical[i] not in (None, on)]
            for index, on in states.items():
                self._physical[index] = on
        for index in changed:
            log.info(
                "Outlet %d: Physical state set to %s by relay hardware",
                self.outlets.start + index + 1,
                _on_off(states[index]),
            )

    def _went_offline(self, exc: HardwareError) -> None:
        """Close the port and mark the board offline, logging the first failure of an outage."""
        self.board.close()
        self.errors += 1
        first = self._online or not self._ready.is_set()
        self._online = False
        self._failure = exc
        with self._cache:
            self._meters = dict(self._idle_meters)
        if first:
            log.warning("%s; board offline", exc)

    def _offline_reason(self) -> str:
        if self._stop.is_set():
            return "offline: closed"
        if self._failure is None:
            return "offline: not opened yet"
        return f"offline: {self._failure.message}"


class Held:
    """A board whose lock the caller holds (BoardHandle.hold): its switches do not wait again."""

    def __init__(self, handle: BoardHandle) -> None:
        self.handle = handle
        self.name = handle.name

    def set_outlet(self, index: int, on: bool) -> None:
        """Switch a controller-wide outlet of this board (bounds: BoardHandle.switch)."""
        self.handle._switch_held(index - self.handle.outlets.start, bool(on))
