"""HTTP Digest for admins with stateless nonces: HMAC-signed and time-limited, no session."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time

from flask_httpauth import HTTPDigestAuth

from powerctl.store import Database, replays

MIN_PASSWORD = 8  # characters; docs/security.md "Users and passwords"
FACTORY_PASSWORDS = frozenset({"1234"})  # DLI's factory password


def ha1(user: str, realm: str, password: str) -> str:
    """The digest HA1 of a password, md5(user:realm:password): all the store keeps of it."""
    # MD5 is what RFC 2617 digest (and DLI) use
    return hashlib.md5(f"{user}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if password in FACTORY_PASSWORDS:
        return "the factory password 1234 is refused"
    if len(password) < MIN_PASSWORD:
        return f"a password has at least {MIN_PASSWORD} characters"
    return None


class StatelessDigest:
    """Digest verification on top of flask-httpauth, with nonces any worker can check."""

    def __init__(self, db: Database, key: bytes, realm: str, lifetime: int):
        self._db = db
        self._key = key
        self.lifetime = lifetime
        self.auth = HTTPDigestAuth(realm=realm, use_ha1_pw=True, qop="auth")
        self.auth.generate_nonce(self._new_nonce)
        self.auth.verify_nonce(self._nonce_is_fresh)
        self.auth.generate_opaque(self._opaque)
        self.auth.verify_opaque(self._opaque_matches)
        self.auth.get_password(self._db.user_ha1)
        self._replays = SeenResponses(db, lifetime + 5)

    def ha1(self, user: str, password: str) -> str:
        return ha1(user, self.auth.realm, password)

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()[:32]

    def _new_nonce(self) -> str:
        stamp = f"{int(time.time()):x}.{secrets.token_hex(8)}"
        return f"{stamp}.{self._sign(stamp)}"

    def _nonce_state(self, nonce: str | None) -> str:
        """'fresh', 'stale' (ours but expired) or 'bad'."""
        if not nonce or nonce.count(".") != 2:
            return "bad"
        stamp, _, signature = nonce.rpartition(".")
        if not hmac.compare_digest(self._sign(stamp), signature):
            return "bad"
        try:
            issued = int(stamp.split(".")[0], 16)
        except ValueError:
            return "bad"
        age = time.time() - issued
        return "fresh" if -5 <= age <= self.lifetime else "stale"

    def _nonce_is_fresh(self, nonce: str | None) -> bool:
        return self._nonce_state(nonce) == "fresh"

    def _opaque(self) -> str:
        return self._sign("opaque")

    def _opaque_matches(self, opaque: str | None) -> bool:
        return opaque is not None and hmac.compare_digest(self._opaque(), opaque)

    def challenge(self, stale: bool = False) -> str:
        header = self.auth.authenticate_header()
        return header + (",stale=TRUE" if stale else "")

    def verify(self, raw_target: str) -> tuple[str | None, bool, str]:
        """Check the request's Digest credentials: (user or None, whether the nonce was stale, why not)."""
        creds = self.auth.get_auth()
        if creds is None:
            return None, False, "bad digest credentials"
        refused = self._not_offered(creds)
        if refused:
            return None, False, refused
        # The response hash covers `uri`; it must be this request's target, byte for byte,
        # or a captured answer for one URL would open another.
        if not creds.uri or not hmac.compare_digest(creds.uri.encode(), raw_target.encode()):
            return None, False, "bad digest credentials"
        ha1 = self.auth.get_auth_password(creds)
        if ha1 and self.auth.authenticate(creds, ha1):
            if not self._replays.first_use(creds.nonce, creds.response):
                # stale=TRUE: a client that resent it retries with a new nonce
                return None, True, "digest answer already used"
            return creds.username, False, ""
        return None, self._nonce_state(creds.nonce) == "stale", "bad digest credentials"

    def _not_offered(self, creds) -> str:
        """Why an answer uses what the challenge did not offer (MD5, qop=auth), or ""."""
        algorithm = creds.get("algorithm")
        if algorithm is not None and algorithm.upper() != "MD5":
            # the client's word is not repeated: it is text from the Authorization header
            return "digest algorithm not offered: answer with algorithm=MD5, the only one offered"
        # RFC 2069 answers (no qop) hash neither a client nonce nor a count: refused
        if creds.qop != "auth" or not _NC.fullmatch(creds.nc or "") or not creds.cnonce:
            return 'digest answer without qop=auth, nc and cnonce: only qop="auth" is offered'
        if creds.realm != self.auth.realm:
            return "bad digest credentials"
        return ""


_NC = re.compile(r"[0-9a-fA-F]{8}")


class SeenResponses:
    """Digest answers already accepted, kept while their nonce is fresh, so none is taken twice.

    A response hash covers the nonce, the client's nonce count and cnonce, the method and the
    target: a client's next request has a new one, a captured request resent does not. The
    answers are kept in the store, so every process serving the data directory refuses an
    answer another one took; they are forgotten once their nonce has expired.
    """

    PRUNE_EVERY = 10.0  # seconds between deletions of expired answers, per process

    def __init__(self, db: Database, keep_seconds: float):
        self._db = db
        self._keep = keep_seconds
        self._pruned = 0.0
        self._lock = threading.Lock()

    def first_use(self, nonce: str, response: str) -> bool:
        now = time.time()
        with self._lock:
            prune = now - self._pruned >= self.PRUNE_EVERY
            if prune:
                self._pruned = now
        if prune:
            replays.forget_before(self._db, now - self._keep)
        return replays.first_use(self._db, nonce, response, now)
