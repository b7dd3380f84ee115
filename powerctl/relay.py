"""Outlet state: configured (persistent), transient (where an outlet is headed) and physical."""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import hw
from powerctl.audit import Audit
from powerctl.domain import BoardOffline, OutletLocked
from powerctl.store import Database, OutletRecord

if TYPE_CHECKING:
    from powerctl.auth import Principal

log = logging.getLogger("powerctl.relay")


# DLI's relay/recovery_mode: what the outlets do when the gateway starts (after a power loss).
# 2, the default, restores each outlet's configured state.
RECOVERY_STATES = {0: False, 1: True}
RECOVERY_MODES = (0, 1, 2)
_RECORD_FIELDS = ("name", "state", "locked", "critical", "cycle_delay")


def on_off(state: bool) -> str:
    return "On" if state else "Off"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who switches outlets: `text` as audit lines word it, `by` and `via` (the surface: restapi,
    redfish, mqtt, pdudaemon, script) as an outlet's switch history shows them."""

    text: str
    by: str
    via: str

    @classmethod
    def of(cls, principal: Principal, via: str, text: str | None = None) -> Actor:
        return cls(principal.actor() if text is None else text, principal.client or principal.name, via)

    def __str__(self) -> str:
        return self.text


def subject(index: int) -> str:
    """The audit subject of an outlet's switch lines (store.history.switches reads them)."""
    return f"relay/outlets/{index}"


def _switched(actor: str | Actor) -> dict:
    if isinstance(actor, Actor):
        return {"by": actor.by, "via": actor.via}
    return {"by": str(actor), "via": "unknown"}


