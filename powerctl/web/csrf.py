"""CSRF tokens for the settings page: HMAC-signed, bound to the admin, valid for a while."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable


class CsrfTokens:
    """`<issued hex>.<HMAC-SHA256(key, user|issued)>`; the page sends it back in X-CSRF."""

    def __init__(self, key: bytes, lifetime: int = 12 * 3600, now: Callable[[], float] = time.time):
        self._key = key
        self.lifetime = lifetime
        self.now = now

    def _sign(self, user: str, stamp: str) -> str:
        return hmac.new(self._key, f"{user}|{stamp}".encode(), hashlib.sha256).hexdigest()

    def issue(self, user: str) -> str:
        stamp = f"{int(self.now()):x}"
        return f"{stamp}.{self._sign(user, stamp)}"

    def valid(self, user: str, token: str) -> bool:
        stamp, _, signature = token.partition(".")
        # bytes: compare_digest refuses non-ASCII str, and a header may carry anything
        if not hmac.compare_digest(self._sign(user, stamp).encode(), signature.encode("utf-8", "replace")):
            return False
        try:
            age = self.now() - int(stamp, 16)
        except ValueError:
            return False
        return -60 <= age <= self.lifetime
