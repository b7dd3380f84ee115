"""The HTTP/1.1 server of `powerctl serve` and `powerctl fleet serve`.

An asyncio event loop reads each request whole (TLS handshake, header, body) with h11, under
deadlines, before one of the app's threads is spent on it; the WSGI app then runs on a thread
pool and its answer is written back by the loop. A slow, silent or half-open connection so costs
a file descriptor and a few kilobytes, never a thread (docs/deployment.md).
"""

from __future__ import annotations

from powerctl.httpd.accesslog import BatchedStreamHandler, StampFormatter, batched
from powerctl.httpd.limits import Limits
from powerctl.httpd.listener import Server
from powerctl.httpd.process import serve

__all__ = ["BatchedStreamHandler", "Limits", "Server", "StampFormatter", "batched", "serve"]
