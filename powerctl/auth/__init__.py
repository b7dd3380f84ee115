"""Authentication: admins by HTTP Digest (or Basic over TLS), clients and sessions by bearer."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from functools import lru_cache

from flask import Flask, current_app, request

import scopes
from powerctl.audit import Audit
from powerctl.auth.bearer import BearerVerifier, InvalidToken, scheme_for_log
from powerctl.auth.digest import StatelessDigest
from powerctl.auth.lockout import Lockout, claimed_identity
from powerctl.auth.principal import Principal
from powerctl.auth.sessions import SessionService, looks_like_jwt
from powerctl.errors import Forbidden, Unauthorized
from powerctl.store import Database
from powerctl.store import users as user_store

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
        self._db = db
        self.realm = auth["realm"]
        self.observers: list[Callable[[str], None]] = []  # told "failure" and "lockout" (metrics)

    def authenticate(self, raw_target: str, environ: dict | None = None) -> Principal:
        if environ is None:
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
            user, stale, reason = self.digest.verify(raw_target)
            if user:
                return self._admin(user, addr, "digest")
            reason = "stale digest nonce" if stale else reason
            self._fail(addr, reason, count=not stale)
            raise Unauthorized(
                "authentication failed: " + reason, headers={"WWW-Authenticate": self.digest.challenge(stale)}
            )
        if scheme == "basic" and not request.is_secure and not self._plaintext_logins():
            self._audit.denied(addr, f"access denied for {addr}: basic credentials over plain HTTP")
            raise Unauthorized(
                "Basic authentication over plain HTTP is off (config/allow_plaintext_logins/ is false):"
                " use HTTPS, or HTTP Digest",
                headers={"WWW-Authenticate": self.digest.challenge()},
            )
        if scheme == "basic":
            user = self._basic(credentials.strip())
            if user:
                return self._admin(user, addr, "basic")
            self._fail(addr, "bad basic credentials")
        elif header:
            # the word before the first space may be a whole credential sent without a scheme
            self._fail(addr, "unsupported authorization: " + scheme_for_log(scheme))
        raise Unauthorized(
            "authentication required: use HTTP Digest or a bearer token",
            headers={"WWW-Authenticate": self.digest.challenge()},
        )

    def _plaintext_logins(self) -> bool:
        return bool(self._db.get_setting("allow_plaintext_logins", False))

    def password_login(self, user: str, password: str, addr: str) -> Principal:
        """An admin's login by name and password (a Redfish session); failures count toward lockout."""
        left = self.lockout.locked(addr)
        if left:
            self._audit.denied(addr, f"access denied for {addr}: lockout, {int(left) + 1} s left")
            raise Forbidden(
                f"security lockout: too many failed logins from {addr}; try again in {int(left) + 1} s"
            )
        stored = self.digest.auth.get_password_callback(user)
        identity = f"user:{user[:64]}"  # the secret a session login tries, as digest's would
        if stored and hmac.compare_digest(stored, self.digest.ha1(user, password)):
            self._succeeded(addr, identity)
            return Principal("password", user, None, addr, self.user_grants(user))
        self._fail(addr, "bad user name or password", identity=identity)
        raise Unauthorized("authentication failed: bad user name or password")

    def client_principal(self, client_id: str, scheme: str, addr: str) -> Principal | None:
        """A registered client acting through another surface (MQTT, pdudaemon), with its scopes;
        None when it is not registered or is denied."""
        from powerctl.store.credentials import denial

        db = self._db
        record = db.client(client_id)
        if record is None or denial(db, client_id) is not None:
            return None
        return Principal(scheme, record.name, client_id, addr, self.bearer.grants(client_id, record.revision))

    def refuse(self, addr: str, reason: str, identity: str | None = None) -> None:
        """Count and audit a failed credential that another surface checked (a session token)."""
        self._fail(addr, reason, identity=identity)

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
        self._succeeded(addr)
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
        """A user who gave its password: an admin, or a user with the grants of its record."""
        self._succeeded(addr)
        return Principal(scheme, user, None, addr, self.user_grants(user))

    def user_grants(self, user: str) -> scopes.GrantSet | None:
        """None (everything) for an admin; for another user the scopes of its record.

        Read from the store on every login, so a change (by the CLI too) holds from the next
        request; only the compiled set is remembered, keyed by what it is compiled from.
        """
        record = user_store.user(self._db, user)
        if record is not None and record.is_admin:
            return None
        outlets = () if record is None else record.outlet_access
        return _user_grants(user, tuple(i for i, allowed in enumerate(outlets) if allowed))

    def _succeeded(self, addr: str, identity: str | None = None) -> None:
        if self.lockout.counting(addr):  # most addresses have no failures: nothing to parse
            self.lockout.success(addr, identity or claimed_identity(request.authorization))

    def _fail(self, addr: str, reason: str, count: bool = True, identity: str | None = None) -> None:
        self._audit.denied(addr, f"access denied for {addr}: {reason}")
        started = count and self.lockout.failure(addr, identity or claimed_identity(request.authorization))
        for observer in self.observers:
            observer("failure")
            if started:
                observer("lockout")
        if started:
            minutes = self._db.get_setting("lockout_delay_minutes")
            self._audit.record(f"lockout of {addr} started after repeated failed logins ({minutes} min)")


def user_scopes(user: str, outlets: tuple[int, ...]) -> list[str]:
    """What a non-admin user may do, as scopes: switch and cycle its outlets (DLI's
    outlet_access), read them and the relay's name, and see and change its own record."""
    texts = ["/relay/name/?access=get", f"/auth/users/{user}/?access=get,modify"]
    if outlets:
        keys = ",".join(map(str, outlets))
        texts += [
            f"/relay/outlets/={keys}/?access=get",
            f"/relay/outlets/={keys}/=state,transient_state/?access=modify",
            f"/relay/outlets/={keys}/cycle/?access=invoke",
        ]
    return texts


@lru_cache(maxsize=256)
def _user_grants(user: str, outlets: tuple[int, ...]) -> scopes.GrantSet:
    return scopes.GrantSet.compile(scopes.parse_scope(text) for text in user_scopes(user, outlets))


def authenticator() -> Authenticator:
    return current_app._get_current_object().extensions["powerctl.auth"]  # no proxied attribute


def init_app(app: Flask, db: Database, audit: Audit, nonce_key: bytes) -> Authenticator:
    auth = Authenticator(db, audit, app.config["POWERCTL"], nonce_key)
    app.extensions["powerctl.auth"] = auth
    return auth
