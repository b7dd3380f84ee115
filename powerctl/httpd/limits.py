"""The bounds on what one connection may cost."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one connection may cost; every wait has a deadline."""

    header_timeout: float = 10.0  # accept (TLS handshake included) to the end of the header
    keepalive_timeout: float = 5.0  # an idle keep-alive connection's next request must start by then
    body_timeout: float = 30.0  # the whole body, counted from the end of its header
    send_timeout: float = 30.0  # the client reads the whole answer by then
    per_address: int = 64  # open connections from one client address; the excess is refused
    max_connections: int = 4096  # open connections in all (capped by the descriptor limit)
    max_body: int = 1 << 20  # a larger body is not read: the app answers 413
    max_header_bytes: int = 64 * 1024  # request line and header fields together
    max_fields: int = 200
    max_target: int = 8190
    graceful_timeout: float = 10.0  # on SIGTERM, requests in progress get this long to finish
