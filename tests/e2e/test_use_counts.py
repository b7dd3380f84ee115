"""A token with N uses, raced by parallel requests across two server processes: exactly N win."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
from requests.auth import HTTPDigestAuth

from tests.e2e.server_support import start_server
from tests.support import ADMIN_PASSWORD

HELLO_HASH = "185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969"


def test_parallel_requests_spend_exactly_the_allowed_uses(tmp_path):
    data = tmp_path / "data"
    first = start_server(data)
    second = start_server(data)
    try:
        uses = 25
        body = {
            "name": "racer",
            "redirect_urls": {},
            "refresh_tokens": {},
            "scopes": {"/relay/outlets/all;/physical_state/?access=get": True},
            "access_tokens": {HELLO_HASH: {"remaining_use_count": uses}},
        }
        put = requests.put(
            first.url("/restapi/auth/clients/racer/"),
            json=body,
            headers={"X-CSRF": "x"},
            verify=first.cert,
            auth=HTTPDigestAuth("admin", ADMIN_PASSWORD),
        )
        assert put.status_code == 204

        def hit(i: int) -> int:
            server = (first, second)[i % 2]
            return requests.get(
                server.url("/restapi/relay/outlets/all;/physical_state/"),
                headers={"Authorization": "Bearer racer.SGVsbG8"},
                verify=server.cert,
                timeout=30,
            ).status_code

        with ThreadPoolExecutor(max_workers=24) as pool:
            statuses = list(pool.map(hit, range(120)))
        assert statuses.count(207) == uses
        assert statuses.count(401) == 120 - uses
        left = requests.get(
            second.url("/restapi/auth/clients/racer/"),
            verify=second.cert,
            auth=HTTPDigestAuth("admin", ADMIN_PASSWORD),
        ).json()
        assert left["access_tokens"][HELLO_HASH] == {"remaining_use_count": 0}
    finally:
        first.stop()
        second.stop()
