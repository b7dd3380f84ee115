"""Lock out an address after repeated failed logins, for config/lockout_delay_minutes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from werkzeug.datastructures import Authorization


def claimed_identity(authorization: Authorization | None) -> str | None:
    """Whose secret a request's credentials try: `user:NAME`, `client:ID`, `session` or None.

    Read from the header whether or not the credentials hold: a failure is counted under the
    identity it tried, a success clears only that identity's count. None (no user, an unknown
    scheme, a malformed token) tries no secret. Never logged.
    """
    if authorization is None:
        return None
    if authorization.type in ("digest", "basic"):
        name = authorization.username
        return f"user:{name[:64]}" if name else None
    if authorization.type == "bearer" and authorization.token:
        token = authorization.token.strip()
        # a session JWT is signed by this device, so a wrong one guesses no secret
        if token.startswith("eyJ") and token.count(".") == 2:
            return "session"
        client = token.partition(".")[0]
        return f"client:{client[:64]}" if client else None
    return None


class Lockout:
    """Counts authentication failures per address, and within it per identity they claimed.

    An address is locked out when its failures, over all identities, reach `max_failures`.
    A success clears only the failures of its own identity (and those that claimed none): a
    valid client token used from an address does not wipe the wrong admin passwords tried from
    it, so interleaving them never escapes the lockout.
    """

    MAX_ADDRESSES = 100_000  # beyond this the oldest failure counts are forgotten, not lockouts

    def __init__(
        self,
        max_failures: int,
        delay_minutes: Callable[[], float],
        clock: Callable[[], float] = time.monotonic,
    ):
        self._max = max_failures
        self._delay_minutes = delay_minutes
        self._clock = clock
        self._lock = threading.Lock()
        # address -> identity -> count; an address holds fewer than max_failures identities
        self._failures: dict[str, dict[str | None, int]] = {}
        self._until: dict[str, float] = {}

    def locked(self, addr: str) -> float:
        """Seconds left in this address's lockout, 0 when it may try."""
        if addr not in self._until:  # nearly every request: no lock taken (a dict read is atomic)
            return 0.0
        with self._lock:
            until = self._until.get(addr)
            if until is None:
                return 0.0
            left = until - self._clock()
            if left <= 0:
                del self._until[addr]
                return 0.0
            return left

    def failure(self, addr: str, identity: str | None = None) -> bool:
        """Record a failure by `identity` from `addr`; True when this failure starts a lockout."""
        minutes = self._delay_minutes()
        with self._lock:
            counts = self._failures.pop(addr, {})
            if minutes <= 0:  # lockout disabled: nothing to count toward
                return False
            counts[identity] = counts.get(identity, 0) + 1
            if sum(counts.values()) < self._max:
                if len(self._failures) >= self.MAX_ADDRESSES:
                    del self._failures[next(iter(self._failures))]
                self._failures[addr] = counts  # re-inserted last: the dict stays oldest-first
                return False
            now = self._clock()
            if len(self._until) >= self.MAX_ADDRESSES:
                self._until = {a: t for a, t in self._until.items() if t > now}
            self._until[addr] = now + minutes * 60
            return True

    def counting(self, addr: str) -> bool:
        """Whether failures from `addr` are being counted (a cheap look, without the lock)."""
        return addr in self._failures

    def success(self, addr: str, identity: str | None = None) -> None:
        """Clear the failures `identity` (and no identity) made from `addr`; others stay."""
        with self._lock:
            counts = self._failures.get(addr)
            if counts is None:
                return
            counts.pop(identity, None)
            counts.pop(None, None)
            if not counts:
                del self._failures[addr]
