"""Session tokens: short-lived JWTs (HS256, per-device key) naming a role, narrowed to bounds."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import jwt

import scopes
from powerctl.auth.bearer import BearerVerifier, InvalidToken
from powerctl.auth.principal import Principal
from powerctl.domain import SessionLimit
from powerctl.store import Database
from powerctl.store import roles as role_store
from powerctl.store.sessions import SessionRecord, add_session, session_state

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "role"]
MAX_TOKEN_CHARS = 4096
MAX_PER_CREATOR = 1000  # unexpired sessions, revoked or not


def looks_like_jwt(credentials: str) -> bool:
    """A JWT is three base64url parts and its header starts `{"` (eyJ); client tokens have one dot."""
    return credentials.startswith("eyJ") and credentials.count(".") == 2


def first_exceeding(holder: scopes.Grants, wanted: Iterable[scopes.Scope]) -> scopes.Scope | None:
    """The first wanted scope the holder's grants do not fully cover, or None: narrowing only."""
    for scope in wanted:
        if not holder.covers_scope(scope):
            return scope
    return None


# The bounds of a session: given its outlets (None for every outlet), the grants it may never
# pass, whatever its role says. The app builds them from its tree (resources.sessions.bounds).
Bounds = Callable[[tuple[int, ...] | None], scopes.Grants]
NOWHERE = scopes.GrantSet.compile(())  # until the app says otherwise, a session reaches nothing


@dataclass(frozen=True, slots=True)
class Issued:
    token: str
    expires: int
    jti: str


class SessionService:
    """Issues and verifies session tokens; `now` is the clock used to issue (tests inject it)."""

    def __init__(
        self,
        db: Database,
        bearer: BearerVerifier,
        now: Callable[[], float] = time.time,
        cache_size: int = 256,
    ):
        self._db = db
        self._bearer = bearer
        self.now = now
        self._key = bytes.fromhex(str(db.setting_or_create("session_key", lambda: secrets.token_hex(32))))
        self._cache: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()
        self._cache_size = cache_size
        self.bounds: Bounds = lambda _outlets: NOWHERE

    def issue(
        self,
        creator: Principal,
        whoami: str,
        role: role_store.RoleRecord,
        outlets: tuple[int, ...] | None,
        ttl: int,
    ) -> Issued:
        """Store and sign a new session; SessionLimit when the creator has too many unexpired ones."""
        issued = int(self.now())
        jti = secrets.token_urlsafe(16)
        creator_text = f"client {creator.client}" if creator.client else f"user {creator.name}"
        record = SessionRecord(
            jti, whoami, role.name, role.id, creator.client, creator_text, outlets, issued, issued + ttl
        )
        if not add_session(self._db, record, issued, MAX_PER_CREATOR):
            raise SessionLimit(
                f"{creator_text} already has {MAX_PER_CREATOR} sessions that have not"
                " expired; wait for some to expire or ask for shorter ttls"
            )
        claims: dict = {
            "sub": whoami,
            "role": role.name,
            "iat": issued,
            "exp": record.expires,
            "jti": jti,
            "creator": creator_text.replace(" ", ":", 1),
        }
        if outlets is not None:
            claims["outlets"] = list(outlets)
        return Issued(jwt.encode(claims, self._key, algorithm=ALGORITHM), record.expires, jti)

    def verify(self, token: str, addr: str) -> Principal:
        """The principal a session token stands for, or InvalidToken."""
        claims = self._decode(token)
        state = session_state(self._db, claims["jti"])
        role = claims["role"]
        if state is None:
            raise InvalidToken("session token unknown to this device")
        if state.revoked:
            raise InvalidToken(f"session token revoked (jwt:{claims['sub']})")
        if state.role_revision is None:
            # deleted, even if a role of that name was created since: a session is bound to the
            # role's id, not its name
            raise InvalidToken(f"session role {role!r} no longer exists (jwt:{claims['sub']})")
        role_grants = self._role_grants(role, state.role_revision)
        if state.client is not None:
            if state.client_revision is None or state.client_denied:
                raise InvalidToken(
                    f"session creator client {state.client!r} was deleted (jwt:{claims['sub']})"
                )
            if not self._narrow(role, state.role_revision, state.client, state.client_revision, role_grants):
                raise InvalidToken(
                    f"session role {role!r} now exceeds the scopes of its"
                    f" creator client {state.client!r} (jwt:{claims['sub']})"
                )
        outlets = claims.get("outlets")
        key = None if outlets is None else tuple(sorted(set(outlets)))
        bounds = self._cached(("bounds", key), lambda: self.bounds(key))
        grants = scopes.Narrowed(role_grants, bounds)  # type: ignore[arg-type]
        return Principal("bearer", "jwt:" + claims["sub"], None, addr, grants, role=role)

    def _decode(self, token: str) -> dict:
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("session token too long")
        try:
            # leeway 0: expired means exp <= now, to the second
            claims = jwt.decode(
                token, self._key, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS}, leeway=0
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("session token expired") from None
        except jwt.InvalidTokenError as err:
            # PyJWT's messages name the failed check, never the token's content
            raise InvalidToken(f"session token rejected: {str(err)[:80]}") from None
        outlets = claims.get("outlets")
        if not (
            all(isinstance(claims[k], str) for k in ("sub", "jti", "role"))
            and (outlets is None or (isinstance(outlets, list) and all(type(i) is int for i in outlets)))
        ):
            raise InvalidToken("session token claims have the wrong types")
        return claims

    def _role_grants(self, role: str, revision: int) -> scopes.GrantSet:
        def compile_role() -> scopes.GrantSet:
            record = role_store.role(self._db, role)
            texts = record.scopes if record is not None and record.revision == revision else ()
            return scopes.GrantSet.compile(texts)

        return self._cached(("role", role, revision), compile_role)  # type: ignore[return-value]

    def _narrow(
        self, role: str, revision: int, client: str, client_revision: int, role_grants: scopes.GrantSet
    ) -> bool:
        def check() -> bool:
            holder = self._bearer.grants(client, client_revision)
            return first_exceeding(holder, role_grants) is None

        return self._cached(("narrow", role, revision, client, client_revision), check)  # type: ignore[return-value]

    def _cached(self, key: tuple, make: Callable[[], object]) -> object:
        """Answers keyed by revisions never go stale: a change makes a new key."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = make()
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return value
