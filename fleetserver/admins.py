"""Admin bearer tokens, kept by sha256 and named by a random id: listed by id, never shown again.

A token comes from one of three places (`source`): the environment (POWERCTL_FLEET_ADMIN_TOKEN:
at every start it replaces the one the environment gave before, so changing the variable and
restarting rotates it), generated at the first start when there is none, or made through the
admin API. Any of them may be revoked, except the last one (the API would be locked for good).
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from fleetserver.database import FleetDatabase
from fleetserver.errors import Clash, Missing
from fleetserver.models import AdminToken, iso


class Source(enum.StrEnum):
    ENVIRONMENT = "environment"
    GENERATED = "generated"
    API = "api"


@dataclass(frozen=True)
class Made:
    """A new token: its id, and the secret, shown once."""

    id: str
    token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_id() -> str:
    return secrets.token_hex(8)


def describe(row: AdminToken) -> dict:
    return {"id": row.id, "source": row.source, "label": row.label, "created": iso(row.created)}


class AdminTokens:
    def __init__(self, db: FleetDatabase):
        self.db = db

    def from_environment(self, token: str) -> str:
        """Make `token` the one environment token, revoking the one given before; its id."""
        digest = token_hash(token)
        try:
            return self._set_environment_token(digest)
        except IntegrityError:  # another instance added it at the same moment: it is there now
            return self._set_environment_token(digest)

    def _set_environment_token(self, digest: str) -> str:
        with self.db.writing() as session:
            session.execute(
                delete(AdminToken).where(
                    AdminToken.source == Source.ENVIRONMENT, AdminToken.token_hash != digest
                )
            )
            row = session.get(AdminToken, digest)
            if row is None:
                row = AdminToken(token_hash=digest, id=_new_id(), source=Source.ENVIRONMENT)
                session.add(row)
            row.source = Source.ENVIRONMENT
            return row.id

    def ensure_one(self) -> str | None:
        """A generated token when there is none at all (first start); None when there is one."""
        with self.db.writing() as session:
            if session.scalars(select(AdminToken.token_hash).limit(1)).first() is not None:
                return None
            token = secrets.token_urlsafe(32)
            session.add(AdminToken(token_hash=token_hash(token), id=_new_id(), source=Source.GENERATED))
            return token

    def create(self, label: str | None) -> Made:
        token = secrets.token_urlsafe(32)
        made = Made(_new_id(), token)
        with self.db.writing() as session:
            session.add(AdminToken(token_hash=token_hash(token), id=made.id, source=Source.API, label=label))
        return made

    def list(self) -> list[dict]:
        with self.db.reading() as session:
            rows = session.scalars(select(AdminToken).order_by(AdminToken.created, AdminToken.id))
            return [describe(row) for row in rows]

    def revoke(self, ident: str) -> None:
        with self.db.writing() as session:
            # every row locked: two revocations at once on PostgreSQL cannot remove the last two
            rows = list(session.scalars(select(AdminToken).with_for_update()))
            row = next((row for row in rows if row.id == ident), None)
            if row is None:
                raise Missing(f"no admin token {ident}")
            if len(rows) == 1:
                raise Clash("the last admin token cannot be revoked; create another one first")
            session.delete(row)

    def identify(self, token: str) -> str | None:
        """The id of the admin token `token`, or None. Looked up by its sha256: how long the
        lookup takes depends on the hash, which tells nothing about a token one does not hold."""
        with self.db.reading() as session:
            row = session.get(AdminToken, token_hash(token))
            return None if row is None else row.id
