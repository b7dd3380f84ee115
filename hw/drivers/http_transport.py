"""HTTP(S) to a networked board, with requests: deadlines, and errors that never carry a secret.

Shared by the drivers that speak HTTP (dli, shelly, tasmota). Nothing of a request (its URL
may carry Tasmota's password, its headers a token) goes into an error message: only the
board's address, the method and path, and what went wrong.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import BoardProtocolError, BoardUnavailable
from ..registry import import_extra

EXTRA = "powerctl[http]"


class HttpTransport:
    def __init__(self, board: str, base: str, *, verify: bool | str = True, auth: Any = None, headers=None):
        self._requests = import_extra("http", "requests", EXTRA)
        self.board = board
        self.base = base.rstrip("/")
        self._verify = verify
        self._auth = auth
        self._headers = dict(headers or {})
        self._session = None

    def open(self) -> None:
        if self._session is None:
            session = self._requests.Session()
            session.headers.update(self._headers)
            session.verify = self._verify
            session.auth = self._auth
            session.trust_env = False  # no proxy from the environment between us and a board
            self._session = session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def request(self, method: str, path: str, deadline: float, *, shown: str | None = None, **kwargs):
        """The response of one request, which must end by `deadline`; 2xx only.

        `shown` replaces `path` in error messages where the path itself holds a secret.
        """
        self.open()
        where = f"{method} {shown or path}"
        left = deadline - time.monotonic()
        if left <= 0:
            raise BoardUnavailable(f"no time left for {where}", self.board, self.base)
        requests = self._requests
        try:
            response = self._session.request(
                method, self.base + path, timeout=(left, left), allow_redirects=False, **kwargs
            )
        except requests.Timeout:
            raise BoardUnavailable(f"{where}: no answer within {left:.1f} s", self.board, self.base) from None
        except requests.exceptions.SSLError:
            raise BoardUnavailable(
                f"{where}: TLS failed (certificate or verify setting)", self.board, self.base
            ) from None
        except requests.ConnectionError:
            raise BoardUnavailable(f"{where}: cannot connect", self.board, self.base) from None
        except requests.RequestException as exc:
            raise BoardUnavailable(f"{where}: {type(exc).__name__}", self.board, self.base) from None
        status = response.status_code
        if status in (401, 403):
            raise BoardUnavailable(
                f"{where}: refused with {status} (check the credentials and scopes)", self.board, self.base
            )
        if status >= 500:
            raise BoardUnavailable(f"{where}: answered {status}", self.board, self.base)
        if not 200 <= status < 300:
            raise BoardProtocolError(f"{where}: answered {status}", self.board, self.base)
        return response

    def json(self, method: str, path: str, deadline: float, **kwargs) -> Any:
        response = self.request(method, path, deadline, **kwargs)
        try:
            return response.json()
        except ValueError:
            shown = kwargs.get("shown") or path
            raise BoardProtocolError(
                f"{method} {shown}: the answer is not JSON", self.board, self.base
            ) from None
