"""Forwarded-scheme headers count only from `[server] trusted_proxies`, checked from outside."""

from __future__ import annotations

import pytest
import requests
from requests.auth import HTTPBasicAuth

from tests.e2e.conftest import start_server
from tests.support import ADMIN_PASSWORD

NAME = "/restapi/relay/name/"
BASIC = HTTPBasicAuth("admin", ADMIN_PASSWORD)
FORGED = [{"X-Forwarded-Ssl": "on"}, {"X-Forwarded-Proto": "https"}, {"X-Forwarded-Scheme": "https"}]


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("plain") / "data", http=True)
    yield running
    running.stop()


@pytest.mark.parametrize("headers", FORGED, ids=lambda h: next(iter(h)))
def test_basic_over_plain_http_stays_refused_whatever_the_forwarded_headers_say(plain, headers):
    response = requests.get(plain.url(NAME), auth=BASIC, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Digest ")


def test_a_configured_proxy_may_say_the_client_came_over_https(tmp_path):
    config = tmp_path / "powerctl.toml"
    config.write_text('[server]\ntrusted_proxies = ["127.0.0.1"]\n')
    server = start_server(tmp_path / "data", "--config", str(config), http=True)
    try:
        assert requests.get(server.url(NAME), auth=BASIC).status_code == 401
        behind = requests.get(server.url(NAME), auth=BASIC, headers={"X-Forwarded-Proto": "https"})
        assert behind.status_code == 200 and behind.json() == "powerctl"
        # werkzeug's ProxyFix believes X-Forwarded-Proto only, not the other spellings
        ssl_on = requests.get(server.url(NAME), auth=BASIC, headers={"X-Forwarded-Ssl": "on"})
        assert ssl_on.status_code == 401
    finally:
        server.stop()
