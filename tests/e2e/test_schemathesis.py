"""docs/openapi.yaml fuzzed against a live server by schemathesis: no 5xx, every answer as described.

`make test` runs a few derandomized examples per operation; `make fuzz` sets POWERCTL_FUZZ_EXAMPLES
for a longer, random run.
"""

from __future__ import annotations

import json

import pytest
import requests
import schemathesis
from requests.auth import HTTPDigestAuth
from schemathesis.checks import ignored_auth

from powerctl import openapi
from tests.e2e.server_support import start_server
from tests.support import ADMIN_PASSWORD, fuzz_settings

HELLO_HASH = "185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969"
BEARER = "fuzzclient.SGVsbG8"
# /auth/sessions/: create (invoke), read the token back (get), revoke its own (modify)
BEARER_SCOPES = [
    "/relay/",
    "/meter/?access=get",
    "/config/?access=get",
    "/network/",
    "/script/",
    "/metrics/?access=get",
    "/auth/sessions/",
]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    config = folder / "powerctl.toml"
    # The fuzzer's probes with wrong credentials are no attack: keep the address from a lockout.
    config.write_text("[auth]\nmax_failures = 10000\n")
    server = start_server(folder / "data", "--config", str(config))
    yield server
    server.stop()


def session_for(live, auth=None, bearer: str | None = None) -> requests.Session:
    session = requests.Session()
    session.verify = live.cert
    session.trust_env = False
    session.auth = auth
    if bearer:
        session.headers["Authorization"] = f"Bearer {bearer}"
    return session


@pytest.fixture(scope="module")
def admin_session(live):
    return session_for(live, auth=HTTPDigestAuth("admin", ADMIN_PASSWORD))


def register(live, admin_session, client_id: str, scopes: list[str]) -> None:
    registration = {
        "name": client_id,
        "redirect_urls": {},
        "refresh_tokens": {},
        "scopes": dict.fromkeys(scopes, True),
        "access_tokens": {HELLO_HASH: {}},
    }
    response = admin_session.put(
        live.url(f"/restapi/auth/clients/{client_id}/"), json=registration, headers={"X-CSRF": "x"}
    )
    assert response.status_code == 204, response.text


@pytest.fixture(scope="module")
def bearer_session(live, admin_session):
    register(live, admin_session, "fuzzclient", BEARER_SCOPES)
    # A deleted client, so that auth/denied/ lists something.
    register(live, admin_session, "gone", ["/relay/?access=get"])
    response = admin_session.delete(live.url("/restapi/auth/clients/gone/"), headers={"X-CSRF": "x"})
    assert response.status_code == 204, response.text
    return session_for(live, bearer=BEARER)


def ensure_session_role(case, live, admin_session) -> None:
    """Before a session is asked for, make the role the document's example names, so that the
    example can succeed (the fuzzer may have replaced or deleted it): the example role's scopes
    are ones the bearer client holds."""
    if (case.method, case.path) != ("POST", "/restapi/auth/sessions/"):
        return
    role = SESSION_EXAMPLE["role"]
    response = admin_session.put(
        live.url(f"/restapi/auth/roles/{role}/"), json=ROLE_BODY, headers={"X-CSRF": "x"}
    )
    assert response.status_code == 204, response.text


# The served /openapi.json equals this document (tests/api/test_openapi.py); loading it here lets
# pytest list one test per operation before any server runs.
DOCUMENT = json.loads(openapi.packaged())
schema = schemathesis.openapi.from_dict(DOCUMENT, config=fuzz_settings())
SESSION_EXAMPLE = DOCUMENT["components"]["schemas"]["SessionRequest"]["examples"][0]
ROLE_BODY = DOCUMENT["components"]["schemas"]["RoleRequest"]["examples"][0]


@schema.parametrize()
def test_a_bearer_client_gets_only_described_answers(case, live, admin_session, bearer_session):
    ensure_session_role(case, live, admin_session)
    case.call_and_validate(base_url=live.base, session=bearer_session, verify=live.cert)


@schema.parametrize()
def test_an_admin_gets_only_described_answers(case, live, admin_session, bearer_session):
    ensure_session_role(case, live, admin_session)
    # requests answers the digest challenge on every request, including the probes with which
    # ignored_auth checks that credentials are required, so that check would prove nothing here;
    # the bearer run and tests/api check it.
    case.call_and_validate(
        base_url=live.base, session=admin_session, verify=live.cert, excluded_checks=[ignored_auth]
    )
