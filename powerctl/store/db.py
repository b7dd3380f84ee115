"""The Database: per-thread SQLite connections and every query the gateway makes."""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from powerctl.store.generation import Generation
from powerctl.store.records import ClientRecord, OutletRecord, TokenRecord
from powerctl.store.schema import MIGRATIONS

AUDIT_KEEP = 10_000  # lines kept in each of the two audit tables
ACCESS_PREFIXES = ("access ", "lockout of ")  # the lines an address's requests can add


def _make_private(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it, and tighten one left looser.

    SQLite creates the -wal and -shm files with the database file's mode whatever the umask,
    so they are 0600 too once the database is; ones left by an older version are tightened.
    """
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if os.stat(name).st_mode & 0o777 != 0o600:
                os.chmod(name, 0o600)
        except FileNotFoundError:
            pass


class Database:
    """SQLite file shared by every thread and process of one data directory."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._local = threading.local()
        # Bumped after every change to clients or tokens; see BearerVerifier's cache.
        self.credentials = Generation(self.path.with_name(self.path.name + ".credentials"))
        _make_private(self.path)
        with self.transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number:d}")

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self, credentials: bool = False) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT: writers queue on the lock instead of failing midway.

        `credentials`: the transaction changes clients or tokens, so the credentials
        generation is bumped once it has committed. Inside another transaction of the same
        thread this is a savepoint of it: undone alone on error, committed with the outer one
        (so a change and its audit line commit together, see Audit.change).
        """
        conn = self.connection()
        local = self._local
        if getattr(local, "depth", 0):
            local.depth += 1
            local.bump = local.bump or credentials
            conn.execute("SAVEPOINT nested")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK TO nested")
                raise
            finally:
                conn.execute("RELEASE nested")
                local.depth -= 1
            return
        conn.execute("BEGIN IMMEDIATE")
        local.depth, local.bump = 1, credentials
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            local.depth = 0
        if local.bump:
            self.credentials.bump()

    def close(self) -> None:
        """Close this thread's connection (the generation mapping stays for other threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # settings: small JSON values by key
    def get_setting(self, key: str, default=None):
        row = self.connection().execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_setting(self, key: str, value, conn: sqlite3.Connection | None = None) -> None:
        (conn or self.connection()).execute(
            "INSERT INTO settings (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    def setting_or_create(self, key: str, make) -> object:
        """Read a setting, creating it with `make()` once even when processes race."""
        with self.transaction() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return json.loads(row[0])
            value = make()
            self.set_setting(key, value, conn)
            return value

    # users
    def user_ha1(self, name: str) -> str | None:
        row = self.connection().execute("SELECT ha1 FROM users WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    def add_user_if_none(self, name: str, ha1: str) -> bool:
        """Create the first user; False when any user already exists."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM users LIMIT 1").fetchone():
                return False
            conn.execute("INSERT INTO users (name, ha1, is_admin) VALUES (?, ?, 1)", (name, ha1))
            return True

    def users(self) -> list[str]:
        return [r[0] for r in self.connection().execute("SELECT name FROM users ORDER BY name")]

    # outlets
    def outlets(self) -> list[OutletRecord]:
        rows = self.connection().execute(
            "SELECT idx, name, state, locked, critical, cycle_delay FROM outlets ORDER BY idx"
        )
        return [OutletRecord(i, n, bool(s), bool(lk), bool(c), d) for i, n, s, lk, c, d in rows]

    def save_outlets(self, records: Iterable[OutletRecord]) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO outlets (idx, name, state, locked, critical, cycle_delay)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (idx) DO UPDATE SET"
                " name = excluded.name, state = excluded.state, locked = excluded.locked,"
                " critical = excluded.critical, cycle_delay = excluded.cycle_delay",
                [(r.index, r.name, r.state, r.locked, r.critical, r.cycle_delay) for r in records],
            )

    # clients and their tokens
    def put_client(self, client: ClientRecord) -> int:
        """Register or replace a client and all its tokens in one transaction; returns revision."""
        with self.transaction(credentials=True) as conn:
            revision = int(self.get_setting("client_revision", 0)) + 1
            self.set_setting("client_revision", revision, conn)
            conn.execute("DELETE FROM clients WHERE id = ?", (client.id,))
            conn.execute(
                "INSERT INTO clients (id, name, scopes, redirect_urls, refresh_tokens, revision)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    client.id,
                    client.name,
                    json.dumps(list(client.scopes)),
                    json.dumps(client.redirect_urls),
                    json.dumps(client.refresh_tokens),
                    revision,
                ),
            )
            conn.executemany(
                "INSERT INTO tokens (client, hash, remaining) VALUES (?, ?, ?)",
                [
                    (client.id, digest, limits.get("remaining_use_count"))
                    for digest, limits in client.access_tokens.items()
                ],
            )
            return revision

    def delete_client(self, client_id: str, by: str = "the command line") -> bool:
        """Delete a client and its tokens and deny its id until an admin lifts the denial."""
        with self.transaction(credentials=True) as conn:
            if conn.execute("DELETE FROM clients WHERE id = ?", (client_id,)).rowcount == 0:
                return False
            conn.execute(
                "INSERT INTO denied_clients (id, at, by) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (client_id, time.time(), by),
            )
            return True

    def client(self, client_id: str) -> ClientRecord | None:
        conn = self.connection()
        row = conn.execute(
            "SELECT id, name, scopes, redirect_urls, refresh_tokens, revision FROM clients WHERE id = ?",
            (client_id,),
        ).fetchone()
        if row is None:
            return None
        tokens = {
            digest: ({} if remaining is None else {"remaining_use_count": remaining})
            for digest, remaining in conn.execute(
                "SELECT hash, remaining FROM tokens WHERE client = ? ORDER BY hash", (client_id,)
            )
        }
        return ClientRecord(
            row[0],
            row[1],
            tuple(json.loads(row[2])),
            json.loads(row[3]),
            json.loads(row[4]),
            tokens,
            row[5],
        )

    def client_ids(self) -> list[str]:
        return [r[0] for r in self.connection().execute("SELECT id FROM clients ORDER BY id")]

    def find_token(self, client_id: str, digest: str) -> TokenRecord | None:
        row = (
            self.connection()
            .execute(
                "SELECT c.id, c.name, c.revision, t.remaining, d.id IS NOT NULL FROM tokens t"
                " JOIN clients c ON c.id = t.client LEFT JOIN denied_clients d ON d.id = t.client"
                " WHERE t.client = ? AND t.hash = ?",
                (client_id, digest),
            )
            .fetchone()
        )
        return None if row is None else TokenRecord(*row[:4], denied=bool(row[4]))

    def spend_use(self, client_id: str, digest: str) -> bool:
        """Spend one use of a limited token in one statement: no read-then-write race."""
        cursor = self.connection().execute(
            "UPDATE tokens SET remaining = remaining - 1 WHERE client = ? AND hash = ? AND remaining > 0",
            (client_id, digest),
        )
        return cursor.rowcount == 1

    # audit trail: access decisions and events (changes) in two tables, each bounded, so a
    # flood of access lines never pushes out the record of a change
    def append_audit(self, lines: Iterable[tuple]) -> None:
        """Store (time, line) pairs, each in its table; part of this thread's open transaction if any.

        An event may be (time, line, subject, fields JSON): see Audit.record.
        """
        access, events = [], []
        for entry in lines:
            if entry[1].startswith(ACCESS_PREFIXES):
                access.append(entry[:2])
            else:
                events.append((*entry, None, None)[:4])
        with self.transaction() as conn:
            _insert_rows(conn, "audit (at, line)", access)
            _insert_rows(conn, "audit_events (at, line, subject, fields)", events)
            for table, rows in (("audit", access), ("audit_events", events)):
                if rows:
                    # ids only grow and only the oldest go: one indexed range
                    conn.execute(
                        f"DELETE FROM {table} WHERE id <= (SELECT MAX(id) FROM {table}) - ?",  # noqa: S608
                        (AUDIT_KEEP,),
                    )

    def audit_tail(self, limit: int = 100) -> list[tuple[float, str]]:
        """The last `limit` lines of both tables, oldest first, in the order they were recorded."""
        rows = self.connection().execute(
            "SELECT at, line FROM ("
            " SELECT at, line, id, 0 AS kind FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?)"
            " UNION ALL"
            " SELECT at, line, id, 1 FROM (SELECT * FROM audit_events ORDER BY id DESC LIMIT ?)"
            ") ORDER BY at DESC, kind DESC, id DESC LIMIT ?",
            (limit, limit, limit),
        )
        return rows.fetchall()[::-1]


def _insert_rows(conn: sqlite3.Connection, into: str, rows: list[tuple], chunk: int = 200) -> None:
    """INSERT many rows with one statement per `chunk` of them, not one per row.

    sqlite3 lets go of the GIL for every statement it steps; executemany steps once a row, and
    with a request thread waiting at each of those, a batch of audit lines would hand the GIL
    back and forth once a line. 200 rows of 4 columns stay under SQLite's oldest limit of 999
    parameters.
    """
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        marks = "(" + ", ".join("?" * len(part[0])) + ")"
        conn.execute(
            f"INSERT INTO {into} VALUES " + ", ".join([marks] * len(part)),  # noqa: S608
            list(itertools.chain.from_iterable(part)),
        )
