"""Revoking a client anywhere (another server process, the CLI) refuses its token at once."""

from __future__ import annotations

import subprocess
import sys

import requests
from requests.auth import HTTPDigestAuth

from tests.e2e.server_support import start_server
from tests.support import ADMIN_PASSWORD

HELLO_HASH = "185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969"
PATH = "/restapi/relay/outlets/all;/state/"


def use(server) -> int:
    return requests.get(
        server.url(PATH), headers={"Authorization": "Bearer lab.SGVsbG8"}, verify=server.cert, timeout=10
    ).status_code


def register(server) -> None:
    body = {
        "name": "lab",
        "redirect_urls": {},
        "refresh_tokens": {},
        "scopes": {"/relay/outlets/all;/state/?access=get": True},
        "access_tokens": {HELLO_HASH: {}},
    }
    response = requests.put(
        server.url("/restapi/auth/clients/lab/"),
        json=body,
        headers={"X-CSRF": "x"},
        verify=server.cert,
        auth=HTTPDigestAuth("admin", ADMIN_PASSWORD),
    )
    assert response.status_code == 204


def test_delete_on_one_server_is_seen_by_the_other_at_once(tmp_path):
    data = tmp_path / "data"
    first, second = start_server(data), start_server(data)
    try:
        register(first)
        assert [use(second) for _ in range(3)] == [207] * 3
        deleted = requests.delete(
            first.url("/restapi/auth/clients/lab/"),
            headers={"X-CSRF": "x"},
            verify=first.cert,
            auth=HTTPDigestAuth("admin", ADMIN_PASSWORD),
        )
        assert deleted.status_code == 204
        assert use(second) == 401
    finally:
        first.stop()
        second.stop()


def test_cli_delete_while_serving_is_seen_at_once(tmp_path):
    data = tmp_path / "data"
    server = start_server(data)
    try:
        register(server)
        assert use(server) == 207 and use(server) == 207
        result = subprocess.run(
            [sys.executable, "-m", "powerctl.cli", "client", "--data-dir", str(data), "delete", "lab"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert use(server) == 401
    finally:
        server.stop()
