"""Bearer tokens of API clients: `Authorization: Bearer <client>.<base64url token>`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import threading
from collections import OrderedDict

import scopes
from powerctl.store import Database, TokenRecord
from powerctl.store import fleet as fleet_store
from powerctl.store import roles as role_store

# The scopes of synced clients and peers when [fleet] names no role: read-only.
DEFAULT_FLEET_SCOPE = "/?access=get"

# The client id, one dot, then unpadded base64url (padding tolerated).
_TOKEN = re.compile(r"([A-Za-z0-9][A-Za-z0-9-]{0,63})\.([A-Za-z0-9_-]{1,1024}={0,2})")
_URLSAFE = bytes.maketrans(b"-_", b"+/")  # base64url's two letters as standard base64's


class InvalidToken(Exception):
    """The bearer credentials are malformed, unknown or used up; `reason` is for the log only."""

    def __init__(self, reason: str, *, counts_as_failure: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.counts_as_failure = counts_as_failure


def token_hash(raw: bytes) -> str:
    """The stored form of a token: sha256 of the raw bytes, lowercase hex."""
    return hashlib.sha256(raw).hexdigest()


def encode_token(raw: bytes) -> str:
    """The sent form of a token: base64url without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# Authorization schemes of the IANA registry (and NTLM); only these words are ever logged.
KNOWN_SCHEMES = {
    word.lower(): word
    for word in (
        "Basic Bearer Digest DPoP GNAP HOBA Mutual Negotiate NTLM OAuth PrivateToken"
        " SCRAM-SHA-1 SCRAM-SHA-256 vapid Concealed AWS4-HMAC-SHA256"
    ).split()
}


def scheme_for_log(word: str) -> str:
    """An Authorization scheme as log lines may name it: a known word, else "unknown scheme"."""
    known = KNOWN_SCHEMES.get(word.lower())
    return f"scheme {known}" if known else "unknown scheme"


def parse(credentials: str) -> tuple[str, str]:
    """Split `<client>.<b64>` at the first dot and return (client, sha256 hex of the token)."""
    match = _TOKEN.fullmatch(credentials)
    if match is None:
        raise InvalidToken("bearer credentials are not <client>.<base64url token>")
    client, encoded = match.groups()
    encoded = encoded.rstrip("=")
    if len(encoded) % 4 == 1:
        raise InvalidToken("token is not valid base64url")
    try:
        # what b64decode(altchars=b"-_", validate=True) does, without building its table each call
        raw = binascii.a2b_base64(
            (encoded + "=" * (-len(encoded) % 4)).encode().translate(_URLSAFE), strict_mode=True
        )
    except binascii.Error as err:
        raise InvalidToken("token is not valid base64url") from err
    return client, token_hash(raw)


class BearerVerifier:
    """Checks client tokens, spends their uses and hands out compiled grant sets."""

    MAX_KNOWN = 10_000

    def __init__(self, db: Database, cache_size: int = 256, fleet_roles: dict | None = None):
        self._db = db
        # role name (None: DEFAULT_FLEET_SCOPE) for each synced kind, from [fleet]
        self._fleet_roles = {
            "fleet": (fleet_roles or {}).get("client_role"),
            "peer": (fleet_roles or {}).get("peer_role"),
        }
        self._grants: OrderedDict[tuple[str, int], scopes.GrantSet] = OrderedDict()
        self._lock = threading.Lock()
        self._cache_size = cache_size
        # Unlimited tokens seen valid, keyed by (client, hash) and tagged with the credentials
        # generation they were read at: any change to clients or tokens, in any process,
        # makes every entry stale. Limited tokens always go to the store to spend a use. A local
        # client's entry that was allowed also holds its compiled grants, so a repeated request
        # needs neither the store nor the grants cache and its lock.
        self._known: dict[tuple[str, str], tuple[int, TokenRecord, scopes.GrantSet | None]] = {}

    def verify(self, credentials: str) -> tuple[str, str, scopes.GrantSet]:
        """Return (client id, display name, grants) or raise InvalidToken; spends one use."""
        client, name, grants, _kind = self.verify_kind(credentials)
        return client, name, grants

    def verify_kind(self, credentials: str) -> tuple[str, str, scopes.GrantSet, str]:
        """verify(), plus the kind of credential: "local", "fleet" (synced client) or "peer"."""
        client, digest = parse(credentials)
        generation, record, remembered = self._lookup(client, digest)
        if remembered is not None:
            # unlimited, not denied and local when it was remembered, and nothing changed since
            return client, record.client_name, remembered, "local"  # type: ignore[union-attr]
        if record is None:
            # The id of an unregistered client is only text from the header (a pasted secret,
            # perhaps): it is named only when it is a registered client.
            if self._db.client(client) is None:
                raise InvalidToken("unknown client or token")
            raise InvalidToken(f"unknown client or token for client {client!r}")
        if record.denied:
            # checked before spending: a deleted client's token is refused whole, use kept
            raise InvalidToken(f"denied client: token refused for client {client!r}")
        if record.remaining is not None and not self._db.spend_use(client, digest):
            raise InvalidToken(f"token of client {client!r} has no uses left", counts_as_failure=False)
        if record.kind != "local":
            return client, record.client_name, self.role_grants(record.kind), record.kind
        grants = self.grants(client, record.revision)
        if record.remaining is None:
            # still tagged with the generation the record was read at
            self._known[(client, digest)] = (generation, record, grants)
        return client, record.client_name, grants, record.kind

    def _lookup(self, client: str, digest: str) -> tuple[int, TokenRecord | None, scopes.GrantSet | None]:
        """(credentials generation read, the token's record, its remembered grants or None)."""
        generation = self._db.credentials.value()
        known = self._known.get((client, digest))
        if known is not None and known[0] == generation:
            return known
        record = self._db.find_token(client, digest)
        if record is None:  # not local: synced from the fleet server, never use-limited
            record = fleet_store.find_token(self._db, client, digest)
        if record is not None and record.remaining is None:
            if len(self._known) >= self.MAX_KNOWN:
                self._known.clear()
            # Tagged with the generation read before the lookup, so a change racing with it
            # leaves the entry stale rather than wrongly fresh.
            self._known[(client, digest)] = (generation, record, None)
        return generation, record, None

    def role_grants(self, kind: str) -> scopes.GrantSet:
        """The grants of a synced client or peer: its [fleet] role's scopes, read each time."""
        name = self._fleet_roles[kind]
        if name is None:
            key, texts = ("@fleet", 0), (DEFAULT_FLEET_SCOPE,)
        else:
            record = role_store.role(self._db, name)  # a missing role grants nothing
            key = ("@role:" + name, record.revision if record else -1)
            texts = record.scopes if record else ()
        return self._compiled(key, texts)

    def grants(self, client: str, revision: int) -> scopes.GrantSet:
        """The client's grant set, compiled once per registration revision."""
        key = (client, revision)
        with self._lock:
            cached = self._grants.get(key)
            if cached is not None:
                self._grants.move_to_end(key)
                return cached
        record = self._db.client(client)
        texts = record.scopes if record is not None and record.revision == revision else ()
        return self._compiled(key, texts)

    def _compiled(self, key: tuple[str, int], texts) -> scopes.GrantSet:
        with self._lock:
            cached = self._grants.get(key)
            if cached is not None:
                self._grants.move_to_end(key)
                return cached
        compiled = scopes.GrantSet.compile(scopes.parse_scope(text) for text in texts)
        with self._lock:
            self._grants[key] = compiled
            while len(self._grants) > self._cache_size:
                self._grants.popitem(last=False)
        return compiled
