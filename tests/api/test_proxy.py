"""[server] trusted_proxies: behind a reverse proxy, audit lines and lockouts name the client."""

from __future__ import annotations

import pytest

from powerctl import config as config_mod
from tests.api.sessions_support import audit_lines
from tests.support import Api

PATH = "/restapi/relay/outlets/0/state/"


def test_a_trusted_proxy_passes_on_the_clients_address(make_app):
    app = make_app(server={"trusted_proxies": ["127.0.0.1", "10.1.0.0/16"]})
    proxied = app.test_client()
    proxied.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    forwarded = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}  # the proxy added the last
    assert Api(proxied).get(PATH, headers=forwarded).status_code == 200
    assert proxied.get(PATH, headers=forwarded).status_code == 401
    lines = audit_lines(app)
    assert "access allowed for admin (admin@203.0.113.9, digest)" in lines
    assert not any("10.1.2.3" in line or "198.51.100.7" in line for line in lines)


def test_anyone_else_keeps_the_address_it_came_from(make_app):
    app = make_app(server={"trusted_proxies": ["127.0.0.1"], "tls": False}, auth={"max_failures": 2})
    direct = app.test_client()
    direct.environ_base["REMOTE_ADDR"] = "192.0.2.50"
    spoof = {"X-Forwarded-For": "203.0.113.9", "Authorization": "Bearer x.eA"}
    for _ in range(3):
        direct.get(PATH, headers=spoof)
    assert direct.get(PATH).status_code == 403  # 192.0.2.50 locked out, not 203.0.113.9
    via_proxy = app.test_client()  # 127.0.0.1, trusted
    assert via_proxy.get(PATH, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 401
    assert via_proxy.get(PATH, headers={"X-Forwarded-For": "192.0.2.50"}).status_code == 403
    assert any(line.startswith("lockout of 192.0.2.50 started") for line in audit_lines(app))


@pytest.mark.parametrize("value", [["gateway.example"], ["10.0.0.0/33"], "127.0.0.1"])
def test_a_trusted_proxy_must_be_an_address_or_network(value):
    with pytest.raises(config_mod.ConfigError, match="trusted_proxies"):
        config_mod.load({"server": {"trusted_proxies": value}})
