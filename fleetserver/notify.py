"""contract.NOTIFY: tell a controller its bundle changed, in the background."""

from __future__ import annotations

import datetime
import http.client
import json
import logging
import ssl
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fleetserver import pki
from fleetserver.controllers import Controllers, Notice
from fleetserver.files import write_private
from powerctl.fleet import contract

log = logging.getLogger("powerctl.fleet")

CLIENT_CERT_DAYS = 7.0  # the notifier's certificate; re-issued a day before it ends
RETRY_SECONDS = 60.0


class Notifier:
    """POSTs the notice to the controller's notify_url, authenticated by a client certificate
    (common name: the fleet's peer UUID) from the fleet's issuer, which every controller
    verifies with the `public_parent` of its bundle; a controller that answers 401 to it (one
    behind a proxy that ends TLS, say) is sent the fleet's peer token instead.

    Notices are sent when a change commits and again, every `retry_seconds`, to every
    controller whose notified_version lags its version (controllers.unnotified()): the database
    is the queue, so a restart or a controller offline for a while loses nothing.
    """

    def __init__(
        self,
        controllers: Controllers,
        fleet_peer: str,
        issuer: tuple[str, str],
        data_dir: str,
        timeout: float = 5.0,
        retry_seconds: float = RETRY_SECONDS,
    ):
        self.controllers = controllers
        self.fleet_peer = fleet_peer
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self._issuer = issuer
        self._identity = Path(data_dir) / "tls" / "notifier.pem"
        self._context: ssl.SSLContext | None = None
        self._context_ends = datetime.datetime.min.replace(tzinfo=datetime.UTC)
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._again: dict[str, Notice] = {}  # arrived while one was in flight for that uuid
        self._last_try: dict[str, float] = {}
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="fleet-notify")
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Resend what is pending now and every retry_seconds (0: only at changes)."""
        if self.retry_seconds > 0:
            self._thread = threading.Thread(target=self._retry, name="fleet-notify-retry", daemon=True)
            self._thread.start()

    def send(self, notices: list[Notice | None]) -> None:
        for notice in notices:
            if notice is not None and notice.url:
                self._submit(notice)

    def _submit(self, notice: Notice) -> None:
        with self._lock:
            if notice.uuid in self._in_flight:  # one at a time per controller; this one next
                self._again[notice.uuid] = notice
                return
            self._in_flight.add(notice.uuid)
            self._last_try[notice.uuid] = time.monotonic()
        try:
            self._pool.submit(self._deliver, notice)
        except RuntimeError:  # shut down
            with self._lock:
                self._in_flight.discard(notice.uuid)

    def _retry(self) -> None:
        while not self._stop.is_set():
            try:
                due = time.monotonic() - self.retry_seconds
                for notice in self.controllers.unnotified():
                    if self._last_try.get(notice.uuid, float("-inf")) <= due:
                        self._submit(notice)
            except Exception:  # the database is away: try again next round
                log.exception("could not read the controllers waiting for a notification")
            self._stop.wait(self.retry_seconds)

    def context(self) -> ssl.SSLContext:
        """Verifies controllers with the issuer (hostname too) and presents the notifier's
        certificate, re-issued from the issuer a day before it ends."""
        now = datetime.datetime.now(datetime.UTC)
        with self._lock:
            if self._context is None or self._context_ends - now < datetime.timedelta(days=1):
                cert, key = pki.issue_client(*self._issuer, self.fleet_peer, days=CLIENT_CERT_DAYS, now=now)
                write_private(self._identity, key + cert)
                context = ssl.create_default_context(cadata=self._issuer[0])
                context.load_cert_chain(self._identity)
                self._context, self._context_ends = context, pki.validity(cert)[1]
            return self._context

    def _post(self, notice: Notice, body: bytes, token: bool) -> None:
        headers = {"Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest"}
        if token:
            headers["Authorization"] = contract.peer_authorization(self.fleet_peer, notice.token)
        # notify_url is validated as https:// when it is stored
        request = urllib.request.Request(notice.url, body, headers, method="POST")  # noqa: S310
        with urllib.request.urlopen(  # noqa: S310
            request,
            timeout=self.timeout,
            context=self.context(),
        ) as answer:
            answer.read(65536)

    def _deliver(self, notice: Notice) -> None:
        body = json.dumps(contract.notify_call(notice.version)).encode()
        error = None
        try:
            try:
                self._post(notice, body, token=False)
                how = "certificate"
            except urllib.error.HTTPError as err:
                if err.code != 401:
                    raise
                self._post(notice, body, token=True)
                how = "peer token"
        except (OSError, http.client.HTTPException, ValueError) as err:
            error = f"{type(err).__name__}: {err}"
            log.warning("notify %s (version %d) failed: %s", notice.uuid, notice.version, error)
        else:
            log.info("notified %s of version %d (%s)", notice.uuid, notice.version, how)
        try:
            self.controllers.record_notify(notice.uuid, notice.version, error)
        except Exception:
            log.exception("could not record the notify result for %s", notice.uuid)
        with self._lock:
            self._in_flight.discard(notice.uuid)
            again = self._again.pop(notice.uuid, None)
        if again is not None and again.version > notice.version:
            self._submit(again)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 5)
        self._pool.shutdown(wait=True, cancel_futures=True)
