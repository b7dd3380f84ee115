"""Upgrading a data directory: rows written by an older schema keep their meaning."""

from __future__ import annotations

import sqlite3

from powerctl.store import Database
from powerctl.store import roles as role_store
from powerctl.store.schema import MIGRATIONS
from powerctl.store.sessions import session, session_state

BEFORE_ROLE_IDS = 4  # migrations a data directory had before sessions were bound to role ids


def test_sessions_issued_before_role_ids_are_bound_to_the_role_of_their_name(tmp_path):
    path = tmp_path / "powerctl.db"
    conn = sqlite3.connect(path)
    for number, script in enumerate(MIGRATIONS[:BEFORE_ROLE_IDS], start=1):
        conn.executescript(script)
        conn.execute(f"PRAGMA user_version = {number:d}")
    conn.execute("INSERT INTO settings (key, value) VALUES ('role_revision', '7')")
    conn.execute("INSERT INTO roles VALUES ('viewonly', '[]', '', 7)")
    conn.execute(
        "INSERT INTO sessions (jti, sub, role, client, creator, issued, expires)"
        " VALUES ('j1', 'alice', 'viewonly', NULL, 'user admin', 1, 2)"
    )
    conn.commit()
    conn.close()
    db = Database(path)
    try:
        assert role_store.role(db, "viewonly").id == 7
        assert session(db, "j1").role_id == 7
        assert session_state(db, "j1").role_revision == 7
        role_store.delete_role(db, "viewonly")
        role_store.put_role(db, "viewonly", (), "")
        state = session_state(db, "j1")
        assert state.role_revision is None and state.revoked
    finally:
        db.close()


def test_audit_lines_stored_before_the_split_keep_their_order_and_go_to_their_table(tmp_path):
    path = tmp_path / "powerctl.db"
    conn = sqlite3.connect(path)
    for number, script in enumerate(MIGRATIONS[: BEFORE_ROLE_IDS + 1], start=1):
        conn.executescript(script)
        conn.execute(f"PRAGMA user_version = {number:d}")
    lines = [
        "access allowed for admin (admin@127.0.0.1, digest)",
        "Client lab registered by user admin from 127.0.0.1 (1 scopes, 1 tokens)",
        "access denied for 10.0.0.9: bad digest credentials",
        "lockout of 10.0.0.9 started after repeated failed logins (5 min)",
        "Outlet 1: Configured state set to Off by user admin from 127.0.0.1",
    ]
    conn.executemany(
        "INSERT INTO audit (at, line) VALUES (?, ?)", [(float(i), line) for i, line in enumerate(lines)]
    )
    conn.commit()
    conn.close()
    db = Database(path)
    try:
        assert [line for _, line in db.audit_tail(10)] == lines
        events = [r[0] for r in db.connection().execute("SELECT line FROM audit_events ORDER BY id")]
        assert events == [lines[1], lines[4]]
    finally:
        db.close()
