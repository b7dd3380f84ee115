"""Meter history in a real SQLite file: rollups, retention, restarts and a kill mid-rollup."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from powerctl.history import History
from powerctl.store import Database
from powerctl.store import history as store
from powerctl.store.history import DAY, WEEK, YEAR

T0 = 1_700_000_000 // 900 * 900  # a 15-minute boundary


class Clock:
    """The time History sees, set by the test."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _history(db: Database, clock: Clock) -> History:
    return History(db, read=dict, interval=10, clock=clock)


def _samples(db: Database, meter: str, rows: list[tuple[int, float]]) -> None:
    meter_id = store.meter_ids(db, [meter])[meter]
    for t, value in rows:
        store.add_samples(db, t, {meter_id: value})


def _bulk(db: Database, meter: str, step: int, rows) -> None:
    meter_id = store.meter_ids(db, [meter])[meter]
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO meter_history (step, meter, t, value, n) VALUES (?, ?, ?, ?, ?)",
            [(step, meter_id, t, value, n) for t, value, n in rows],
        )


def _tier(db: Database, step: int, meter: str = "m") -> list[tuple]:
    return (
        db.connection()
        .execute(
            "SELECT h.t, h.value, h.n FROM meter_history h JOIN meters m ON m.id = h.meter"
            " WHERE h.step = ? AND m.name = ? ORDER BY h.t",
            (step, meter),
        )
        .fetchall()
    )


def _finish(history: History) -> None:
    while not history.maintain(budget=5):
        pass


def test_complete_minutes_become_means_and_quarters_their_weighted_means(tmp_path):
    db = Database(tmp_path / "powerctl.db")
    clock = Clock(T0 + 900 + 61)
    # 6 samples in each minute of the first quarter, then 3 in the minute after it
    rows = [(T0 + 60 * m + 10 * k, float(m * 10 + k)) for m in range(15) for k in range(6)]
    rows += [(T0 + 900 + 10 * k, 100.0) for k in range(3)]
    _samples(db, "m", rows)
    _finish(_history(db, clock))
    minutes = _tier(db, 60)
    assert minutes[0] == (T0, 2.5, 6)  # the mean of 0..5
    assert minutes[14] == (T0 + 840, 142.5, 6)
    assert minutes[15] == (T0 + 900, 100.0, 3)
    assert len(minutes) == 16  # the minute under way is not rolled up yet
    assert _tier(db, 900) == [(T0, round(sum(v for _, v in rows[:90]) / 90, 6), 90)]
    db.close()


def test_a_rollup_done_again_changes_nothing_and_a_restart_does_not_repeat_it(tmp_path):
    path = tmp_path / "powerctl.db"
    db = Database(path)
    clock = Clock(T0 + 2 * 900 + 5)
    _samples(db, "m", [(T0 + 7 * k, float(k)) for k in range(250)])
    _finish(_history(db, clock))
    minutes, quarters = _tier(db, 60), _tier(db, 900)
    assert len(quarters) == 2 and sum(n for *_, n in quarters) == 250
    # as if a crash had lost the marks after the means were written
    db.connection().execute("DELETE FROM settings WHERE key LIKE 'history.rolled.%'")
    _finish(_history(db, clock))
    assert (_tier(db, 60), _tier(db, 900)) == (minutes, quarters)
    db.close()
    again = Database(path)
    clock.now += 900
    _finish(_history(again, clock))
    assert _tier(again, 60)[: len(minutes)] == minutes
    assert _tier(again, 900)[:2] == quarters
    again.close()


def test_each_tier_keeps_its_rows_only_as_long_as_it_should(tmp_path):
    db = Database(tmp_path / "powerctl.db")
    now = T0 + 2 * YEAR
    _bulk(db, "m", 0, [(now - DAY - 10 * k, 1.0, 1) for k in range(1, 500)] + [(now - 100, 2.0, 1)])
    _bulk(db, "m", 60, [(now - WEEK - 60 * k, 1.0, 6) for k in range(1, 500)] + [(now - DAY, 2.0, 6)])
    _bulk(db, "m", 900, [(now - YEAR - 900 * k, 1.0, 90) for k in range(1, 500)] + [(now - WEEK, 2.0, 90)])
    history = _history(db, Clock(now))
    history.span = 600  # many small deletes, not one big one
    _finish(history)
    assert [t for t, *_ in _tier(db, 0)] == [now - 100]
    assert now - DAY in [t for t, *_ in _tier(db, 60)]
    assert min(t for t, *_ in _tier(db, 60)) >= now - WEEK
    assert min(t for t, *_ in _tier(db, 900)) >= now - YEAR
    db.close()


