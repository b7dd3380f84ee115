"""The fleet server's contract, docs/fleet-server-openapi.yaml: served as written, valid OpenAPI
3.1, true of the app's routes, and fuzzed by schemathesis against a live server.

`make test` runs a few derandomized examples per operation; `make fuzz` (POWERCTL_FUZZ_EXAMPLES)
a longer, random run, as for the gateway (tests/e2e/test_schemathesis.py).
"""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from dataclasses import dataclass

import jsonschema_rs
import pytest
import requests
import schemathesis

from powerctl import openapi
from powerctl.version import __version__
from tests.fleetserver.accounts_support import DOCUMENT, METHODS, PUBLIC
from tests.fleetserver.support import Ca, FleetAdmin, FleetServer, make_ca, start_fleet_server
from tests.support import fuzz_settings

SAMPLE = {
    "uuid": "708e3376-5cb1-4fa8-923f-cda75b9e9e33",
    "client": str(uuidlib.UUID(int=1)),
    "peer": str(uuidlib.UUID(int=2)),
    "id": "0" * 64,
    "token_id": "0" * 16,
    "account": "acme",
}

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def operations() -> set[tuple[str, str]]:
    """(path with `{}` for each parameter, method) of every documented operation."""
    return {
        (re.sub(r"\{[^}]*\}", "{}", path), method)
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method in METHODS
    }


# The document itself


def test_the_packaged_json_is_the_yaml_source():
    assert json.loads(openapi.packaged("fleetserver")) == DOCUMENT, (
        "fleetserver/openapi.json is stale: run `make openapi`"
    )


@sqlite_only
def test_the_server_serves_it_without_auth(fleet_app):
    client = fleet_app.test_client()
    response = client.get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.json == DOCUMENT
    answer = client.post("/openapi.json")
    assert answer.status_code == 405 and answer.json["code"] == 405


