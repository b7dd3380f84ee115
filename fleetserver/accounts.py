"""Accounts and their bearer tokens. An account owns controllers, CA certificates and
certificates; the operator (an admin token) makes accounts and their tokens and sees all.

An account token is `<tokenId>.<secret>`: it is found by its id, and its sha256 compared in
constant time with the stored one (only the hash is kept; the token is shown once).
"""

from __future__ import annotations

import hmac
import re
import secrets

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from fleetserver.admins import Made, token_hash
from fleetserver.database import FleetDatabase
from fleetserver.errors import Clash, Missing
from fleetserver.models import (
    DEFAULT_ACCOUNT,
    Account,
    AccountToken,
    CaCertificate,
    Certificate,
    Controller,
    iso,
)

ACCOUNT_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
TOKEN_ID = re.compile(r"[0-9a-f]{16}")
ARN_PREFIX = "urn:powerctl:fleet:"


def certificate_arn(account: str, certificate_id: str) -> str:
    """The certificate's URN: it names the owning account, so it changes with a transfer."""
    return f"{ARN_PREFIX}{account}:cert/{certificate_id}"


def ca_certificate_arn(account: str, certificate_id: str) -> str:
    return f"{ARN_PREFIX}{account}:cacert/{certificate_id}"


def locked(session: Session, ident: str, share: bool = True) -> Account:
    """The account row, locked so it cannot be deleted until the transaction ends (FOR SHARE:
    creations in one account do not wait for each other; `share=False`, FOR UPDATE, for its
    deletion); Missing when there is none."""
    query = select(Account).where(Account.id == ident).with_for_update(read=share)
    row = session.scalars(query).first()
    if row is None:
        raise Missing(f"no account {ident}")
    return row


def owns_anything(session: Session, ident: str) -> bool:
    return any(
        session.scalar(select(exists().where(model.account_id == ident)))
        for model in (Controller, CaCertificate, Certificate)
    ) or bool(session.scalar(select(exists().where(Certificate.transfer_to == ident))))


class Accounts:
    def __init__(self, db: FleetDatabase):
        self.db = db

    def create(self, ident: str) -> dict:
        with self.db.writing() as session:
            if session.get(Account, ident) is not None:
                raise Clash(f"account {ident} exists")
            row = Account(id=ident)
            session.add(row)
            session.flush()
            return {"id": row.id, "created": iso(row.created), "tokens": []}

    def list(self) -> list[dict]:
        with self.db.reading() as session:
            tokens: dict[str, list[dict]] = {}
            for token in session.scalars(
                select(AccountToken).order_by(AccountToken.created, AccountToken.id)
            ):
                tokens.setdefault(token.account_id, []).append(
                    {"tokenId": token.id, "created": iso(token.created)}
                )
            return [
                {"id": row.id, "created": iso(row.created), "tokens": tokens.get(row.id, [])}
                for row in session.scalars(select(Account).order_by(Account.created, Account.id))
            ]

    def exists(self, ident: str) -> bool:
        with self.db.reading() as session:
            return session.get(Account, ident) is not None

    def delete(self, ident: str) -> None:
        """409 while it owns a controller or certificate, or a transfer is pending to it."""
        if ident == DEFAULT_ACCOUNT:
            raise Clash("the default account cannot be deleted")
        with self.db.writing() as session:
            row = locked(session, ident, share=False)
            if owns_anything(session, ident):
                raise Clash(
                    f"account {ident} owns controllers or certificates (or one is being "
                    "transferred to it); delete or transfer them first"
                )
            session.delete(row)

    def create_token(self, account: str) -> Made:
        ident = secrets.token_hex(8)
        token = f"{ident}.{secrets.token_urlsafe(32)}"
        with self.db.writing() as session:
            locked(session, account)
            session.add(AccountToken(id=ident, account_id=account, token_hash=token_hash(token)))
        return Made(ident, token)

    def revoke_token(self, account: str, ident: str) -> None:
        with self.db.writing() as session:
            row = session.get(AccountToken, ident)
            if row is None or row.account_id != account:
                raise Missing(f"account {account} has no token {ident}")
            session.delete(row)

    def identify(self, token: str) -> tuple[str, str] | None:
        """(account, token id) of an account token, or None. The stored hash is compared in
        constant time; a token of the wrong shape is refused before any lookup."""
        ident, dot, _secret = token.partition(".")
        if not dot or not TOKEN_ID.fullmatch(ident):
            return None
        with self.db.reading() as session:
            row = session.get(AccountToken, ident)
            stored = row.token_hash if row is not None else "0" * 64
            if hmac.compare_digest(stored, token_hash(token)) and row is not None:
                return row.account_id, row.id
            return None
