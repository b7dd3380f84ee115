"""Digest answers already accepted, kept in the store so every process of a data directory sees them."""

from __future__ import annotations

from powerctl.store.db import Database


def first_use(db: Database, nonce: str, response: str, at: float) -> bool:
    """Record an accepted answer; False when any process recorded it before (a replay).

    One INSERT on the primary key decides, so two processes racing on one answer cannot both
    take it.
    """
    cursor = db.connection().execute(
        "INSERT INTO digest_answers (nonce, response, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (nonce, response, at),
    )
    return cursor.rowcount == 1


def forget_before(db: Database, at: float) -> None:
    """Drop the answers recorded before `at`: their nonces have expired."""
    db.connection().execute("DELETE FROM digest_answers WHERE at < ?", (at,))
