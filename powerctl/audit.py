"""Audit trail: every line goes to Python logging and to a bounded table in the store."""

from __future__ import annotations

import logging
import queue
import threading
import time

from flask import Flask, current_app

from powerctl.store import Database

log = logging.getLogger("powerctl.audit")


class Audit:
    """Audit lines, handed to one background thread that logs them and stores them in batches.

    A request only enqueues its line, so logging and SQLite cost it nothing; each log record
    still carries the time the line was recorded.
    """

    def __init__(self, db: Database, interval: float = 0.1):
        self._db = db
        self._queue: queue.SimpleQueue[tuple[float, str]] = queue.SimpleQueue()
        self._interval = interval
        self._stop = threading.Event()
        self._flushed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def record(self, line: str) -> None:
        self._queue.put((time.time(), line))

    def flush(self) -> None:
        """Log and store every pending line now (also used by tests and at shutdown)."""
        batch = []
        while True:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if not batch:
            return
        # Lines quote client text (names, paths): one that is not encodable (a lone surrogate)
        # must not cost the batch, so escape what UTF-8 cannot hold.
        batch = [(at, line.encode("utf-8", "backslashreplace").decode("utf-8")) for at, line in batch]
        if log.isEnabledFor(logging.INFO):
            _log_lines(batch)
        self._db.append_audit(batch)

    def tail(self, limit: int = 100) -> list[str]:
        self.flush()
        return [line for _, line in self._db.audit_tail(limit)]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()
        self._db.close()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:
                log.exception("could not write audit lines to the store (they were logged)")


def _log_lines(batch: list[tuple[float, str]]) -> None:
    """Hand each line to logging as its own record, stamped with the time it was recorded.

    LogRecord() looks up the thread, process and caller for every record, which costs more
    than the rest of logging a line; the lines of a batch share all of that, so each record
    is a copy of one made for the batch with its own message and time.
    """
    shared = log.makeRecord(log.name, logging.INFO, __file__, 0, "", (), None).__dict__
    for at, line in batch:
        entry = logging.LogRecord.__new__(logging.LogRecord)
        entry.__dict__.update(shared)
        entry.msg = line
        entry.created, entry.msecs = at, (at % 1) * 1000
        entry.relativeCreated = shared["relativeCreated"] + (at - shared["created"]) * 1000
        log.handle(entry)


def counted(n: int, word: str) -> str:
    """`1 scope`, `2 scopes`: counts in audit lines and messages read as English."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def audit() -> Audit:
    return current_app.extensions["powerctl.audit"]


def init_app(app: Flask, db: Database) -> Audit:
    trail = Audit(db)
    app.extensions["powerctl.audit"] = trail
    return trail
