"""Authentication: admins by HTTP Digest (or Basic over TLS), clients and sessions by bearer."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable

from flask import Flask, current_app, request

from powerctl.audit import Audit
from powerctl.auth.bearer import BearerVerifier, InvalidToken
from powerctl.auth.digest import StatelessDigest
from powerctl.auth.lockout import Lockout
from powerctl.auth.principal import Principal
from powerctl.auth.sessions import SessionService, looks_like_jwt
from powerctl.errors import Forbidden, Unauthorized
from powerctl.store import Database

__all__ = ["Authenticator", "Principal", "init_app"]


class Authenticator:
    """Turns a request's credentials into a Principal, or refuses with 401/403."""

    def __init__(self, db: Database, audit: Audit, config: dict, nonce_key: bytes):
        auth = config["auth"]
        self.digest = StatelessDigest(db, nonce_key, auth["realm"], auth["nonce_lifetime"])
        self.bearer = BearerVerifier(db, fleet_roles=config["fleet"])
        self.sessions = SessionService(db, self.bearer)
        self.lockout = Lockout(
            auth["max_failures"],
            lambda: db.get_setting("lockout_delay_minutes", auth["lockout_delay_minutes"]),
        )
        self._audit = audit
        self.realm = auth["realm"]
        self.observers: list[Callable[[str], None]] = []  # told "failure" and "lockout" (metrics)

    def authenticate(self, raw_target: str) -> Principal:
        environ = request.environ
        addr = environ.get("REMOTE_ADDR") or "unknown"
        left = self.lockout.locked(addr)
        if left:
            self._audit.denied(addr, f"access denied for {addr}: lockout, {int(left) + 1} s left")
            raise Forbidden(
                f"security lockout: too many failed logins from {addr}; try again in {int(left) + 1} s"
            )
        header = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, credentials = header.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            return self._bearer(credentials.strip(), addr)
        if scheme == "digest":
            user, stale = self.digest.verify(raw_target)
            if user:
                return self._admin(user, addr, "digest")
            reason = "stale digest nonce" if stale else "bad digest credentials"
            self._fail(addr, reason, count=not stale)
            raise Unauthorized(
                "authentication failed: " + reason, headers={"WWW-Authenticate": self.digest.challenge(stale)}
            )
        if scheme == "basic" and request.is_secure:
            user = self._basic(credentials.strip())
            if user:
                return self._admin(user, addr, "basic")
            self._fail(addr, "bad basic credentials")
        elif header:
            self._fail(addr, f"unsupported authorization scheme {scheme[:20]!r}")
        raise Unauthorized(
            "authentication required: use HTTP Digest or a bearer token",
            headers={"WWW-Authenticate": self.digest.challenge()},
        )

    def _bearer(self, credentials: str, addr: str) -> Principal:
        try:
            if looks_like_jwt(credentials):
                principal = self.sessions.verify(credentials, addr)
            else:
                client, name, grants, kind = self.bearer.verify_kind(credentials)
                # a peer synced from the fleet server shows as scheme "peer" (it may notify)
                scheme = "peer" if kind == "peer" else "bearer"
                principal = Principal(scheme, name, client, addr, grants)
        except InvalidToken as err:
            self._fail(addr, err.reason, count=err.counts_as_failure)
            raise Unauthorized(
                "invalid bearer token: " + err.reason.split(" for client")[0],
                headers={"WWW-Authenticate": f'Bearer realm="{self.realm}", error="invalid_token"'},
            ) from None
        self.lockout.success(addr)
        return principal

    def _basic(self, credentials: str) -> str | None:
        try:
            user, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        stored = self.digest.auth.get_password_callback(user)
        given = self.digest.ha1(user, password)
        return user if stored and hmac.compare_digest(stored, given) else None

    def _admin(self, user: str, addr: str, scheme: str) -> Principal:
        self.lockout.success(addr)
        return Principal(scheme, user, None, addr)

    def _fail(self, addr: str, reason: str, count: bool = True) -> None:
        self._audit.denied(addr, f"access denied for {addr}: {reason}")
        started = count and self.lockout.failure(addr)
        for observer in self.observers:
            observer("failure")
            if started:
                observer("lockout")
        if started:
            minutes = current_app.extensions["powerctl.db"].get_setting("lockout_delay_minutes")
            self._audit.record(f"lockout of {addr} started after repeated failed logins ({minutes} min)")


def authenticator() -> Authenticator:
    return current_app.extensions["powerctl.auth"]


def init_app(app: Flask, db: Database, audit: Audit, nonce_key: bytes) -> Authenticator:
    auth = Authenticator(db, audit, app.config["POWERCTL"], nonce_key)
    app.extensions["powerctl.auth"] = auth
    return auth
