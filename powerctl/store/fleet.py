"""Credentials synced from a fleet server: separate tables, replaced whole in one transaction."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence

from powerctl.store.db import Database
from powerctl.store.records import TokenRecord

Certificate = tuple[str, str, str]  # (certificate, private, public_parent), PEM texts


class StaleBundle(Exception):
    """The bundle's version is lower than the one held; nothing was changed."""

    def __init__(self, version: int, held: int):
        super().__init__(f"bundle version {version} is lower than the version held ({held})")
        self.version = version
        self.held = held


def held_version(db: Database) -> int | None:
    return db.get_setting("fleet_version")


def replace(
    db: Database,
    version: int,
    clients: Mapping[str, Sequence[str]],
    peers: Mapping[str, tuple[str, Sequence[str]]],
    certificates: Sequence[Certificate] | None,
    before_commit: Callable[[], None] | None = None,
) -> None:
    """Replace every synced credential, or nothing: one transaction, checked against the version.

    `certificates` None keeps the ones held. `before_commit` runs last inside the transaction
    (it writes the new certificate files beside the served ones); if it raises, nothing is
    changed. The credentials
    generation is bumped after the commit, so cached verifications of dropped tokens die.
    """
    with db.transaction(credentials=True) as conn:
        held = db.get_setting("fleet_version")
        if held is not None and version < held:
            raise StaleBundle(version, held)
        conn.execute("DELETE FROM fleet_tokens")
        conn.execute("DELETE FROM fleet_peers")
        conn.executemany(
            "INSERT INTO fleet_tokens (client, hash, peer, token) VALUES (?, ?, 0, NULL)"
            " ON CONFLICT DO NOTHING",
            [(uuid, digest.lower()) for uuid, digests in clients.items() for digest in digests],
        )
        conn.executemany(
            "INSERT INTO fleet_peers (id, serial) VALUES (?, ?)",
            [(uuid, serial) for uuid, (serial, _tokens) in peers.items()],
        )
        # A peer token wins over a client hash of the same text: the peer may call us back.
        conn.executemany(
            "INSERT INTO fleet_tokens (client, hash, peer, token) VALUES (?, ?, 1, ?)"
            " ON CONFLICT DO UPDATE SET peer = 1, token = excluded.token",
            [
                (uuid, hashlib.sha256(token.encode()).hexdigest(), token)
                for uuid, (_serial, tokens) in peers.items()
                for token in tokens
            ],
        )
        if certificates is not None:
            conn.execute("DELETE FROM fleet_certificates")
            conn.executemany(
                "INSERT INTO fleet_certificates (position, certificate, private, public_parent)"
                " VALUES (?, ?, ?, ?)",
                [(position, *entry) for position, entry in enumerate(certificates)],
            )
        db.set_setting("fleet_version", version, conn)
        if before_commit is not None:
            before_commit()


def find_token(db: Database, client_id: str, digest: str) -> TokenRecord | None:
    """A synced client or peer token, as a TokenRecord of kind "fleet" or "peer"."""
    row = (
        db.connection()
        .execute(
            "SELECT t.peer, p.serial, d.id IS NOT NULL FROM fleet_tokens t"
            " LEFT JOIN fleet_peers p ON t.peer = 1 AND p.id = t.client"
            " LEFT JOIN denied_clients d ON d.id = t.client"
            " WHERE t.client = ? AND t.hash = ?",
            (client_id, digest),
        )
        .fetchone()
    )
    if row is None:
        return None
    peer, serial, denied = row
    name = f"peer {serial}" if peer else client_id
    return TokenRecord(client_id, name, 0, None, denied=bool(denied), kind="peer" if peer else "fleet")


def peer_serial(db: Database, peer_id: str) -> str | None:
    """The serial of a synced peer, or None when `peer_id` is not one."""
    row = db.connection().execute("SELECT serial FROM fleet_peers WHERE id = ?", (peer_id,)).fetchone()
    return None if row is None else row[0]


def peer_tokens(db: Database) -> dict[str, tuple[str, list[str]]]:
    """Each peer's serial and plain tokens, to call it (never log these)."""
    conn = db.connection()
    peers = {
        uuid: (serial, []) for uuid, serial in conn.execute("SELECT id, serial FROM fleet_peers ORDER BY id")
    }
    for uuid, token in conn.execute(
        "SELECT client, token FROM fleet_tokens WHERE peer = 1 ORDER BY client, token"
    ):
        if uuid in peers:
            peers[uuid][1].append(token)
    return peers


def certificates(db: Database) -> list[Certificate]:
    return [
        tuple(row)
        for row in db.connection().execute(  # type: ignore[misc]
            "SELECT certificate, private, public_parent FROM fleet_certificates ORDER BY position"
        )
    ]


def counts(db: Database) -> tuple[int, int]:
    """(synced clients, synced peers)."""
    conn = db.connection()
    clients = conn.execute("SELECT COUNT(DISTINCT client) FROM fleet_tokens WHERE peer = 0")
    peers = conn.execute("SELECT COUNT(*) FROM fleet_peers")
    return clients.fetchone()[0], peers.fetchone()[0]


def record_attempt(db: Database, error: str | None) -> None:
    """Remember the outcome of a sync attempt for GET /restapi/auth/fleet/."""
    with db.transaction() as conn:
        if error is None:
            db.set_setting("fleet_last_sync", time.time(), conn)
        db.set_setting("fleet_last_error", error, conn)


def status(db: Database) -> dict:
    return {
        "version": db.get_setting("fleet_version"),
        "last_sync": db.get_setting("fleet_last_sync"),
        "last_error": db.get_setting("fleet_last_error"),
    }


def promote(db: Database, position: int, before_commit: Callable[[], None]) -> None:
    """Make the held certificate at `position` current[0], dropping those before it."""
    with db.transaction() as conn:
        conn.execute("DELETE FROM fleet_certificates WHERE position < ?", (position,))
        conn.execute("UPDATE fleet_certificates SET position = position - ?", (position,))
        before_commit()
