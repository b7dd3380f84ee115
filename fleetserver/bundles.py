"""Built sync bundles, kept by (controller, version) until the next change."""

from __future__ import annotations

import datetime
import threading
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Built:
    """A controller's bundle at one version, and its HTTPS pairs' expiry (for renewal checks)."""

    result: dict
    current_expires: datetime.datetime
    next_expires: datetime.datetime | None


class Bundles:
    """Bundles by (controller, version), the most recently used `size` of them: a version
    changes with everything a bundle holds, so one built is good until the next change."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._built: OrderedDict[tuple[int, int], Built] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int]) -> Built | None:
        with self._lock:
            built = self._built.get(key)
            if built is not None:
                self._built.move_to_end(key)
            return built

    def put(self, key: tuple[int, int], built: Built) -> None:
        with self._lock:
            self._built[key] = built
            while len(self._built) > self.size:
                self._built.popitem(last=False)
