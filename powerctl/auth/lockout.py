"""Lock out an address after repeated failed logins, for config/lockout_delay_minutes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Lockout:
    """Counts consecutive authentication failures per address; a success resets the count."""

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
        self._failures: dict[str, int] = {}
        self._until: dict[str, float] = {}

    def locked(self, addr: str) -> float:
        """Seconds left in this address's lockout, 0 when it may try."""
        with self._lock:
            until = self._until.get(addr)
            if until is None:
                return 0.0
            left = until - self._clock()
            if left <= 0:
                del self._until[addr]
                return 0.0
            return left

    def failure(self, addr: str) -> bool:
        """Record a failure; True when this failure starts a lockout."""
        minutes = self._delay_minutes()
        with self._lock:
            count = self._failures.pop(addr, 0) + 1
            if count < self._max or minutes <= 0:
                if len(self._failures) >= self.MAX_ADDRESSES:
                    del self._failures[next(iter(self._failures))]
                self._failures[addr] = count  # re-inserted last: the dict stays oldest-first
                return False
            now = self._clock()
            if len(self._until) >= self.MAX_ADDRESSES:
                self._until = {a: t for a, t in self._until.items() if t > now}
            self._until[addr] = now + minutes * 60
            return True

    def success(self, addr: str) -> None:
        with self._lock:
            self._failures.pop(addr, None)
