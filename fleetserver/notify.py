"""contract.NOTIFY: tell a controller its bundle changed, in the background."""

from __future__ import annotations

import datetime
import http.client
import json
import logging
import random
import ssl
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fleetserver import pki
from fleetserver.controllers import Notice
from fleetserver.files import write_private
from fleetserver.schedule import Schedule
from powerctl.fleet import contract

log = logging.getLogger("powerctl.fleet")

CLIENT_CERT_DAYS = 7.0  # the notifier's certificate; re-issued a day before it ends
RETRY_SECONDS = 60.0
POLL_SECONDS = 1.0  # how often an idle instance looks for due work (other instances' too)


class Unaccepted(Exception):
    """The controller answered, but not with a 2xx."""

    def __init__(self, status: int, reason: str):
        super().__init__(f"HTTP {status} {reason}")
        self.status = status


@dataclass(frozen=True)
class NotifyPolicy:
    """How hard an instance notifies: `concurrency` calls at once, each bounded by a connect
    (TCP and TLS) and a read timeout; a failed one retried `retry` seconds later, the wait
    doubling per failure in a row up to `retry_max`, with jitter (0: no retries); a claim held
    `lease` seconds (default: long enough for two calls, the certificate and the token one)."""

    concurrency: int = 16
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    retry: float = RETRY_SECONDS
    retry_max: float = 3600.0
    lease: float | None = None

    @property
    def held(self) -> float:
        if self.lease is not None:
            return self.lease
        return 2 * (self.connect_timeout + self.read_timeout) + 5.0

    @property
    def poll(self) -> float:
        return min(POLL_SECONDS, self.retry) if self.retry > 0 else POLL_SECONDS

    def delay(self, failures: int) -> float | None:
        """Seconds before the next attempt after `failures` failures in a row: between half
        and all of the capped exponential (so gaps grow, and a fleet that went offline at once
        does not come back at once)."""
        if self.retry <= 0:
            return None
        top = min(self.retry_max, self.retry * 2.0 ** min(failures - 1, 40))
        return top * random.uniform(0.5, 1.0)  # jitter, not a secret


class _Connection(http.client.HTTPSConnection):
    """HTTPS with one timeout for connecting (TCP and the TLS handshake), another for the answer."""

    def __init__(self, host: str, port: int | None, context: ssl.SSLContext, connect: float, read: float):
        super().__init__(host, port, timeout=connect, context=context)
        self._read_timeout = read

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self._read_timeout)


class Notifier:
    """POSTs the notice to the controller's notify_url, authenticated by a client certificate
    (common name: the fleet's peer UUID) from the fleet's issuer, which every controller
    verifies with the `public_parent` of its bundle; a controller that answers 401 to it (one
    behind a proxy that ends TLS, say) is sent the fleet's peer token instead.

    The database is the queue (fleetserver.schedule): a change makes the controller due, and
    this instance's loop claims due controllers, never more than it has free slots, so several
    instances share the work and none is notified twice for a version; a restart, a dead
    instance or a controller offline for a while loses nothing.
    """

    def __init__(
        self,
        schedule: Schedule,
        fleet_peer: str,
        issuer: tuple[str, str],
        data_dir: str,
        policy: NotifyPolicy | None = None,
    ):
        self.schedule = schedule
        self.fleet_peer = fleet_peer
        self.policy = policy or NotifyPolicy()
        self._issuer = issuer
        self._identity = Path(data_dir) / "tls" / "notifier.pem"
        self._context: ssl.SSLContext | None = None
        self._context_ends = datetime.datetime.min.replace(tzinfo=datetime.UTC)
        self._lock = threading.Lock()
        self._busy = 0
        self._full = False  # the last claim took every free slot: more may be due
        self._refill = max(1, self.policy.concurrency // 4)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(
            max_workers=self.policy.concurrency, thread_name_prefix="fleet-notify"
        )
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fleet-notify-queue", daemon=True)
        self._thread.start()

    def send(self, notices: list[Notice | None]) -> None:
        """A change committed: look for due work now rather than at the next poll."""
        if any(notice is not None and notice.url for notice in notices):
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            wait = self.policy.poll
            try:
                with self._lock:
                    free = self.policy.concurrency - self._busy
                claimed = self.schedule.claim(free, self.policy.held)
                with self._lock:
                    self._busy += len(claimed)
                    # every slot taken: a finished delivery wakes the loop for the next ones
                    self._full = len(claimed) == free
                for notice in claimed:
                    self._pool.submit(self._deliver, notice)
                if not self._full:
                    due = self.schedule.next_due()
                    if due is not None:
                        ahead = (due - datetime.datetime.now(datetime.UTC)).total_seconds()
                        wait = min(wait, max(ahead, 0.01))
            except Exception:  # the database is away: try again at the next poll
                log.exception("could not claim due notifications")
            self._wake.wait(wait)

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
        url = urllib.parse.urlsplit(notice.url)  # validated as https:// when it is stored
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        policy = self.policy
        connection = _Connection(
            url.hostname, url.port, self.context(), policy.connect_timeout, policy.read_timeout
        )
        try:
            connection.request("POST", path, body, headers)
            answer = connection.getresponse()
            answer.read(65536)
        finally:
            connection.close()
        if not 200 <= answer.status < 300:
            raise Unaccepted(answer.status, answer.reason)

    def _deliver(self, notice: Notice) -> None:
        body = json.dumps(contract.notify_call(notice.version)).encode()
        error = None
        try:
            try:
                self._post(notice, body, token=False)
                how = "certificate"
            except Unaccepted as err:
                if err.status != 401:
                    raise
                self._post(notice, body, token=True)
                how = "peer token"
        except (OSError, http.client.HTTPException, ValueError, Unaccepted) as err:
            error = f"{type(err).__name__}: {err}"
            log.warning("notify %s (version %d) failed: %s", notice.uuid, notice.version, error)
        else:
            log.info("notified %s of version %d (%s)", notice.uuid, notice.version, how)
        try:
            self.schedule.record(notice, error, self.policy.delay)
        except Exception:  # its lease ends and it is claimed again
            log.exception("could not record the notify result for %s", notice.uuid)
        with self._lock:
            self._busy -= 1
            # claim again once a quarter of the slots is free: one transaction for several
            if self._full and self.policy.concurrency - self._busy >= self._refill:
                self._wake.set()

    def close(self) -> None:
        """Stop claiming; the calls in flight finish (each bounded by the timeouts)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.policy.connect_timeout + self.policy.read_timeout + 5)
        self._pool.shutdown(wait=True)
