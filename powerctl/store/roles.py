"""Roles in the store: named scope sets that session tokens refer to."""

from __future__ import annotations

import json
from dataclasses import dataclass

from powerctl.store.db import Database


@dataclass(frozen=True, slots=True)
class RoleRecord:
    name: str
    scopes: tuple[str, ...]
    description: str
    revision: int  # unique across all roles and all time, so caches keyed by it never go stale
    id: int = 0  # the revision it was created with: kept by replacements, never reused


def put_role(db: Database, name: str, scopes: tuple[str, ...], description: str) -> int:
    """Create or replace a role in one transaction; returns its new revision.

    A replacement keeps the role's id (its sessions follow it); a new role, even with the name
    of a deleted one, gets a new id, so the deleted role's sessions never match it.
    """
    with db.transaction() as conn:
        revision = int(db.get_setting("role_revision", 0)) + 1
        db.set_setting("role_revision", revision, conn)
        conn.execute(
            "INSERT INTO roles (name, scopes, description, revision, id) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET scopes = excluded.scopes,"
            " description = excluded.description, revision = excluded.revision",
            (name, json.dumps(list(scopes)), description, revision, revision),
        )
        return revision


def delete_role(db: Database, name: str) -> bool:
    """Delete a role and revoke its sessions in one transaction."""
    with db.transaction() as conn:
        conn.execute(
            "UPDATE sessions SET revoked = 1 WHERE revoked = 0"
            " AND role_id = (SELECT id FROM roles WHERE name = ?)",
            (name,),
        )
        return conn.execute("DELETE FROM roles WHERE name = ?", (name,)).rowcount > 0


def role(db: Database, name: str) -> RoleRecord | None:
    row = (
        db.connection()
        .execute("SELECT name, scopes, description, revision, id FROM roles WHERE name = ?", (name,))
        .fetchone()
    )
    if row is None:
        return None
    return RoleRecord(row[0], tuple(json.loads(row[1])), row[2], row[3], row[4])


def role_names(db: Database) -> list[str]:
    return [r[0] for r in db.connection().execute("SELECT name FROM roles ORDER BY name")]
