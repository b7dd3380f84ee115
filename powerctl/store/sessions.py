"""Session tokens in the store: every one issued, so it can be revoked and its owner known."""

from __future__ import annotations

import json
from dataclasses import dataclass

from powerctl.store.db import Database


@dataclass(frozen=True, slots=True)
class SessionRecord:
    jti: str
    sub: str
    role: str
    role_id: int  # the role's id when issued: a role re-created under its name has another
    client: str | None  # the creating client, None when an admin created it
    creator: str  # "client lab" or "user admin", for display and audit
    outlets: tuple[int, ...] | None
    issued: int
    expires: int
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class SessionState:
    """What each request with a session token checks, read in one indexed query."""

    revoked: bool
    role_revision: int | None  # None: the role it was issued for no longer exists
    client: str | None
    client_revision: int | None  # None: the creating client no longer exists
    client_denied: bool


_COLUMNS = "jti, sub, role, role_id, client, creator, outlets, issued, expires, revoked"


def _record(row: tuple) -> SessionRecord:
    outlets = None if row[6] is None else tuple(json.loads(row[6]))
    return SessionRecord(*row[:6], outlets, row[7], row[8], bool(row[9]))


def add_session(db: Database, record: SessionRecord, now: int, max_kept: int) -> bool:
    """Store a new session unless its creator already has max_kept unexpired ones.

    Revoked sessions count too: their rows must stay until they expire, and counting them
    keeps the table bounded even for a creator that makes and revokes in a loop.
    """
    with db.transaction() as conn:
        conn.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
        kept = conn.execute("SELECT COUNT(*) FROM sessions WHERE creator = ?", (record.creator,)).fetchone()[
            0
        ]
        if kept >= max_kept:
            return False
        conn.execute(
            f"INSERT INTO sessions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",  # noqa: S608
            (
                record.jti,
                record.sub,
                record.role,
                record.role_id,
                record.client,
                record.creator,
                None if record.outlets is None else json.dumps(list(record.outlets)),
                record.issued,
                record.expires,
            ),
        )
        return True


def session_state(db: Database, jti: str) -> SessionState | None:
    row = (
        db.connection()
        .execute(
            "SELECT s.revoked, r.revision, s.client, c.revision, d.id IS NOT NULL FROM sessions s"
            " LEFT JOIN roles r ON r.name = s.role AND r.id = s.role_id"
            " LEFT JOIN clients c ON c.id = s.client"
            " LEFT JOIN denied_clients d ON d.id = s.client"
            " WHERE s.jti = ?",
            (jti,),
        )
        .fetchone()
    )
    if row is None:
        return None
    return SessionState(bool(row[0]), row[1], row[2], row[3], bool(row[4]))


def session(db: Database, jti: str) -> SessionRecord | None:
    row = (
        db.connection()
        .execute(
            f"SELECT {_COLUMNS} FROM sessions WHERE jti = ?",  # noqa: S608
            (jti,),
        )
        .fetchone()
    )
    return None if row is None else _record(row)


def live_sessions(db: Database, now: int, client: str | None = None) -> list[str]:
    """Ids of unrevoked, unexpired sessions: every one, or only those `client` created."""
    query = "SELECT jti FROM sessions WHERE revoked = 0 AND expires > ?"
    params: tuple = (now,) if client is None else (now, client)
    if client is not None:
        query += " AND client = ?"
    return [r[0] for r in db.connection().execute(query + " ORDER BY issued, jti", params)]


def revoke_session(db: Database, jti: str) -> bool:
    with db.transaction() as conn:
        return (
            conn.execute("UPDATE sessions SET revoked = 1 WHERE jti = ? AND revoked = 0", (jti,)).rowcount > 0
        )
