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


def put_role(db: Database, name: str, scopes: tuple[str, ...], description: str) -> int:
    """Create or replace a role in one transaction; returns its new revision."""
    with db.transaction() as conn:
        revision = int(db.get_setting("role_revision", 0)) + 1
        db.set_setting("role_revision", revision, conn)
        conn.execute(
            "INSERT INTO roles (name, scopes, description, revision) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET scopes = excluded.scopes,"
            " description = excluded.description, revision = excluded.revision",
            (name, json.dumps(list(scopes)), description, revision),
        )
        return revision


def delete_role(db: Database, name: str) -> bool:
    with db.transaction() as conn:
        return conn.execute("DELETE FROM roles WHERE name = ?", (name,)).rowcount > 0


def role(db: Database, name: str) -> RoleRecord | None:
    row = (
        db.connection()
        .execute("SELECT name, scopes, description, revision FROM roles WHERE name = ?", (name,))
        .fetchone()
    )
    if row is None:
        return None
    return RoleRecord(row[0], tuple(json.loads(row[1])), row[2], row[3])


def role_names(db: Database) -> list[str]:
    return [r[0] for r in db.connection().execute("SELECT name FROM roles ORDER BY name")]
