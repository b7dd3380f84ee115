"""Meter history: what the sampler costs per meter per sample, and how fast a year of it reads.

The sampler's baseline, in the same run, is reading the same meters without storing them. Both
run on the simulated board's meters against a store already holding a year of history for each
(the steady state, where every minute's rollup also deletes what expired). The reads time a
meter's history for the last hour, day, week and year, in the service and through the /restapi/
view (Flask's test client: JSON included, no socket), and the store's size per meter-year.
Times are CPU time of this process (time.process_time), steadier than wall time on a shared
machine.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import PASSWORD, ROOT

sys.path.insert(0, str(ROOT))
import hw
from powerctl.history import History
from powerctl.store import Database
from powerctl.store import history as store
from powerctl.store.history import DAY, WEEK, YEAR


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def fill_year(db: Database, names: list[str], now: int, interval: int = 10) -> None:
    """A year of 15-minute means, a week of 1-minute means and a day of samples for each meter,
    with the marks a sampler would have left, in transactions of one tier each."""
    ids = store.meter_ids(db, names)
    tiers = (
        (900, range(now - YEAR, now - 900, 900), 90),
        (60, range(now - WEEK, now - 60, 60), 6),
        (0, range(now - DAY, now, interval), 1),
    )
    for step, times, n in tiers:
        start = times.start // max(step, 1) * max(step, 1)
        for meter in ids.values():
            with db.transaction() as conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO meter_history (step, meter, t, value, n) VALUES (?, ?, ?, ?, ?)",
                    [
                        (step, meter, t, 100.0 + (t % 977) / 10, n)
                        for t in range(start, times.stop, times.step)
                    ],
                )
    with db.transaction() as conn:
        db.set_setting(store.MARK.format(step=60), now // 60 * 60, conn)
        db.set_setting(store.MARK.format(step=900), now // 900 * 900, conn)


def db_bytes(db: Database) -> int:
    conn = db.connection()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    return os.path.getsize(db.path)


def per_call(fn, count: int) -> float:
    start = time.process_time()
    for _ in range(count):
        fn()
    return (time.process_time() - start) / count


def sampler_cost(data: Path, samples: int = 3000) -> None:
    controller = hw.build_controller({})
    controller.start([True] * controller.outlet_count)
    try:
        meters = list(controller.read_meters())
        now = 1_800_000_000 // 900 * 900
        db = Database(data / "sampler.db")
        fill_year(db, meters, now)
        clock = Clock(now)
        history = History(db, controller.read_meters, interval=10, clock=clock)

        def tick() -> None:
            clock.now += 10
            history.tick()

        baseline = min(per_call(controller.read_meters, samples) for _ in range(3))
        sampled = per_call(tick, samples)  # simulated: 3000 samples are 8 h 20 min of history
        rows = db.connection().execute("SELECT count(*) FROM meter_history").fetchone()[0]
        db.close()
    finally:
        controller.close()
    count = len(meters)
    print(f"sampler: {count} meters, {samples} samples at 10 s (simulated), {rows} rows kept")
    print(f"  read only (baseline):  {baseline / count * 1e6:8.2f} us per meter per sample")
    print(f"  read + store + rollup: {sampled / count * 1e6:8.2f} us per meter per sample")
    print(f"  ratio: {sampled / baseline:.0f}x the read; {sampled / 10 * 100:.4f} % of a core at 10 s")


def query_times(data: Path, repeat: int = 20) -> None:
    os.environ["POWERCTL_ADMIN_PASSWORD"] = PASSWORD
    import powerctl
    from tests.support import Api

    app = powerctl.create_app({"data_dir": str(data / "query"), "testing": True, "history": {"interval": 0}})
    try:
        db = app.extensions["powerctl.db"]
        history = app.extensions["powerctl.history"]
        now = int(time.time())
        fill_year(db, ["bus.0.power"], now)
        admin = Api(app.test_client(), password=PASSWORD)
        path = "/restapi/meter/values/bus.0.power/history/"
        first = admin.get(f"{path}?from={now - YEAR}")
        assert first.status_code == 200 and len(first.json["points"]) > 30_000, first.status_code
        print(f"history reads, one meter with a year of data (median of {repeat}):")
        for label, span in (("hour", 3600), ("day", DAY - 60), ("week", WEEK - 60), ("year", YEAR)):
            start = now - span
            points = history.query("bus.0.power", start, now)[1]
            service = statistics.median(
                timed(lambda start=start: history.query("bus.0.power", start, now)) for _ in range(repeat)
            )
            url = f"{path}?from={start}&to={now}"
            view = statistics.median(timed(lambda url=url: ok(admin.get(url))) for _ in range(repeat))
            print(
                f"  last {label:4}: {len(points):6} points, service {service * 1e3:7.2f} ms,"
                f" GET {view * 1e3:7.2f} ms"
            )
    finally:
        powerctl.shutdown(app)


def size_per_meter(data: Path, meters: int = 4) -> None:
    db = Database(data / "size.db")
    empty = db_bytes(db)
    fill_year(db, [f"m{i}" for i in range(meters)], 1_800_000_000 // 900 * 900)
    full = db_bytes(db)
    db.close()
    print(
        f"store size: {(full - empty) / meters / 1e6:.2f} MB per meter-year ({meters} meters, {full} bytes)"
    )


def ok(response) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"history read answered {response.status_code}")


def timed(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        sampler_cost(Path(data))
        query_times(Path(data))
        size_per_meter(Path(data))


if __name__ == "__main__":
    main()
