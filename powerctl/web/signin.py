"""Sign-in to the settings page: the HTML answer to a browser's first request, and which reads
are views of a page already signed in to (audited once, at the sign-in, not each)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import Response, render_template, request

from powerctl.auth import Principal
from powerctl.errors import Unauthorized, envelope
from powerctl.web.csrf import CsrfTokens

IDLE = 30 * 60  # seconds without a view after which the next one is a new sign-in
MAX_SIGNED_IN = 1024  # (user, address) pairs remembered; the oldest are forgotten beyond
HUMAN_SCHEMES = ("digest", "basic")


def wants_html() -> bool:
    """Whether the caller is a browser asking for a page: HTML preferred to JSON, explicitly."""
    accept = request.accept_mimetypes
    return accept.quality("text/html") > accept.quality("application/json") and "text/html" in accept


def unauthorized(err: Unauthorized) -> Response:
    """The 401 with its digest challenge: a page explaining the prompt for a browser, else the
    JSON envelope every API client gets."""
    if not wants_html():
        return envelope(err.code, err.message, err.errors, err.headers)
    response = Response(render_template("signin.html", message=err.message), status=401, mimetype="text/html")
    response.headers.update(err.headers)
    return response


class PageViews:
    """`access.PAGE_VIEWS` for the settings page: an admin's GET of the page, of its scope
    checker, or of /restapi/ with the page's X-CSRF token is a view, audited only when it
    starts a sign-in (no view from that user and address for IDLE seconds).

    Kept per process: with several workers, each writes its own sign-in line.
    """

    def __init__(self, csrf: CsrfTokens, now: Callable[[], float] = time.monotonic):
        self._csrf = csrf
        self._now = now
        self._seen: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()

    def __call__(self, principal: Principal) -> bool:
        """Whether this allowed request is a view of a page already signed in to (not audited)."""
        # an API client's request (nearly all of them) is answered without reading the request
        if not principal.is_admin or principal.scheme not in HUMAN_SCHEMES:
            return False
        if request.method not in ("GET", "HEAD") or not self._page_read(principal):
            return False
        key = (principal.name, principal.addr, principal.scheme)
        now = self._now()
        with self._lock:
            last = self._seen.pop(key, None)
            self._seen[key] = now  # re-inserted: the dict stays ordered oldest first
            if len(self._seen) > MAX_SIGNED_IN:
                del self._seen[next(iter(self._seen))]
        return last is not None and now - last < IDLE

    def _page_read(self, principal: Principal) -> bool:
        if request.blueprint == "web":
            return True
        token = request.headers.get("X-CSRF")
        return token is not None and self._csrf.valid(principal.name, token)
