"""history/ under a meter and under an outlet: read by name only, scoped like the value they follow.

Not DLI: DLI keeps a meter's log as `log_history`/`get_history` items (docs/api.md). The range
comes from the query string, `?from=<unix seconds>&to=<unix seconds>`.
"""

from __future__ import annotations

import re
import time

from flask import request
from marshmallow import fields

from powerctl.audit import Audit
from powerctl.errors import BadRequest
from powerctl.history import History
from powerctl.relay import subject
from powerctl.restapi.tree import CoveredBy, KeyPath, Value, owner
from powerctl.store import Database
from powerctl.store import history as store

LATEST = 2**32 - 1  # the latest time a range may name (2106): anything beyond is a mistake
HOUR = 3600  # what a meter's history answers without ?from=
MAX_SWITCHES = 1000  # entries of an outlet's switch history one answer holds, the newest
_SECONDS = re.compile(r"[0-9]{1,10}")  # ASCII digits only: int() would take "١٢" too


def _time(name: str) -> int | None:
    given = request.args.getlist(name)
    if not given:
        return None
    if len(given) > 1:
        raise BadRequest(f"{name} is given {len(given)} times", errors={name: "give it once"})
    text = given[0]
    if not _SECONDS.fullmatch(text) or int(text) > LATEST:
        raise BadRequest(
            f"{name} must be a time in unix seconds, 0 to {LATEST}: {text[:32]!r}",
            errors={name: "not unix seconds"},
        )
    return int(text)


def time_range() -> tuple[int | None, int | None]:
    """The ?from= and ?to= of this request (None when absent), or 400 naming the bad one."""
    start, end = _time("from"), _time("to")
    if start is not None and end is not None and start > end:
        raise BadRequest(f"from ({start}) is after to ({end})", errors={"from": "after to"})
    return start, end


def like(name: str) -> CoveredBy:
    """Authorised by get access to the sibling leaf `name`, as well as by a scope on itself."""

    def covered_by(leaf: KeyPath, _body: object, word: object) -> list:
        return [((*leaf[:-1], name), word)]

    return covered_by


def meter_history(history: History, unit) -> Value:
    """meter/values/<id>/history/: {"id", "unit", "step", "points": [[t, value], ...]}."""

    def read(keys: KeyPath) -> dict:
        meter = owner(keys)
        start, end = time_range()
        if end is None:
            end = int(history.now())
            if start is not None and start > end:
                raise BadRequest(f"from ({start}) is after to (now, {end})", errors={"from": "after to"})
        start = end - HOUR if start is None else start
        step, points = history.query(meter, start, end)
        return {"id": meter, "unit": unit(keys) or None, "step": step, "points": points}

    return Value(fields.Raw(), read=read, listed=False, covered_by=like("value"))


def outlet_history(db: Database, trail: Audit) -> Value:
    """relay/outlets/<n>/history/: [{"time", "state", "by", "via"}, ...], newest last, at most
    MAX_SWITCHES of them, from the audit trail (as far back as it keeps lines)."""

    def read(keys: KeyPath) -> list:
        index = int(owner(keys))
        start, end = time_range()
        trail.flush()  # switch lines are queued: the caller's own last switch must show
        found = store.switches(
            db, subject(index), start or 0, time.time() if end is None else end, MAX_SWITCHES
        )
        return [{"time": int(at), "state": f["state"], "by": f["by"], "via": f["via"]} for at, f in found]

    return Value(fields.Raw(), read=read, listed=False, covered_by=like("state"))
