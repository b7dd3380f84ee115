"""Users in the store: a name, the digest HA1 of the password (never the password), admin or not,
and for a non-admin the outlets it may switch (DLI's outlet_access)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from powerctl.domain import LastAdmin, NoSuchUser
from powerctl.store.db import Database


@dataclass(frozen=True, slots=True)
class UserRecord:
    name: str
    ha1: str
    is_admin: bool
    outlet_access: tuple[bool, ...]


def _record(row) -> UserRecord:
    return UserRecord(row[0], row[1], bool(row[2]), tuple(bool(x) for x in json.loads(row[3])))


def user(db: Database, name: str) -> UserRecord | None:
    row = (
        db.connection()
        .execute("SELECT name, ha1, is_admin, outlet_access FROM users WHERE name = ?", (name,))
        .fetchone()
    )
    return None if row is None else _record(row)


def all_users(db: Database) -> list[UserRecord]:
    rows = db.connection().execute("SELECT name, ha1, is_admin, outlet_access FROM users ORDER BY name")
    return [_record(row) for row in rows]


def _admins_besides(conn, name: str) -> int:
    return conn.execute("SELECT count(*) FROM users WHERE is_admin = 1 AND name != ?", (name,)).fetchone()[0]


def put_user(
    db: Database, name: str, ha1: str | None, is_admin: bool, outlet_access: tuple[bool, ...]
) -> bool:
    """Create or replace a user in one transaction (ha1 None keeps the password); True when new.

    Taking admin rights from the last admin raises LastAdmin and changes nothing.
    """
    with db.transaction() as conn:
        current = conn.execute("SELECT is_admin FROM users WHERE name = ?", (name,)).fetchone()
        if current is None and ha1 is None:
            raise NoSuchUser(f"there is no user {name!r}: a new user needs a password")
        if current is not None and current[0] and not is_admin and not _admins_besides(conn, name):
            raise LastAdmin(f"user {name!r} is the last admin: it stays an admin")
        access = json.dumps([bool(x) for x in outlet_access])
        if current is None:
            conn.execute(
                "INSERT INTO users (name, ha1, is_admin, outlet_access) VALUES (?, ?, ?, ?)",
                (name, ha1, int(is_admin), access),
            )
            return True
        conn.execute(
            "UPDATE users SET ha1 = coalesce(?, ha1), is_admin = ?, outlet_access = ? WHERE name = ?",
            (ha1, int(is_admin), access, name),
        )
        return False


def set_ha1(db: Database, name: str, ha1: str) -> None:
    """Replace a user's password (its HA1); NoSuchUser when there is no such user."""
    with db.transaction() as conn:
        if conn.execute("UPDATE users SET ha1 = ? WHERE name = ?", (ha1, name)).rowcount == 0:
            raise NoSuchUser(f"there is no user {name!r}")


def delete_user(db: Database, name: str) -> None:
    """Delete a user; never the last admin (LastAdmin), NoSuchUser when there is none."""
    with db.transaction() as conn:
        row = conn.execute("SELECT is_admin FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NoSuchUser(f"there is no user {name!r}")
        if row[0] and not _admins_besides(conn, name):
            raise LastAdmin(f"user {name!r} is the last admin: add another admin before deleting it")
        conn.execute("DELETE FROM users WHERE name = ?", (name,))
