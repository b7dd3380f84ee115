"""Credential edits smaller than a whole registration: one token, and the denied list."""

from __future__ import annotations

import time

from powerctl.store.db import Database

# SQLite integers are signed 64-bit: the largest use count a token may have.
MAX_USE_COUNT = 2**63 - 1


def add_token(db: Database, client_id: str, digest: str, remaining: int | None) -> bool:
    """Add one token hash to an existing client; False when there is no such client."""
    with db.transaction(credentials=True) as conn:
        if conn.execute("SELECT 1 FROM clients WHERE id = ?", (client_id,)).fetchone() is None:
            return False
        conn.execute(
            "INSERT INTO tokens (client, hash, remaining) VALUES (?, ?, ?)", (client_id, digest, remaining)
        )
        return True


def remove_token(db: Database, client_id: str, digest: str) -> bool:
    with db.transaction(credentials=True) as conn:
        return (
            conn.execute("DELETE FROM tokens WHERE client = ? AND hash = ?", (client_id, digest)).rowcount > 0
        )


def denied_ids(db: Database) -> list[str]:
    return [r[0] for r in db.connection().execute("SELECT id FROM denied_clients ORDER BY id")]


def denial(db: Database, client_id: str) -> tuple[float, str] | None:
    """When and by whom a client was denied, or None."""
    row = db.connection().execute("SELECT at, by FROM denied_clients WHERE id = ?", (client_id,)).fetchone()
    return None if row is None else (row[0], row[1])


def lift_denial(db: Database, client_id: str) -> bool:
    with db.transaction(credentials=True) as conn:
        return conn.execute("DELETE FROM denied_clients WHERE id = ?", (client_id,)).rowcount > 0


def deny(db: Database, client_id: str, by: str) -> None:
    """Deny an id without deleting a local client (a synced id has none); idempotent."""
    with db.transaction(credentials=True) as conn:
        conn.execute(
            "INSERT INTO denied_clients (id, at, by) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (client_id, time.time(), by),
        )
