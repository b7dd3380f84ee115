"""`hub.offline.credentials.updated`: tell a controller its bundle changed, in the background."""

from __future__ import annotations

import http.client
import json
import logging
import ssl
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

from powerctl.auth.bearer import encode_token
from powerctl.fleetserver.controllers import Controllers, Notice

log = logging.getLogger("powerctl.fleet")


class Notifier:
    """POSTs the notice with the fleet's peer token; a failure is logged, stored and retried at
    the controller's next change (the controller polls too)."""

    def __init__(self, controllers: Controllers, fleet_peer: str, chain: str, timeout: float = 5.0):
        self.controllers = controllers
        self.fleet_peer = fleet_peer
        self.timeout = timeout
        # the controllers' HTTPS certificates are issued by the fleet's issuer: pin that
        self.context = ssl.create_default_context(cadata=chain)
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="fleet-notify")

    def send(self, notices: list[Notice | None]) -> None:
        for notice in notices:
            if notice is not None and notice.url:
                self._pool.submit(self._deliver, notice)

    def _deliver(self, notice: Notice) -> None:
        body = json.dumps({"id": uuid.uuid4().hex, "api": "3",
                           "method": "hub.offline.credentials.updated",
                           "params": {"version": notice.version}}).encode()
        bearer = f"{self.fleet_peer}.{encode_token(notice.token.encode())}"
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {bearer}",
                   "X-Requested-With": "XMLHttpRequest"}
        # notify_url is validated as https:// when it is stored
        request = urllib.request.Request(notice.url, body, headers, method="POST")  # noqa: S310
        error = None
        try:
            with urllib.request.urlopen(request, timeout=self.timeout,  # noqa: S310
                                        context=self.context) as answer:
                answer.read(65536)
        except (OSError, http.client.HTTPException, ValueError) as err:
            error = f"{type(err).__name__}: {err}"
            log.warning("notify %s (version %d) failed: %s", notice.uuid, notice.version, error)
        else:
            log.info("notified %s of version %d", notice.uuid, notice.version)
        try:
            self.controllers.record_notify(notice.uuid, notice.version, error)
        except Exception:
            log.exception("could not record the notify result for %s", notice.uuid)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
