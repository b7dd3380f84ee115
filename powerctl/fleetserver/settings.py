"""Server-wide values kept in the database, so every fleet server instance shares them."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable

from sqlalchemy import select

from powerctl.fleetserver import pki
from powerctl.fleetserver.database import Database
from powerctl.fleetserver.models import AdminToken, Setting


def _get_or_create(db: Database, key: str, make: Callable[[], str]) -> str:
    with db.writing() as session:
        row = session.get(Setting, key)
        if row is None:
            row = Setting(key=key, value=make())
            session.add(row)
        return row.value


def fleet_peer_uuid(db: Database) -> str:
    """The UUID the fleet server has as a peer in every controller's bundle."""
    return _get_or_create(db, "fleet_peer_uuid", lambda: str(uuid.uuid4()))


def registration_code(db: Database) -> str:
    """The CN a CA's verification certificate must carry to prove possession of the CA key."""
    return _get_or_create(db, "registration_code", lambda: secrets.token_hex(32))


def issuer(db: Database) -> tuple[str, str]:
    """The CA that issues controllers' HTTPS certificates: (cert PEM, key PEM)."""
    pair = _get_or_create(db, "issuer", lambda: json.dumps(pki.new_issuer()))
    cert, key = json.loads(pair)
    return cert, key


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_admin_token(db: Database, token: str) -> None:
    digest = token_hash(token)
    with db.writing() as session:
        if session.get(AdminToken, digest) is None:
            session.add(AdminToken(token_hash=digest))


def has_admin(db: Database) -> bool:
    with db.reading() as session:
        return session.scalars(select(AdminToken).limit(1)).first() is not None


def is_admin(db: Database, token: str) -> bool:
    with db.reading() as session:
        return session.get(AdminToken, token_hash(token)) is not None
