"""The AutoPing service: items and settings kept in the store, and what an item does when it fires."""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass

import hw
from powerctl.audit import Audit
from powerctl.auth.principal import Principal
from powerctl.autoping import items as states
from powerctl.autoping.config import SETTINGS
from powerctl.autoping.items import Item, Spec, State
from powerctl.autoping.scheduler import Scheduler
from powerctl.domain import NoSuchItem, PowerctlError
from powerctl.relay import Actor, Relay
from powerctl.scripts.runner import Runner
from powerctl.store import Database
from powerctl.store import autoping as store

SEEDED = "autoping.seeded"


@dataclass(frozen=True, slots=True)
class ItemCaller(Principal):
    """An item starting its function: the runner's audit lines name it as `autoping item N`."""

    def actor(self) -> str:
        return self.name


def _watched(item: Item) -> bool:
    return item.spec.enabled and item.state.status in (*states.WATCHING, states.REBOOTING)


def outlet_list(outlets: tuple[int, ...]) -> str:
    return ",".join(map(str, outlets))


class AutoPing:
    """Items, their settings and statistics; the scheduler checks them, this acts on the results.

    One lock guards the items and their states; it is never held while a board is switched.
    """

    def __init__(self, db: Database, relay: Relay, runner: Runner, audit: Audit, section: dict):
        self._db = db
        self._relay = relay
        self._runner = runner
        self._audit = audit
        self._lock = threading.RLock()
        self._dirty: set[int] = set()
        self.settings = {
            key: db.setting_or_create(f"autoping.{key}", lambda key=key: section[key]) for key in SETTINGS
        }
        if not db.get_setting(SEEDED, False):
            rows = [(store.next_uid(db), spec, State().as_json()) for spec in section["items"]]
            with db.transaction() as conn:
                store.save_all(db, store.items(db) + rows)
                db.set_setting(SEEDED, True, conn)
        self._items: list[Item] = []
        self._by_uid: dict[int, Item] = {}
        for uid, spec, state in store.items(db):
            item = Item(uid, Spec.from_json(spec), State.from_json(state))
            item.state.restarted()
            self._items.append(item)
        self._save()
        self.scheduler = Scheduler(self, section["max_concurrent_checks"])

    def start(self) -> None:
        self.scheduler.start()

    def close(self) -> None:
        self.scheduler.close()
        self.flush()

    # reads
    def count(self) -> int:
        return len(self._items)

    def item_json(self, index: int) -> dict:
        with self._lock:
            item = self._item(index)
            status = item.state.status if self.settings["enabled"] else states.DISABLED
            return {
                **item.spec.as_json(),
                "status": status,
                "tx": item.state.tx,
                "rx": item.state.rx,
                "hits": item.state.hits,
                "reason": item.state.reason,
            }

    # changes from the API
    def set_setting(self, key: str, value, actor: str) -> None:
        with self._lock, self._audit.change(f"AutoPing: {key} set to {value} by {actor}"):
            self._db.set_setting(f"autoping.{key}", value)
            turned_on = key == "enabled" and value and not self.settings["enabled"]
            self.settings[key] = value
            if turned_on:
                for item in self._items:
                    if item.spec.enabled:
                        item.wait_again()
                self._save()
        self.scheduler.changed()

    def put(self, index: int, spec: Spec, actor: str) -> None:
        """Replace item `index`, or add one at the end when it is the item count."""
        self._put(index, spec, actor)
        self.scheduler.changed()

    def _put(self, index: int, spec: Spec, actor: str) -> None:
        with self._lock:
            if index == len(self._items):
                self._items.append(Item(store.next_uid(self._db), spec, self._fresh(spec)))
                what = "created"
            else:
                item = self._item(index)
                before, item.spec = item.spec, spec
                if not spec.enabled:
                    item.state.status, item.state.reason = states.DISABLED, ""
                    item.generation += 1
                elif not (before.enabled and spec.watches_as(before)):
                    item.wait_again()
                what = "replaced"
            with self._audit.change(f"AutoPing item {index} {what} by {actor}: {self._describe(spec)}"):
                self._save()

    def add(self, spec: Spec, actor: str) -> int:
        with self._lock:
            index = len(self._items)
            self._put(index, spec, actor)
        self.scheduler.changed()
        return index

    def delete(self, index: int, actor: str) -> None:
        with self._lock:
            self._items.remove(self._item(index))
            with self._audit.change(f"AutoPing item {index} deleted by {actor} (later items move up)"):
                self._save()
        self.scheduler.changed()

    def reset_statistics(self, actor: str) -> None:
        with self._lock:
            for item in self._items:
                item.state.tx = item.state.rx = item.state.hits = item.state.consecutive = 0
            with self._audit.change(f"AutoPing: statistics reset by {actor}"):
                self._save()

    # for the scheduler
    def watched(self) -> list[tuple[int, int]]:
        """(uid, generation) of the items to check."""
        if not self.settings["enabled"]:
            return []
        with self._lock:
            return [(item.uid, item.generation) for item in self._items if _watched(item)]

    def current(self, uid: int, generation: int) -> Item | None:
        """The item a check was for, if it is still there and unchanged."""
        item = self._by_uid.get(uid)
        if item is None or item.generation != generation or not self.settings["enabled"]:
            return None
        return item

    def plan(self, uid: int, generation: int, now: float) -> tuple[Spec, float] | None:
        """What a due round does: None, stop watching; (spec, 0), check the spec's addresses;
        (spec, t), a rebooting item waits until wall-clock time t."""
        with self._lock:
            item = self.current(uid, generation)
            if item is None or not _watched(item):
                return None
            if item.state.status == states.REBOOTING:
                if now < item.state.resume_at:
                    return item.spec, item.state.resume_at
                states.resume(item)
                self._dirty.add(uid)
            return item.spec, 0.0

    def record(self, uid: int, generation: int, answers: list[bool]) -> str | None:
        """Count a round of checks; FIRE or GIVE_UP when the scheduler must call fire or
        gave_up (in a thread: both write the store, which the loop never waits for)."""
        with self._lock:
            item = self.current(uid, generation)
            if item is None:
                return None
            outcome = states.observe(item, answers, self.settings)
            self._dirty.add(uid)
            if outcome == states.ARM:
                index = self._items.index(item)
                self._audit.record(f"AutoPing item {index} armed after {item.state.progress} answers")
            elif outcome == states.GIVE_UP:
                item.spec = dataclasses.replace(item.spec, enabled=False)
            elif outcome == states.FIRE:
                item.state.resume_at = time.time() + self.settings["post_reboot_delay"]
            return outcome

    def gave_up(self, uid: int) -> None:
        """Store that an item disabled itself at a limit, with its audit line."""
        with self._lock:
            item = self._by_uid.get(uid)
            if item is None:
                return
            line = f"AutoPing item {self._items.index(item)} disabled itself: {item.state.reason}"
            with self._audit.change(line):
                self._store(item)

    def fire(self, uid: int) -> None:
        """Cycle the item's outlets through the relay (or start its function); blocking."""
        with self._lock:
            item = self._by_uid.get(uid)
            if item is None:
                return
            index, spec = self._items.index(item), item.spec
        who = f"autoping item {index}"
        failures = self._settings_failures()
        unanswered = " and ".join(address.text for address in spec.addresses)
        why = f"{unanswered} did not answer {failures} checks in a row"
        delay = 0.0
        missing = [index for index in spec.outlets if index >= self._relay.count]
        with self._lock:
            self._store(item)  # rebooting, before the cycle: a crash now cannot cycle it twice
        try:
            if missing:  # the boards changed since the item was written
                raise PowerctlError(
                    f"there is no outlet {missing[0]} (outlets are 0-{self._relay.count - 1})"
                )
            if spec.script:
                args = list(spec.outlets) if self._runner.functions[spec.script].args else []
                call = f"{spec.script}({outlet_list(tuple(args))})" if args else spec.script
                self._audit.record(f"AutoPing item {index}: {why}: starting {call}")
                self._runner.start(spec.script, args, ItemCaller("autoping", who, None, "autoping"))
            else:
                self._audit.record(
                    f"AutoPing item {index}: {why}: cycling outlets {outlet_list(spec.outlets)}"
                )
                actor = Actor(who, who, "autoping")  # the outlet's switch history: via autoping
                delay = max(self._relay.cycle_many(list(spec.outlets), actor))
        except (PowerctlError, hw.HardwareError, KeyError) as err:
            self._audit.record(f"AutoPing item {index}: could not reboot: {err}")
            with self._lock:
                item.state.consecutive += 1
                self._dirty.add(uid)
            return
        with self._lock:
            item.state.hits += 1
            item.state.consecutive += 1
            item.state.resume_at = time.time() + delay + self.settings["post_reboot_delay"]
            self._store(item)

    @property
    def dirty(self) -> bool:
        return bool(self._dirty)

    def flush(self) -> None:
        """Store the states changed by checks since the last flush."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            rows = [(item.uid, item.state.as_json()) for item in self._items if item.uid in dirty]
        if rows:
            store.save_states(self._db, rows)

    def _item(self, index: int) -> Item:
        if not 0 <= index < len(self._items):
            raise NoSuchItem(f"there is no AutoPing item {index} (there are {len(self._items)})")
        return self._items[index]

    def _settings_failures(self) -> int:
        return self.settings["failures_before_reboot"]

    def _fresh(self, spec: Spec) -> State:
        return State() if spec.enabled else State(status=states.DISABLED)

    def _store(self, item: Item) -> None:
        if item.uid in self._by_uid:
            store.save_item(self._db, item.uid, item.spec.as_json(), item.state.as_json())

    def _save(self) -> None:
        with self._lock:
            self._dirty.clear()
            self._by_uid = {item.uid: item for item in self._items}
            store.save_all(self._db, [(i.uid, i.spec.as_json(), i.state.as_json()) for i in self._items])

    @staticmethod
    def _describe(spec: Spec) -> str:
        action = f"function {spec.script}" if spec.script else f"cycles outlets {outlet_list(spec.outlets)}"
        watched = ", ".join(address.text for address in spec.addresses)
        return f"watches {watched}, {action}" + ("" if spec.enabled else " (disabled)")
