"""AutoPing items in the store: each item's spec and state as JSON, in array order."""

from __future__ import annotations

import json
from collections.abc import Iterable

from powerctl.store.db import Database

NEXT_UID = "autoping.next_uid"


def items(db: Database) -> list[tuple[int, dict, dict]]:
    """(uid, spec, state) of every item, in array order."""
    rows = db.connection().execute("SELECT uid, spec, state FROM autoping_items ORDER BY position")
    return [(uid, json.loads(spec), json.loads(state)) for uid, spec, state in rows]


def next_uid(db: Database) -> int:
    """A uid never handed out before in this data directory."""
    with db.transaction() as conn:
        uid = int(db.get_setting(NEXT_UID, 1))
        db.set_setting(NEXT_UID, uid + 1, conn)
        return uid


def save_all(db: Database, rows: Iterable[tuple[int, dict, dict]]) -> None:
    """Replace the array: items were added, replaced, removed or moved up."""
    with db.transaction() as conn:
        conn.execute("DELETE FROM autoping_items")
        conn.executemany(
            "INSERT INTO autoping_items (position, uid, spec, state) VALUES (?, ?, ?, ?)",
            [
                (position, uid, json.dumps(spec), json.dumps(state))
                for position, (uid, spec, state) in enumerate(rows)
            ],
        )


def save_states(db: Database, states: Iterable[tuple[int, dict]]) -> None:
    """Store what items have seen since the last save, by uid."""
    with db.transaction() as conn:
        conn.executemany(
            "UPDATE autoping_items SET state = ? WHERE uid = ?",
            [(json.dumps(state), uid) for uid, state in states],
        )


def save_item(db: Database, uid: int, spec: dict, state: dict) -> None:
    """Store one item as it is now (it fired, or gave up)."""
    with db.transaction() as conn:
        conn.execute(
            "UPDATE autoping_items SET spec = ?, state = ? WHERE uid = ?",
            (json.dumps(spec), json.dumps(state), uid),
        )
