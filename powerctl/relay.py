"""Outlet state: configured (persistent), transient (where an outlet is headed) and physical."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import hw
from powerctl.audit import Audit
from powerctl.errors import Conflict
from powerctl.store import Database, OutletRecord

log = logging.getLogger("powerctl.relay")


# DLI's relay/recovery_mode: what the outlets do when the gateway starts (after a power loss).
# 2, the default, restores each outlet's configured state.
RECOVERY_STATES = {0: False, 1: True}
RECOVERY_MODES = (0, 1, 2)
_RECORD_FIELDS = ("name", "state", "locked", "critical", "cycle_delay")


def on_off(state: bool) -> str:
    return "On" if state else "Off"


class Relay:
    """Switches outlets through the hardware controller; cycles and sequences run on timers."""

    def __init__(self, db: Database, controller: hw.Controller, audit: Audit, defaults: dict):
        self._db = db
        self._hw = controller
        self._audit = audit
        self._lock = threading.RLock()
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
                    f" (recovery_mode {mode})"
                )
        self._hw.start([record.state for record in self._outlets])

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
                raise Conflict(
                    f"outlet {index} ({record.name}) is locked; unlock it first "
                    f"with PUT /restapi/relay/outlets/{index}/locked/ value=false"
                )
            board = self._hw.board_of(index)
            if board.status != "online":
                raise hw.BoardUnavailable(
                    f'board "{board.name}" for outlet {index} is offline: {board.last_error}'
                )

    @contextmanager
    def checked(self, indexes: list[int]) -> Iterator[None]:
        """Check outlets, then hold the relay so that nothing locks them until the block ends."""
        with self._lock:
            self.check_switch(indexes)
            yield

    def set_state(self, indexes: list[int], on: bool, actor: str, persist: bool = True) -> None:
        """Switch outlets; with `persist` this is the configured state, kept across restarts."""
        with self.checked(indexes):
            self._switch(indexes, on, actor)
            what = "Configured" if persist else "Transient"
            if persist:
                self._update(indexes, state=on)
            for index in indexes:
                self._audit.record(f"Outlet {index + 1}: {what} state set to {on_off(on)} by {actor}")

    def cycle(self, index: int, actor: str, delay: float | None = None) -> float:
        """Switch off now and back on after `delay` (default: the outlet's cycle delay); returns it."""
        with self.checked([index]):
            if delay is None:
                delay = self._outlets[index].cycle_delay
            if delay is None:
                delay = float(self.setting("cycle_delay"))
            self._cancel([index])
            self._hw.set_outlet(index, False)
            self._schedule(index, True, delay, actor)
            self._audit.record(f"Outlet {index + 1}: Cycle() by {actor}")
            return delay

    def cycle_many(self, indexes: list[int], actor: str) -> list[float]:
        """Cycle several outlets, or none of them when one is locked or its board is down."""
        with self.checked(indexes):
            return [self.cycle(index, actor) for index in indexes]

    def set_field(self, indexes: list[int], field: str, value, actor: str) -> None:
        """Change name, locked, critical or cycle_delay; persisted at once."""
        with self._lock:
            self._update(indexes, **{field: value})
            for index in indexes:
                self._audit.record(f"Outlet {index + 1}: {field} set to {value!r} by {actor}")

    def _update(self, indexes: list[int], **changes) -> None:
        updated = [dataclasses.replace(self._outlets[i], **changes) for i in indexes]
        self._db.save_outlets(updated)
        for record in updated:
            self._outlets[record.index] = record

    def _switch(self, indexes: list[int], on: bool, actor: str) -> None:
        """Switch now, or in sequence when several go on; undo the immediate part on failure."""
        self._cancel(indexes)
        delay = float(self.setting("sequence_delay")) if on else 0.0
        now = [indexes[0]] if delay > 0 else list(indexes)
        before = self._hw.targets()
        done: list[int] = []
        try:
            for index in now:
                self._hw.set_outlet(index, on)
                done.append(index)
        except hw.HardwareError:
            for index in done:
                try:
                    self._hw.set_outlet(index, before[index])
                except hw.HardwareError:
                    log.warning("could not restore outlet %d after a failed switch", index)
            raise
        for step, index in enumerate(indexes[len(now) :], start=1):
            self._schedule(index, on, step * delay, actor)

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
        with self._lock:
            pending = self._pending.get(index)
            if pending is None or pending[1] is not threading.current_thread():
                return
            del self._pending[index]
            try:
                self._hw.set_outlet(index, on)
            except hw.HardwareError as err:
                self._audit.record(f"Outlet {index + 1}: switching {on_off(on)} for {actor} failed: {err}")