def test_samples_not_yet_rolled_up_outlive_the_day_until_they_are(tmp_path):
    """A gateway off for three days still turns what it sampled before into means."""
    db = Database(tmp_path / "powerctl.db")
    _samples(db, "m", [(T0 + 10 * k, 5.0) for k in range(60)])
    history = _history(db, Clock(T0 + 3 * DAY))
    history.maintain(budget=0)  # one rollup transaction, then out of time
    _finish(history)
    assert _tier(db, 0) == []
    assert [n for *_, n in _tier(db, 60)] == [6] * 10
    assert _tier(db, 900) == [(T0, 5.0, 60)]
    db.close()


def test_the_size_stays_bounded_however_long_it_runs(tmp_path):
    """Forty simulated days of one sample every 10 minutes: rows never exceed the tiers' keep."""
    db = Database(tmp_path / "powerctl.db")
    clock = Clock(T0)
    history = _history(db, clock)
    meter = store.meter_ids(db, ["m"])["m"]
    counts = []
    for day in range(40):
        with db.transaction() as conn:
            conn.executemany(
                "INSERT INTO meter_history (step, meter, t, value, n) VALUES (0, ?, ?, 1.0, 1)",
                [(meter, T0 + day * DAY + 600 * k) for k in range(144)],
            )
        clock.now = T0 + (day + 1) * DAY
        _finish(history)
        counts.append(db.connection().execute("SELECT count(*) FROM meter_history").fetchone()[0])
    # at most a day of samples, a week of minutes, and every quarter so far (under a year)
    assert max(counts) <= 145 + 8 * 144 + 40 * 96
    assert counts[-1] - counts[-2] <= 96  # after the first week only the quarters grow
    db.close()


CHILD = """
import sys
import time
from powerctl.history import History
from powerctl.store import Database
history = History(Database(sys.argv[1]), read=dict, interval=10, clock=lambda: float(sys.argv[2]))
history.buckets = 1
print("rolling", flush=True)
while not history.maintain(budget=0):  # one minute's rollup a call (a transaction each)
    time.sleep(0.001)  # 2,880 of them last seconds: long enough to be killed in on a busy machine
"""


def test_a_kill_mid_rollup_leaves_what_an_uninterrupted_one_would(tmp_path):
    path, reference = tmp_path / "killed.db", tmp_path / "reference.db"
    db = Database(path)
    now = T0 + 2 * DAY + 30
    _bulk(db, "m", 0, [(T0 + 10 * k, float(k % 97), 1) for k in range(2 * 8640)])
    db.close()
    source, target = sqlite3.connect(path), sqlite3.connect(reference)
    source.backup(target)
    source.close()
    target.close()
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(now)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    ) as child:
        try:
            assert child.stdout.readline() == b"rolling\n"
            watch = Database(path)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not _tier(watch, 60):
                time.sleep(0.001)
            os.kill(child.pid, signal.SIGKILL)  # at once: the rollup of 2,880 minutes is under way
            watch.close()
        finally:
            child.kill()
    killed, clean = Database(path), Database(reference)
    partial = len(_tier(killed, 60))
    _finish(_history(killed, Clock(now)))
    _finish(_history(clean, Clock(now)))
    assert 0 < partial < 2 * 1440, "the kill should land mid-rollup"
    for step in (0, 60, 900):
        assert _tier(killed, step) == _tier(clean, step), step
    killed.close()
    clean.close()


def test_after_the_clock_goes_back_minutes_are_rolled_up_again_as_time_reaches_them(tmp_path):
    db = Database(tmp_path / "powerctl.db")
    clock = Clock(T0 + DAY + 5)  # a boot with the clock a day ahead
    history = _history(db, clock)
    _samples(db, "m", [(T0 + DAY - 30, 1.0), (T0 + DAY - 20, 3.0)])
    _finish(history)
    assert _tier(db, 60) == [(T0 + DAY - 60, 2.0, 2)]
    clock.now = T0 + 5  # then set right, and sampled as before: a rollup follows each minute
    _finish(history)
    _samples(db, "m", [(T0 + 10, 4.0), (T0 + 20, 6.0)])
    clock.now = T0 + 65
    _finish(history)
    assert _tier(db, 60)[0] == (T0, 5.0, 2)
    db.close()
