"""Meter history: a background sampler into the store, downsampled and bounded, and its reads."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable

import hw
from powerctl.store import Database
from powerctl.store import history as store
from powerctl.store.history import DAY, RAW, TIERS, WEEK

SKEW = 600  # s a range's start may be older than a tier's span and still be served from it

log = logging.getLogger("powerctl.history")

Clock = Callable[[], float]
DEFAULT_INTERVAL = 10  # seconds between samples unless [history] interval says otherwise


class History:
    """Samples every meter each `interval` seconds into the store on one thread, and after each
    sample rolls up and expires rows in small transactions (at most `budget` seconds of them).

    With interval 0 nothing is sampled; what the store holds is still served.
    """

    def __init__(
        self,
        db: Database,
        read: Callable[[], dict[str, hw.MeterReading]],
        interval: int,
        clock: Clock = time.time,
        budget: float = 0.5,
    ):
        self._db = db
        self._read = read
        self.interval = interval
        self._clock = clock
        self._budget = budget
        self.buckets = 60  # means one rollup transaction computes, at most
        self.span = 3600  # seconds of expired rows one transaction deletes, at most
        self._ids: dict[str, int] = {}
        self._missing: set[str] = set()  # meters without a value: logged once, when they went
        self._failing = False  # the store refused the last sample: logged once
        self._maintained: int | None = None  # the minute maintain() last completed in
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="meter-history", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        began = time.monotonic()
        while not self._stop.wait(self.interval - (time.monotonic() - began) % self.interval):
            try:
                self.tick()
            except (sqlite3.Error, hw.HardwareError) as err:
                if not self._failing:
                    log.warning("meter history not recorded: %s; retrying at each sample", err)
                self._failing = True
            else:
                if self._failing:
                    log.info("meter history recorded again")
                self._failing = False
        self._db.close()

    def tick(self) -> None:
        """One sample, then the rollups and deletions due: only when a minute has ended since
        they last ran to completion, as before that none can be due."""
        self.sample()
        minute = int(self._clock()) // 60
        if minute != self._maintained and self.maintain():
            self._maintained = minute

    def sample(self) -> int:
        """Store one sample of every meter that has a value now; the number stored."""
        readings = self._read()
        t = int(self._clock())  # never after the `to` (now) of a read made just after
        values = {}
        for name, reading in readings.items():
            if reading.value is None:
                if name not in self._missing:
                    log.warning("meter %s has no value: its history has a gap until it returns", name)
                    self._missing.add(name)
                continue
            if name in self._missing:
                log.info("meter %s has a value again: its history resumes", name)
                self._missing.discard(name)
            values[name] = reading.value
        if not values:
            return 0
        unknown = [name for name in values if name not in self._ids]
        if unknown:
            self._ids.update(store.meter_ids(self._db, unknown))
        store.add_samples(self._db, t, {self._ids[name]: value for name, value in values.items()})
        return len(values)

    def maintain(self, budget: float | None = None) -> bool:
        """Roll up complete buckets and delete expired rows, one small transaction at a time,
        until done (True) or `budget` seconds have passed (False: the rest waits for the next
        sample, so a backlog never holds the store for long)."""
        deadline = time.monotonic() + (self._budget if budget is None else budget)
        now = int(self._clock())
        for tier in TIERS:
            while tier.source is not None and store.roll_up(self._db, tier, now, self.buckets):
                if time.monotonic() > deadline:
                    return False
        while store.expire(self._db, now, self.span):
            if time.monotonic() > deadline:
                return False
        return True

    def step_for(self, start: float, now: float) -> int:
        """The finest tier that reaches back to `start`: samples for a day, then 1-minute means
        for a week, then 15-minute means. A range "the last day" or "the last week" is reckoned
        on the caller's clock, a little before this one's (or further, by its skew): within
        SKEW of the limit it still gets the finer tier, which holds the latest minutes (the
        coarser one has them only once rolled up), at the cost of its oldest few."""
        if start >= now - DAY - SKEW:
            return RAW
        if start >= now - WEEK - SKEW:
            return 60
        return 900

    def now(self) -> float:
        return self._clock()

    def query(self, name: str, start: int, end: int) -> tuple[int, list[tuple[int, float]]]:
        """(seconds per point, [(t, value), ...]) of one meter from start to end, oldest first,
        from the finest tier that reaches back to start."""
        step = self.step_for(start, self._clock())
        return (step or self.interval or DEFAULT_INTERVAL), store.points(self._db, name, step, start, end)
