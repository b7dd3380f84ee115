"""Audit trail: every line goes to Python logging and to bounded tables in the store."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, current_app

from powerctl.httpd.accesslog import log_lines
from powerctl.store import Database

log = logging.getLogger("powerctl.audit")

OTHERS = "other addresses"  # where denials are counted once `addresses` addresses are counted


@dataclass(slots=True)
class _Repeats:
    """Denials from one address since its last line stored in full."""

    since: float
    count: int = 0
    last: str = ""
    last_at: float = 0.0


class Audit:
    """Audit lines, handed to one background thread that logs them and stores them in batches.

    A request only enqueues its access line, so logging and SQLite cost it nothing; each log
    record still carries the time the line was recorded. The line of a change is stored in the
    change's own transaction instead (`change`), and repeated denials from one address are
    coalesced (`denied`), so neither a crash nor a flood can take away the record of a change.
    """

    def __init__(self, db: Database, interval: float = 0.1, coalesce: float = 10.0, addresses: int = 32):
        self._db = db
        # (time, line, stored already, subject, fields): see record()
        self._queue: queue.SimpleQueue[tuple[float, str, bool, str | None, str | None]] = queue.SimpleQueue()
        self._interval = interval
        self.coalesce = coalesce
        self._addresses = addresses
        self._repeats: dict[str, _Repeats] = {}
        self._repeats_lock = threading.Lock()
        self._flushing = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def record(self, line: str, subject: str | None = None, **fields: object) -> None:
        """Queue a line: logged and stored within `interval` (lost if the process dies first).

        A line about one thing (`relay/outlets/3`) may name it as its `subject` with `fields`
        that say the same as the line for programs (an outlet's switch history reads them).
        """
        data = json.dumps(fields, separators=(",", ":")) if subject is not None else None
        self._queue.put((time.time(), line, False, subject, data))

    def denied(self, addr: str, line: str) -> None:
        """Queue the line of a request from `addr` that was refused, coalescing repeats.

        The first denial from an address is stored in full; the next ones within `coalesce`
        seconds are counted, and stored as one line with their count and the last of them when
        that time is up. Beyond `addresses` addresses in that time, the others are counted
        together. So however many requests a flood sends, it adds a bounded number of lines.
        """
        now = time.time()
        with self._repeats_lock:
            repeats = self._repeats.get(addr)
            if repeats is None and len(self._repeats) >= self._addresses:
                addr, repeats = OTHERS, self._repeats.get(OTHERS)
            if repeats is not None and now - repeats.since < self.coalesce:
                repeats.count += 1
                repeats.last, repeats.last_at = line, now
                return
            if repeats is not None:
                self._summarise(addr, repeats)
            self._repeats[addr] = _Repeats(now)
        self._queue.put((now, line, False, None, None))

    @contextmanager
    def change(self, *lines: str) -> Iterator[list[str]]:
        """Make a change and store its audit lines in one transaction: both or neither.

        The store writes of the body join the transaction (Database.transaction nests); the
        lines given, and any the body appends to the list it is handed, are stored just before
        it commits, so an acknowledged change has its line even after a crash. They reach the
        log after the commit, through the writer thread like every other line.
        """
        pending = list(lines)
        with self._db.transaction():
            yield pending
            at = time.time()
            rows = [(at, line) for line in _storable_lines(pending)]
            self._db.append_audit(rows)
        for at, line in rows:
            self._queue.put((at, line, True, None, None))

    def changed(self, line: str) -> None:
        """Store the line of a change made outside the store (hardware) now, before the answer."""
        with self.change(line):
            pass

    def flush(self) -> None:
        """Log and store every pending line now (also used by tests and at shutdown).

        One flush at a time: a caller that reads the trail next (an outlet's switch history)
        must not find the queue emptied by the writer thread before its batch is stored.
        """
        with self._flushing:
            self._close_repeats(time.time())
            batch = []
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not batch:
                return
            lines = _storable_lines([entry[1] for entry in batch])
            if log.isEnabledFor(logging.INFO):
                _log_lines(batch, lines)
            # the lines of changes were stored in their transaction (change()); the rest now
            unstored = [
                (at, line, subject, fields)
                for (at, _, stored, subject, fields), line in zip(batch, lines, strict=True)
                if not stored
            ]
            if unstored:
                self._db.append_audit(unstored)

    def tail(self, limit: int = 100) -> list[str]:
        self.flush()
        return [line for _, line in self._db.audit_tail(limit)]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._close_repeats(time.time(), every=True)
        self.flush()
        self._db.close()

    def _summarise(self, addr: str, repeats: _Repeats) -> None:
        if repeats.count:
            times = "time" if repeats.count == 1 else "times"
            span = repeats.last_at - repeats.since
            line = f"access denied for {addr}: {repeats.count} more {times} in {span:.0f} s"
            line += f" (the last: {repeats.last})"
            self._queue.put((repeats.last_at, line, False, None, None))

    def _close_repeats(self, now: float, every: bool = False) -> None:
        with self._repeats_lock:
            done = [a for a, r in self._repeats.items() if every or now - r.since >= self.coalesce]
            for addr in done:
                self._summarise(addr, self._repeats.pop(addr))

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:
                log.exception("could not write audit lines to the store (they were logged)")


def _storable(line: str) -> str:
    """The line with what UTF-8 cannot hold (a lone surrogate) escaped."""
    # Lines quote client text (names, paths): one that is not encodable must not cost its batch.
    return line.encode("utf-8", "backslashreplace").decode("utf-8")


def _storable_lines(lines: list[str]) -> list[str]:
    """_storable() of each line; nearly every batch encodes whole, which is checked at once."""
    try:
        "".join(lines).encode("utf-8")
    except UnicodeEncodeError:
        return [_storable(line) for line in lines]
    return lines


def _log_lines(batch: list[tuple], lines: list[str]) -> None:
    """Hand each line to logging as its own record, stamped with the time it was recorded."""
    shared = log.makeRecord(log.name, logging.INFO, __file__, 0, "", (), None)
    # `powerctl serve`'s stream handler writes the batch at once, without a record a line
    log_lines(log, shared, [(entry[0], line) for entry, line in zip(batch, lines, strict=True)])


def counted(n: int, word: str) -> str:
    """`1 scope`, `2 scopes`: counts in audit lines and messages read as English."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def audit() -> Audit:
    return current_app._get_current_object().extensions["powerctl.audit"]  # no proxied attribute


def init_app(app: Flask, db: Database) -> Audit:
    trail = Audit(db)
    app.extensions["powerctl.audit"] = trail
    return trail