class Relay:
    """Switches outlets through the hardware controller; cycles and sequences run on timers.

    The relay's own lock guards its bookkeeping (records, pending timers, which outlets are
    being switched) and is never held while a board is talked to or waited for. Switching
    goes through hw.Controller.on_boards: each board's part holds that board's lock only,
    so one slow board delays only requests for its own outlets, and a request waits at
    most its boards' timeout for them, then fails "busy" with nothing changed. Lock order:
    a board's, then the relay's.
    """

    def __init__(self, db: Database, controller: hw.Controller, audit: Audit, defaults: dict):
        self._db = db
        self._hw = controller
        self._audit = audit
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified when outlets stop being switched
        self._switching: Counter[int] = Counter()  # outlets inside checked(), with nesting
        self._pending: dict[int, tuple[bool, threading.Timer]] = {}
        stored = {record.index: record for record in db.outlets()}
        self._outlets = [
            stored.get(i) or OutletRecord(i, f"Outlet {i + 1}", defaults["initial_state"], False, False, None)
            for i in range(controller.outlet_count)
        ]
        db.save_outlets(self._outlets)
        for key in ("name", "cycle_delay", "sequence_delay", "recovery_mode"):
            db.setting_or_create(f"relay.{key}", lambda key=key: defaults[key])

    @property
    def count(self) -> int:
        return len(self._outlets)

    def start(self) -> None:
        """Power the boards up as `recovery_mode` says: all off (0), all on (1), or as configured (2)."""
        mode = self.setting("recovery_mode")
        if mode in RECOVERY_STATES:
            on = RECOVERY_STATES[mode]
            changed = [record.index for record in self._outlets if record.state != on]
            self._update(changed, state=on)
            for index in changed:
                self._audit.record(
                    f"Outlet {index + 1}: Configured state set to {on_off(on)} at start"
                    f" (recovery_mode {mode})",
                    subject(index),
                    state=on,
                    by=f"recovery_mode {mode}",
                    via="start",
                )
        self._hw.start(
            [record.state for record in self._outlets], restore=self._configured, reapplied=self._reapplied
        )

    @property
    def online(self) -> bool:
        """Whether every board answers."""
        return all(handle.status == "online" for handle in self._hw.boards)

    def board_online(self, index: int) -> bool:
        """Whether the board of outlet `index` answers (its physical state is then current)."""
        return self._hw.board_of(index).status == "online"

    def close(self) -> None:
        with self._lock:
            for _, timer in self._pending.values():
                timer.cancel()
            self._pending.clear()
        self._hw.close()

    # relay-wide settings
    def setting(self, key: str):
        return self._db.get_setting(f"relay.{key}")

    def set_setting(self, key: str, value, actor: str) -> None:
        self._db.set_setting(f"relay.{key}", value)
        self._audit.record(f"Relay: {key} set to {value} by {actor}")

    # per-outlet reads
    def outlet(self, index: int) -> OutletRecord:
        return self._outlets[index]

    def attrs(self, prefix: tuple[str, ...], name: str) -> object:
        """An outlet's field, for scopes' label filters (`/relay/outlets/all;name=lab/`)."""
        if len(prefix) == 3 and prefix[:2] == ("relay", "outlets") and name in _RECORD_FIELDS:
            return getattr(self._outlets[int(prefix[2])], name)
        raise KeyError(name)

    def transient(self, index: int) -> bool:
        pending = self._pending.get(index)
        return pending[0] if pending else self._hw.targets()[index]

    def physical(self, index: int) -> bool | None:
        return self._hw.physical_state(index)

    def physicals(self, indexes: list[int]) -> list[bool | None]:
        states = self._hw.physical_states()
        return [states[index] for index in indexes]

    # writes
    def check_switch(self, indexes: Iterable[int]) -> None:
        """Refuse before anything changes: a locked outlet or an offline board."""
        for index in indexes:
            record = self._outlets[index]
            if record.locked:
                raise OutletLocked(index, record.name)
            board = self._hw.board_of(index)
            if board.status != "online":
                raise BoardOffline(board.name, index, board.last_error)

    @contextmanager
    def checked(self, indexes: list[int]) -> Iterator[None]:
        """Check outlets, then keep them from being locked until the block ends."""
        indexes = list(indexes)
        with self._lock:
            self.check_switch(indexes)
            self._switching.update(indexes)
        try:
            yield
        finally:
            with self._lock:
                self._switching.subtract(indexes)
                for index in indexes:
                    if self._switching[index] <= 0:
                        del self._switching[index]
                self._idle.notify_all()

    def set_state(self, indexes: list[int], on: bool, actor: str | Actor, persist: bool = True) -> None:
        """Switch outlets; with `persist` this is the configured state, kept across restarts."""
        with self.checked(indexes):
            self._switch(indexes, on, actor)
            what = "Configured" if persist else "Transient"
            if persist:
                with self._lock:
                    self._update(indexes, state=on)
            for index in indexes:
                self._audit.record(
                    f"Outlet {index + 1}: {what} state set to {on_off(on)} by {actor}",
                    subject(index),
                    state=on,
                    **_switched(actor),
                )

    def cycle(self, index: int, actor: str | Actor, delay: float | None = None) -> float:
        """Switch off now and back on after `delay` (default: the outlet's cycle delay); returns it."""
        return self.cycle_many([index], actor, delay)[0]

    def cycle_many(self, indexes: list[int], actor: str | Actor, delay: float | None = None) -> list[float]:
        """Cycle several outlets, or none of them when one is locked or its board is down."""
        with self.checked(indexes):
            delays = {index: self._cycle_delay(index) if delay is None else delay for index in indexes}

            def cycle(board: hw.Held, outlets: list[int]) -> None:
                for index in outlets:
                    board.set_outlet(index, False)
                    with self._lock:
                        self._cancel([index])
                        self._schedule(index, True, delays[index], actor)
                    self._audit.record(
                        f"Outlet {index + 1}: Cycle() by {actor}",
                        subject(index),
                        state="cycle",
                        **_switched(actor),
                    )

            self._hw.on_boards(indexes, cycle)
            return [delays[index] for index in indexes]

    def _cycle_delay(self, index: int) -> float:
        delay = self._outlets[index].cycle_delay
        return float(self.setting("cycle_delay")) if delay is None else delay

    def set_field(self, indexes: list[int], field: str, value, actor: str) -> None:
        """Change name, locked, critical or cycle_delay; persisted at once.

        Locking waits (at most the boards' timeout) for switches already under way on
        those outlets, so a check that passed is never overtaken by a lock.
        """
        with self._lock:
            if field == "locked" and value:
                self._wait_until_idle(indexes)
            self._update(indexes, **{field: value})
            for index in indexes:
                self._audit.record(f"Outlet {index + 1}: {field} set to {value!r} by {actor}")

    def _wait_until_idle(self, indexes: list[int]) -> None:
        """Wait, holding the relay lock between looks, until no request is switching indexes."""
        wait = max(self._hw.board_of(index).board.timeout for index in indexes)
        if not self._idle.wait_for(lambda: not any(self._switching[i] for i in indexes), timeout=wait):
            busy = next(i for i in indexes if self._switching[i])
            board = self._hw.board_of(busy)
            message = f"busy: outlet {busy} was still being switched after {wait:g} s"
            raise hw.BoardUnavailable(message, board.name, board.board.url)

    def _update(self, indexes: list[int], **changes) -> None:
        updated = [dataclasses.replace(self._outlets[i], **changes) for i in indexes]
        self._db.save_outlets(updated)
        for record in updated:
            self._outlets[record.index] = record

    def _switch(self, indexes: list[int], on: bool, actor: str) -> None:
        """Switch now, or in sequence when several go on; undo the immediate part on failure.

        An outlet's pending cycle or sequence step is cancelled only once it has been switched.
        """
        delay = float(self.setting("sequence_delay")) if on else 0.0
        now = [indexes[0]] if delay > 0 else list(indexes)
        before = self._hw.targets()
        done: list[int] = []

        def switch(board: hw.Held, outlets: list[int]) -> None:
            for index in outlets:
                board.set_outlet(index, on)
                with self._lock:
                    done.append(index)
                    self._cancel([index])

        try:
            self._hw.on_boards(now, switch)
        except hw.HardwareError:
            self._undo(done, before)
            raise
        with self._lock:
            for step, index in enumerate(indexes[len(now) :], start=1):
                self._cancel([index])
                self._schedule(index, on, step * delay, actor)

    def _undo(self, done: list[int], before: list[bool]) -> None:
        def restore(board: hw.Held, outlets: list[int]) -> None:
            for index in outlets:
                board.set_outlet(index, before[index])

        try:
            self._hw.on_boards(done, restore)
        except hw.HardwareError:
            log.warning("could not restore outlets %s after a failed switch", done)

    def _cancel(self, indexes: Iterable[int]) -> None:
        for index in indexes:
            pending = self._pending.pop(index, None)
            if pending:
                pending[1].cancel()

    def _schedule(self, index: int, on: bool, delay: float, actor: str) -> None:
        timer = threading.Timer(delay, self._fire, args=(index, on, actor))
        timer.daemon = True
        self._pending[index] = (on, timer)
        timer.start()

    def _fire(self, index: int, on: bool, actor: str) -> None:
        me = threading.current_thread()

        def switch(board: hw.Held, _outlets: list[int]) -> None:
            with self._lock:
                pending = self._pending.get(index)
                if pending is None or pending[1] is not me:
                    return
                del self._pending[index]
            board.set_outlet(index, on)

        try:
            # A step due now waits for its board as long as it takes: every holder is bounded.
            self._hw.on_boards([index], switch, wait=math.inf)
        except hw.HardwareError as err:
            self._audit.record(f"Outlet {index + 1}: switching {on_off(on)} for {actor} failed: {err}")

    # what a board did on its own
    def _configured(self, outlets: range) -> list[bool]:
        """What a returning board gets; lock-free, as records are replaced whole."""
        return [self._outlets[index].state for index in outlets]

    def _reapplied(self, board: str, changed: dict[int, bool], why: str) -> None:
        for index, on in changed.items():
            cause = f'relay hardware (board "{board}" {why})'
            self._audit.record(
                f"Outlet {index + 1}: Physical state set to {on_off(on)} by {cause}",
                subject(index),
                state=on,
                by=f"board {board}",
                via="hardware",
            )
