"""Behind a reverse proxy: the client's address from X-Forwarded-For, for trusted proxies only."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from werkzeug.middleware.proxy_fix import ProxyFix


def networks(texts: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """`[server] trusted_proxies`: addresses or networks ("10.0.0.0/8"); ValueError if not."""
    return [ipaddress.ip_network(text.strip(), strict=False) for text in texts]


class TrustedProxies:
    """WSGI middleware: a request that arrives from a trusted proxy gets its client's address
    and scheme from the last X-Forwarded-For and X-Forwarded-Proto entries (werkzeug's
    ProxyFix, one hop); any other request keeps the address it came from, so nobody else can
    pose as another client with a header. Audit lines and lockouts then name the real client.
    """

    def __init__(self, app, trusted: Iterable[str]):
        self.app = app
        self.trusted = networks(trusted)
        self.fixed = ProxyFix(app, x_for=1, x_proto=1)

    def __call__(self, environ, start_response):
        if self._from_proxy(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)

    def _from_proxy(self, addr: str | None) -> bool:
        try:
            peer = ipaddress.ip_address(addr or "")
        except ValueError:
            return False
        return any(peer in network for network in self.trusted)
