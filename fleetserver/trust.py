"""The registered CAs as one PEM file for the TLS layer, kept in step with the database."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from fleetserver.certificates import Certificates
from fleetserver.files import write_private

log = logging.getLogger("powerctl.fleet")


def trust_file(data_dir: str) -> Path:
    """The file the TLS layer re-reads when it changes (`serve.trusting_context`)."""
    return Path(data_dir) / "tls" / "controller-cas.pem"


class TrustFile:
    """Rewritten after a CA change here, and every `interval` seconds from the database, so CAs
    registered through another instance on the same PostgreSQL are trusted here too."""

    def __init__(self, data_dir: str, certificates: Certificates, interval: float = 30.0):
        self.path = trust_file(data_dir)
        self.certificates = certificates
        self.interval = interval
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def refresh(self) -> None:
        text = "".join(self.certificates.trusted_pems())
        with self._lock:
            if self.path.exists() and self.path.read_text() == text:
                return  # an unchanged file keeps the TLS context cached
            write_private(self.path, text)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="fleet-trust", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.refresh()
            except (OSError, SQLAlchemyError) as err:
                log.warning("could not refresh %s: %s", self.path, err)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
