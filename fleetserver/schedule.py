"""The notification queue, kept in the controllers table: claim due rows, record what happened.

`next_notify_at` is the queue and the lease at once. An instance claims due rows by moving them
a lease ahead (`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so instances claim disjoint
rows without waiting for each other; on SQLite the writer's lock serialises claims), notifies
them, and records the outcome: delivered (not due any more) or failed (due again after a
backoff). An instance that dies leaves its claims to come due when their lease ends.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from sqlalchemy import and_, case, func, or_, select, update

from fleetserver.controllers import Notice
from fleetserver.database import FleetDatabase
from fleetserver.models import Controller, utcnow

_C = Controller
_NOTIFIABLE = (_C.denied_at.is_(None), _C.notify_url.is_not(None))


def _aware(moment: datetime.datetime | None) -> datetime.datetime | None:
    """SQLite hands timestamps back without their zone; they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    return moment


class Schedule:
    def __init__(self, db: FleetDatabase, clock: Callable[[], datetime.datetime] = utcnow):
        self.db = db
        self.clock = clock

    def claim(self, limit: int, lease: float) -> list[Notice]:
        """Up to `limit` due notices, oldest due first, each held for `lease` seconds."""
        if limit <= 0:
            return []
        now = self.clock()
        due = (
            select(_C.seq, _C.uuid, _C.version, _C.notify_url, _C.fleet_token, _C.notified_version)
            .where(_C.next_notify_at <= now, *_NOTIFIABLE)
            .order_by(_C.next_notify_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self.db.writing() as session:
            rows = session.execute(due).all()
            lagging = [r for r in rows if r.notified_version is None or r.notified_version < r.version]
            done = [r.seq for r in rows if r.notified_version is not None and r.notified_version >= r.version]
            plain = {"synchronize_session": False}
            if lagging:
                held = now + datetime.timedelta(seconds=lease)
                session.execute(
                    update(_C)
                    .where(_C.seq.in_([r.seq for r in lagging]))
                    .values(next_notify_at=held, last_notify_at=now),
                    execution_options=plain,
                )
            if done:  # told already (by a sync or an earlier notice): nothing is due
                session.execute(
                    update(_C).where(_C.seq.in_(done)).values(next_notify_at=None), execution_options=plain
                )
        return [Notice(r.uuid, r.version, r.notify_url, r.fleet_token) for r in lagging]

    def next_due(self) -> datetime.datetime | None:
        """When the earliest scheduled notification comes due (it may be past), or None."""
        with self.db.reading() as session:
            return _aware(session.scalar(select(func.min(_C.next_notify_at)).where(*_NOTIFIABLE)))

    def record(self, notice: Notice, error: str | None, delay: Callable[[int], float | None]) -> None:
        """The outcome of a claimed notice. Delivered: not due any more, unless the controller
        has moved on to a newer version meanwhile (its own schedule then stands). Failed, for
        the current version: due again after `delay(failures in a row)` seconds (None: never)."""
        now = self.clock()
        query = select(_C.version, _C.notified_version, _C.notify_failures, _C.next_notify_at).where(
            _C.uuid == notice.uuid
        )
        with self.db.writing() as session:
            row = session.execute(query.with_for_update()).first()
            if row is None:
                return
            current = row.version == notice.version
            values: dict = {}
            if error is None:
                told = max(row.notified_version or 0, notice.version)
                values = {"notified_version": told, "notify_error": None, "notify_failures": 0}
                if told >= row.version:
                    values["next_notify_at"] = None
                elif row.next_notify_at is None:
                    values["next_notify_at"] = now
            elif current:
                failures = row.notify_failures + 1
                wait = delay(failures)
                values = {
                    "notify_error": error,
                    "notify_failures": failures,
                    "next_notify_at": None if wait is None else now + datetime.timedelta(seconds=wait),
                }
            if values:
                session.execute(update(_C).where(_C.uuid == notice.uuid).values(**values))

    def bump_all(self, batch: int = 1000, progress: Callable[[int], None] | None = None) -> int:
        """A change every live controller must hear of (a new CA chain, a peer all hold):
        bump each version, `batch` rows per transaction so no lock is held long, and leave the
        notifications to the instances' queues, which send them in waves of their concurrency.
        Controllers in backoff keep their next attempt. The number of controllers bumped."""
        last, total = 0, 0
        while True:
            with self.db.writing() as session:
                seqs = list(
                    session.scalars(
                        select(_C.seq)
                        .where(_C.seq > last, _C.denied_at.is_(None))
                        .order_by(_C.seq)
                        .limit(batch)
                        .with_for_update()
                    )
                )
                if not seqs:
                    return total
                due = and_(
                    _C.notify_url.is_not(None), or_(_C.notify_failures == 0, _C.next_notify_at.is_(None))
                )
                session.execute(
                    update(_C)
                    .where(_C.seq.in_(seqs))
                    .values(
                        version=_C.version + 1,
                        next_notify_at=case((due, self.clock()), else_=_C.next_notify_at),
                    ),
                    execution_options={"synchronize_session": False},
                )
            last, total = seqs[-1], total + len(seqs)
            if progress is not None:
                progress(total)
