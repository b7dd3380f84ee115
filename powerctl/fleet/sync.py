"""One sync (ask, validate, replace) and the worker's background thread that runs them."""

from __future__ import annotations

import datetime
import logging
import sqlite3
import threading
from collections.abc import Callable

from powerctl.fleet import certs, contract, rotation, rpc
from powerctl.fleet.bundle import Bundle, parse_answer
from powerctl.fleet.errors import BundleRefused, SyncError
from powerctl.store import Database
from powerctl.store import fleet as store

log = logging.getLogger("powerctl.fleet")
RETRY_SECONDS = 60.0  # after a failed sync, try again this soon (or at the poll interval)


class FleetSync:
    """Syncs the credentials of one data directory from the fleet server in `[fleet]`."""

    def __init__(self, db: Database, fleet: dict, data_dir: str, record: Callable[[str], None]):
        self._db = db
        self._fleet = fleet
        self._data_dir = data_dir
        self._record = record  # an audit line
        self._lock = threading.Lock()  # one sync at a time in this process
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sync(self, reason: str) -> int | None:
        """Ask, validate and apply; return the version now held. SyncError when it failed."""
        with self._lock:
            held = store.held_version(self._db)
            body = contract.sync_call(held)
            try:
                bundle = parse_answer(rpc.call(self._fleet, body), body["id"])
                self.apply(bundle)
            except SyncError as err:
                store.record_attempt(self._db, str(err))
                self._record(f"Fleet sync ({reason}) failed, keeping version {held}: {err}")
                raise
            store.record_attempt(self._db, None)
            self._record(
                f"Fleet sync ({reason}): version {bundle.version} applied,"
                f" {len(bundle.clients)} clients, {len(bundle.peers)} peers,"
                f" {len(bundle.current)} certificates"
            )
            return bundle.version

    def apply(self, bundle: Bundle) -> None:
        """Replace the synced credentials with a validated bundle, whole or not at all."""
        entries = bundle.current or None  # an empty list keeps the certificates held
        try:
            with certs.staged(self._data_dir, entries[0] if entries else None) as write:
                store.replace(
                    self._db, bundle.version, bundle.clients, bundle.peers, entries, before_commit=write
                )
        except store.StaleBundle as err:
            raise BundleRefused(str(err)) from None
        except OSError as err:  # writing the new certificate files
            raise BundleRefused(f"cannot install the certificate: {err.strerror}") from None

    def reconcile(self) -> None:
        """Serve the certificate the store holds as current[0], if the files differ from it."""
        with self._lock:
            try:
                held = store.certificates(self._db)
                if held:
                    certs.install(self._data_dir, held[0])
            except (sqlite3.Error, OSError) as err:
                log.error("fleet certificate could not be put in place: %s", err)

    def try_sync(self, reason: str) -> bool:
        try:
            self.sync(reason)
        except SyncError:
            return False
        except (sqlite3.Error, OSError) as err:  # the store itself failed: retry later
            log.error("fleet sync (%s) could not use the store: %s", reason, err)
            return False
        return True

    # the background thread of the one worker
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fleet-sync", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """Sync soon, in the background (the notify request is answered at once)."""
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self._fleet["timeout"] + 5)

    def rotate(self, now: datetime.datetime | None = None) -> None:
        """Serve the next held certificate once current[0] has expired (no sync needed)."""
        moment = now or datetime.datetime.now(datetime.UTC)
        with self._lock:
            try:
                position = rotation.rotate(self._db, self._data_dir, moment)
            except (sqlite3.Error, OSError, ValueError) as err:
                log.error("fleet certificate rotation failed, keeping the current one: %s", err)
                return
        if position is not None:
            self._record(f"Fleet certificate rotated: current[{position}] now served, current[0] expired")

    def _delay(self, ok: bool) -> float | None:
        interval = float(self._fleet["poll_interval"]) or None  # 0: no polling
        delay = interval if ok else min(interval or RETRY_SECONDS, RETRY_SECONDS)
        now = datetime.datetime.now(datetime.UTC)
        try:
            due = rotation.next_due(self._db, now)
        except (sqlite3.Error, ValueError):
            due = None
        if due is not None:  # wake when current[0] expires, to rotate
            left = (due - now).total_seconds() + 1
            delay = max(1.0, min(delay or left, left))
        return delay

    def _run(self) -> None:
        reason = "first start" if store.held_version(self._db) is None else "start"
        while not self._stop.is_set():
            self.reconcile()
            self.rotate()
            ok = self.try_sync(reason)
            # a notify that arrives during a sync leaves the event set: it is never lost
            woken = self._wake.wait(self._delay(ok))
            self._wake.clear()
            reason = "notify" if woken else "poll"