def test_the_document_is_valid_openapi_31_for_this_version():
    schemathesis.openapi.from_dict(DOCUMENT).validate()  # the OpenAPI 3.1 meta-schema
    for name, component in DOCUMENT["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(component), name  # JSON Schema 2020-12
    assert DOCUMENT["openapi"] == "3.1.0" and DOCUMENT["info"]["version"] == __version__
    assert set(DOCUMENT["components"]["securitySchemes"]) == {"bearer"}
    assert DOCUMENT["security"] == [{"bearer": []}]


@sqlite_only
def test_every_route_is_documented_and_every_documented_operation_exists(fleet_app):
    served = {
        (re.sub(r"<[^>]*>", "{}", rule.rule), method.lower())
        for rule in fleet_app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served == operations()


def test_only_the_public_operations_go_without_the_token():
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            if (path, method) in PUBLIC:
                assert operation["security"] == [], (path, method)
            else:
                assert "security" not in operation and "401" in operation["responses"], (path, method)


def test_every_error_answer_is_an_envelope():
    """The admin API's 4xx answers are `Error`; only /rpc answers JSON-RPC errors."""
    shared = DOCUMENT["components"]["responses"]
    envelope = {"$ref": "#/components/schemas/Error"}
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            for status, response in operation["responses"].items():
                if "$ref" in response:
                    response = shared[response["$ref"].rsplit("/", 1)[1]]
                json_rpc = path == "/rpc" and status in ("400", "403", "404")
                if status.startswith("4") and not json_rpc:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == envelope, (path, method, status)


@sqlite_only
def test_every_admin_operation_answers_401_without_the_token(fleet_app):
    client = fleet_app.test_client()
    for path, item in DOCUMENT["paths"].items():
        for method in item:
            if method not in METHODS or (path, method) in PUBLIC:
                continue
            url = re.sub(r"\{([^}]*)\}", lambda m: SAMPLE[m[1]], path)
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eA=="}):
                response = client.open(url, method=method.upper(), headers=headers, json={})
                assert response.status_code == 401, (method, url, headers)
                assert response.json["code"] == 401
                assert response.headers["WWW-Authenticate"] == 'Bearer realm="powerctl fleet"'


@sqlite_only
def test_the_admin_token_is_enough_for_every_listed_read(admin):
    for path, item in DOCUMENT["paths"].items():
        if "{" not in path and "get" in item:
            response = admin.get(path)
            assert str(response.status_code) in item["get"]["responses"], path
            assert response.status_code == 200, path


@sqlite_only
@pytest.mark.parametrize("query", ["pageSize=%C2%B2", "marker=%C2%B2", "pageSize=%D9%A3"])
def test_a_digit_that_is_not_ascii_in_list_arguments_is_400(admin, query):
    assert admin.get(f"/certificates?{query}").status_code == 400


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_marker_beyond_any_row_number_is_400_on_postgresql(admin):
    assert admin.get("/controllers?marker=2147483648").status_code == 400
    assert admin.get("/controllers?marker=2147483647").json["controllers"] == []


@sqlite_only
def test_a_deeply_nested_or_boolean_id_sync_call_is_400(fleet_app):
    answer = fleet_app.test_client().post("/rpc", data="[" * 100_000, content_type="application/json")
    assert answer.status_code == 400 and answer.json["error"]["code"] == -32700
    call = {"id": True, "api": "3", "method": "cloud.access_keys_controller_sync", "params": {}}
    answer = fleet_app.test_client().post("/rpc", json=call)
    assert answer.status_code == 400 and answer.json["error"]["code"] == -32600


def test_bodies_a_database_cannot_store_are_400(admin):  # both backends
    """These answered 500 (PostgreSQL refuses NUL; no database stores a lone
    surrogate; a certificate takes only an ASCII host name)."""
    head = '{"uuid": "708e3376-5cb1-4fa8-923f-cda75b9e9e33", "serial": '
    for text in (
        head + '"a\\u0000"}',
        head + '"\\ud800"}',
        head + '"a", "notify_url": "https://\u00e9.example/"}',
        head + '"a", "notify_url": "https://[::1/"}',
        head + '"a", "notify_url": "https://a b/"}',
        head + '"a", "notify_url": "https://gw1:99999/"}',
        "[" * 100_000,
    ):
        answer = admin.post("/controllers", data=text.encode(), content_type="application/json")
        assert answer.status_code == 400 and answer.json["code"] == 400, text[:80]
    assert admin.get("/controllers").json["controllers"] == []
    for path in ("/certificates/%00", "/ca-certificates/%00", "/ca-certificates/%00/certificates"):
        assert admin.get(path).status_code == 404


# schemathesis against a live server


schema = schemathesis.openapi.from_dict(DOCUMENT, config=fuzz_settings())


@dataclass
class Live:
    server: FleetServer
    identity: tuple[str, str]  # the enrolled controller's client certificate and key files
    controller: str
    ca_id: str
    ca: Ca


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A fleet server holding an enrolled controller, with a client and a peer, so that lists
    and the sync call have something to answer."""
    folder = tmp_path_factory.mktemp("fleet-fuzz")
    server = start_fleet_server(folder / "fleet")
    try:
        ca = make_ca("fleet fuzz CA")
        ca_id = server.admin.register_ca(ca, auto_registration=True)
        controller = str(uuidlib.uuid4())
        me = server.admin.enroll(ca, controller)
        assert server.admin.put_client(controller, str(uuidlib.uuid4()), ["ab" * 32]).status_code == 200
        assert (
            server.admin.put_peer(controller, str(uuidlib.uuid4()), "70010112", ["p" * 16]).status_code == 200
        )
        identity = me.write(folder / "identity")
    except BaseException:
        server.stop()
        raise
    yield Live(server, identity, controller, ca_id, ca)
    server.stop()


@pytest.fixture(scope="module")
def session(live):
    """The admin token, and the enrolled controller's client certificate for /rpc."""
    with requests.Session() as opened:
        opened.verify = live.server.ca_file
        opened.trust_env = False
        opened.cert = live.identity
        opened.headers["Authorization"] = f"Bearer {live.server.admin.token}"
        yield opened


def test_answers_about_what_exists_are_as_described(live, session):
    """What the fuzzer cannot reach without the ids the fixture made: answers about a real
    certificate, CA, controller, its clients and peers, and a rotated controller's sync."""
    base, cert_id = live.server.base, ""

    def call(method: str, template: str, status: int, **kwargs) -> requests.Response:
        url = template.format(uuid=live.controller, ca=live.ca_id, cert=cert_id)
        response = session.request(method, base + url, timeout=30, **kwargs)
        assert response.status_code == status, (method, url, response.text)
        path = re.sub(r"\{(ca|cert)\}", "{id}", template)
        assert str(status) in DOCUMENT["paths"][path][method.lower()]["responses"]
        schema[path][method].validate_response(response)
        return response

    listed = call(
        "GET", "/ca-certificates/{ca}/certificates", 200, params={"pageSize": 1, "ascendingOrder": "true"}
    ).json()
    cert_id = listed["certificates"][0]["certificateId"]
    assert listed["nextMarker"] is None
    call("GET", "/ca-certificates/{ca}", 200)
    call("PUT", "/ca-certificates/{ca}", 200, json={})
    call("GET", "/certificates/{cert}", 200)
    call("PUT", "/certificates/{cert}", 200, json={"newStatus": "ACTIVE"})
    call("DELETE", "/certificates/{cert}", 409)
    call("DELETE", "/ca-certificates/{ca}", 409)
    call("GET", "/controllers/{uuid}/clients", 200)
    call("GET", "/controllers/{uuid}/peers", 200)
    sync = {"id": "1", "api": "3", "method": "cloud.access_keys_controller_sync", "params": {}}
    assert len(call("POST", "/rpc", 200, json=sync).json()["result"]["current"]) == 1
    version = call("POST", "/controllers/{uuid}/rotate", 200).json()["version"]
    answer = call("GET", "/controllers/{uuid}", 200).json()
    assert answer["version"] == version and answer["next_certificate_expires"] is not None
    bundle = call("POST", "/rpc", 200, json=sync).json()["result"]
    assert len(bundle["current"]) == 2 and bundle["version"] == version
    assert (
        call("POST", "/controllers/{uuid}/rotate", 200, json={"immediate": True}).json()["version"]
        == version + 1
    )
    call("POST", "/controllers/{uuid}/rotate", 400, json={"immediate": True, "other": 1})


@schema.parametrize()
def test_an_admin_and_a_controller_get_only_described_answers(case, live, session):
    case.call_and_validate(base_url=live.server.base, session=session, verify=live.server.ca_file, timeout=30)


def test_transfer_answers_are_as_described(live, session):
    """A certificate offered to another account, listed as outgoing, rejected, offered again and
    accepted, with the contract's schemas checked on every answer."""
    base, admin = live.server.base, live.server.admin
    target = f"fuzz-{uuidlib.uuid4().hex[:8]}"
    assert admin.request("POST", "/accounts", {"id": target}).status_code == 201
    token = admin.request("POST", f"/accounts/{target}/tokens").json()["token"]
    taker = FleetAdmin(base, live.server.ca_file, token)
    schema["/accounts"]["get"].validate_response(admin.request("GET", "/accounts"))
    spare = admin.register_certificate(live.ca.issue("spare").cert_pem, status="INACTIVE")
    schema["/certificates"]["post"].validate_response(spare)
    ident = spare.json()["certificateId"]

    def step(caller, method: str, path: str, status: int, body=None):
        answer = caller.request(method, path.format(id=ident, account=target), body)
        assert answer.status_code == status, (path, answer.text)
        schema[path][method.lower()].validate_response(answer)
        return answer

    step(admin, "POST", "/certificates/{id}/transfer", 200, {"targetAccount": target, "transferMessage": "m"})
    step(admin, "GET", "/certificates/outgoing", 200)
    step(taker, "GET", "/certificates/{id}", 200)
    step(taker, "POST", "/certificates/{id}/reject-transfer", 204, {"rejectReason": "r"})
    step(admin, "POST", "/certificates/{id}/transfer", 200, {"targetAccount": target})
    step(admin, "POST", "/certificates/{id}/cancel-transfer", 200)
    step(admin, "POST", "/certificates/{id}/transfer", 200, {"targetAccount": target})
    step(taker, "POST", "/certificates/{id}/accept-transfer", 200, {"setAsActive": False})
    step(taker, "POST", "/certificates/{id}/accept-transfer", 409)
    step(taker, "GET", "/accounts", 403)
    step(admin, "DELETE", "/accounts/{account}", 409)


NEW_OPERATIONS = (
    r"^/(accounts|certificates/(outgoing|\{id\}/(transfer|accept-transfer|reject-transfer|cancel-transfer)))"
)


@pytest.fixture(scope="module")
def account_session(live):
    """An account's token (an account with nothing of its own) instead of the operator's."""
    name = f"fuzz-{uuidlib.uuid4().hex[:8]}"
    assert live.server.admin.request("POST", "/accounts", {"id": name}).status_code == 201
    token = live.server.admin.request("POST", f"/accounts/{name}/tokens").json()["token"]
    with requests.Session() as opened:
        opened.verify = live.server.ca_file
        opened.trust_env = False
        opened.headers["Authorization"] = f"Bearer {token}"
        yield opened


@schema.include(path_regex=NEW_OPERATIONS).parametrize()
def test_an_account_gets_only_described_answers_from_the_account_and_transfer_operations(
    case, live, account_session
):
    case.call_and_validate(
        base_url=live.server.base, session=account_session, verify=live.server.ca_file, timeout=30
    )
