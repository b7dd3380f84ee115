"""Meter history in the store: samples, their 1-minute and 15-minute means, and retention.

Rows are (step, meter, t, value, n): step 0 is a sample taken at t; step 60 or 900 is the mean
of the `n` samples taken in [t, t + step). A tier is rolled up from the one below it up to a
mark kept in the settings table and moved in the same transaction as the means it covers, so
each bucket is computed once, and a crash leaves either the whole step or none of it.
Recomputing a bucket (INSERT OR REPLACE) gives the same row, so a rollup is idempotent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from powerctl.store.db import Database

RAW = 0
DAY = 86_400
WEEK = 7 * DAY
YEAR = 365 * DAY


@dataclass(frozen=True, slots=True)
class Tier:
    step: int  # seconds a row covers; 0 for samples
    keep: int  # seconds its rows are kept
    source: int | None = None  # the tier it is rolled up from


TIERS = (Tier(RAW, DAY), Tier(60, WEEK, RAW), Tier(900, YEAR, 60))
MARK = "history.rolled.{step}"  # the settings key of a tier's mark: buckets before it are done


def meter_ids(db: Database, names: Iterable[str]) -> dict[str, int]:
    """The small id of each meter name, creating those not seen before."""
    names = list(names)
    with db.transaction() as conn:
        conn.executemany("INSERT OR IGNORE INTO meters (name) VALUES (?)", [(name,) for name in names])
        return {
            name: conn.execute("SELECT id FROM meters WHERE name = ?", (name,)).fetchone()[0]
            for name in names
        }


def add_samples(db: Database, t: int, values: dict[int, float]) -> None:
    """Store one sample of each meter (by id) taken at t; a second one at the same t is dropped."""
    with db.transaction() as conn:
        conn.executemany(
            "INSERT OR IGNORE INTO meter_history (step, meter, t, value, n) VALUES (0, ?, ?, ?, 1)",
            [(meter, t, value) for meter, value in values.items()],
        )


def points(db: Database, name: str, step: int, start: int, end: int) -> list[tuple[int, float]]:
    """(t, value) of one meter's rows of a tier with start <= t <= end, oldest first."""
    rows = db.connection().execute(
        "SELECT h.t, h.value FROM meters m JOIN meter_history h ON h.step = ? AND h.meter = m.id"
        " AND h.t >= ? AND h.t <= ? WHERE m.name = ? ORDER BY h.t",
        (step, start, end, name),
    )
    return rows.fetchall()


def _next_source(conn, tier: Tier, after: int) -> int | None:
    """The time of the first row of the tier's source at or after `after`, over every meter."""
    row = conn.execute(
        "SELECT min((SELECT min(t) FROM meter_history WHERE step = ? AND meter = m.id AND t >= ?))"
        " FROM meters m",
        (tier.source, after),
    ).fetchone()
    return row[0]


def _mark(conn, step: int) -> int | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (MARK.format(step=step),)).fetchone()
    return None if row is None else int(row[0])


def roll_up(db: Database, tier: Tier, now: int, buckets: int) -> bool:
    """Compute at most `buckets` of a tier's complete buckets, in one transaction; False when
    there was nothing left to do.

    A bucket is complete once its end is past (the sampler stores samples before it rolls up,
    in the same thread, so none arrives later) and, above 1-minute means, once the tier below
    has covered it. Gaps (the gateway was off) are skipped in one step.
    """
    assert tier.source is not None
    step = tier.step
    with db.transaction() as conn:
        below = now if tier.source == RAW else (_mark(conn, tier.source) or 0)
        end = min(now, below) // step * step
        mark = _mark(conn, step)
        if mark is not None and mark > end:
            # the clock went back: buckets from here on are computed again as time reaches them
            # (from every sample they hold by then, those taken before the jump included)
            mark = end
            db.set_setting(MARK.format(step=step), end, conn)
        first = _next_source(conn, tier, mark or 0)
        if first is None or first >= end:
            moved = mark is None or mark < end
            if moved:
                db.set_setting(MARK.format(step=step), end, conn)
            return False
        start = max(mark or 0, first // step * step)
        stop = min(end, start + buckets * step)
        conn.execute(
            "INSERT OR REPLACE INTO meter_history (step, meter, t, value, n)"
            " SELECT ?, meter, t / ? * ?, round(sum(value * n) / sum(n), 6), sum(n) FROM meter_history"
            " WHERE step = ? AND meter IN (SELECT id FROM meters) AND t >= ? AND t < ?"
            " GROUP BY meter, t / ?",
            (step, step, step, tier.source, start, stop, step),
        )
        db.set_setting(MARK.format(step=step), stop, conn)
        return stop < end


def expire(db: Database, now: int, span: int) -> bool:
    """Delete every tier's rows older than it keeps them, at most `span` seconds of them a
    meter, in one transaction; True when more are left.

    Rows not yet rolled up into the tier above are kept until they are, so a gateway that was
    off for a while still turns the samples it took before into means.
    """
    more = False
    with db.transaction() as conn:
        for tier in TIERS:
            cutoff = now - tier.keep
            above = next((t for t in TIERS if t.source == tier.step), None)
            if above is not None:
                cutoff = min(cutoff, _mark(conn, above.step) or 0)
            oldest = conn.execute(
                "SELECT m.id, (SELECT min(t) FROM meter_history WHERE step = ? AND meter = m.id)"
                " FROM meters m",
                (tier.step,),
            ).fetchall()
            for meter, first in oldest:
                if first is None or first >= cutoff:
                    continue
                conn.execute(
                    "DELETE FROM meter_history WHERE step = ? AND meter = ? AND t < ?",
                    (tier.step, meter, min(cutoff, first + span)),
                )
                more = more or first + span < cutoff
    return more


def switches(db: Database, subject: str, start: float, end: float, limit: int) -> list[tuple[float, dict]]:
    """(time, fields) of the last `limit` audit events about `subject` from start to end, oldest first."""
    rows = db.connection().execute(
        "SELECT at, fields FROM audit_events WHERE subject = ? AND at >= ? AND at <= ?"
        " ORDER BY id DESC LIMIT ?",
        (subject, start, end, limit),
    )
    return [(at, json.loads(fields)) for at, fields in rows.fetchall()[::-1]]
