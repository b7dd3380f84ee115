"""Controllers, their clients and peers through the admin API, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from fleetserver.models import Controller
from tests.fleetserver.conftest import Admin

C1 = "95d8cd00-5bba-46e5-ae33-f1e4b2d65e6e"
C2 = "c89723f7-03a3-423d-a556-7eba4270d064"
CLIENT = "708e3376-5cb1-4fa8-923f-cda75b9e9e33"
H1 = hashlib.sha256(b"one").hexdigest()
H2 = hashlib.sha256(b"two").hexdigest()


def add(admin, uuid=C1, serial="70010111", url=None):
    answer = admin.post("/controllers", json={"uuid": uuid, "serial": serial, "notify_url": url})
    assert answer.status_code == 201, answer.json
    return answer.json


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # backend-independent
def test_every_admin_route_refuses_a_missing_or_wrong_token(fleet_app):
    client = fleet_app.test_client()
    routes = [
        r
        for r in fleet_app.url_map.iter_rules()
        if r.endpoint.startswith(("fleet_admin.", "fleet_certificates."))
    ]
    assert len(routes) >= 20
    for rule in routes:
        path = (
            rule.rule.replace("<uuid>", C1)
            .replace("<client>", CLIENT)
            .replace("<peer>", C2)
            .replace("<ident>", "0" * 64)
        )
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eDp5"}):
                answer = client.open(path, method=method, headers=headers, json={})
                assert answer.status_code == 401, (method, path)
                assert answer.json["message"] == "an admin or account token is required"


def test_a_new_controller_starts_at_version_1_and_is_listed(admin):
    made = add(admin, url="https://127.0.0.1:9/restapi/auth/fleet/notify/")
    assert made["version"] == 1 and made["serial"] == "70010111"
    assert admin.get(f"/controllers/{C1}").json == made
    assert [c["uuid"] for c in admin.get("/controllers").json["controllers"]] == [C1]


def test_each_change_bumps_the_version_by_one(admin):
    add(admin)
    versions = [
        admin.put(f"/controllers/{C1}/clients/{CLIENT}", json={"tokens": [H1]}).json["version"],
        admin.put(f"/controllers/{C1}/clients/{CLIENT}", json={"tokens": [H1, H2]}).json["version"],
        admin.put(
            f"/controllers/{C1}/peers/{C2}", json={"id": "70010112", "tokens": ["peer-token-0123456789"]}
        ).json["version"],
    ]
    assert admin.delete(f"/controllers/{C1}/peers/{C2}").status_code == 204
    assert admin.delete(f"/controllers/{C1}/clients/{CLIENT}").status_code == 204
    assert versions == [2, 3, 4]
    assert admin.get(f"/controllers/{C1}").json["version"] == 6


def test_clients_hold_hashes_and_peers_plain_tokens(admin):
    add(admin)
    admin.put(f"/controllers/{C1}/clients/{CLIENT}", json={"tokens": [H2, H1, H1]})
    admin.put(f"/controllers/{C1}/peers/{C2}", json={"id": "7001", "tokens": ["peer-token-0123456789"]})
    assert admin.get(f"/controllers/{C1}/clients").json == {"clients": {CLIENT: sorted([H1, H2])}}
    assert admin.get(f"/controllers/{C1}/peers").json == {
        "peers": {C2: {"id": "7001", "tokens": ["peer-token-0123456789"]}}
    }


def test_replacing_all_clients_drops_those_not_named(admin):
    add(admin)
    admin.put(f"/controllers/{C1}/clients/{CLIENT}", json={"tokens": [H1]})
    answer = admin.put(f"/controllers/{C1}/clients", json={"clients": {C2: [H2]}})
    assert answer.status_code == 200
    assert admin.get(f"/controllers/{C1}/clients").json == {"clients": {C2: [H2]}}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # backend-independent
@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"/controllers/{C1}/clients/{CLIENT}", {"tokens": ["plain-token"]}),
        (f"/controllers/{C1}/clients/{CLIENT}", {"tokens": [H1.upper()]}),
        (f"/controllers/{C1}/clients/{CLIENT}", {"tokens": [H1[:63]]}),
        (f"/controllers/{C1}/clients/{CLIENT}", {"tokens": H1}),
        (f"/controllers/{C1}/clients/{CLIENT}", {"tokens": [H1], "scopes": []}),
        (f"/controllers/{C1}/clients/not-a-uuid", {"tokens": [H1]}),
        (f"/controllers/{C1}/clients", {"clients": {"x": [H1]}}),
        (f"/controllers/{C1}/peers/{C2}", {"id": "7001", "tokens": ["short"]}),
        (f"/controllers/{C1}/peers/{C2}", {"id": "7001", "tokens": []}),
        (f"/controllers/{C1}/peers/{C2}", {"id": "", "tokens": ["peer-token-0123456789"]}),
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(admin, path, body):
    add(admin)
    admin.put(f"/controllers/{C1}/clients/{CLIENT}", json={"tokens": [H1]})
    before = (
        admin.get(f"/controllers/{C1}").json,
        admin.get(f"/controllers/{C1}/clients").json,
        admin.get(f"/controllers/{C1}/peers").json,
    )
    answer = admin.put(path, json=body)
    assert answer.status_code == 400
    assert set(answer.json) >= {"code", "status", "message"} and answer.json["code"] == 400
    assert (
        admin.get(f"/controllers/{C1}").json,
        admin.get(f"/controllers/{C1}/clients").json,
        admin.get(f"/controllers/{C1}/peers").json,
    ) == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # backend-independent
@pytest.mark.parametrize(
    "body",
    [
        {"uuid": C1.upper(), "serial": "1"},
        {"uuid": C1},
        {"uuid": C1, "serial": "x" * 65},
        {"uuid": C1, "serial": "1", "notify_url": "http://127.0.0.1/notify/"},
        {"uuid": C1, "serial": "1", "notify_url": "https://"},
        {"uuid": C1, "serial": 5},
        {"uuid": C1, "serial": "1", "extra": True},
        [],
        "text",
    ],
)
def test_a_malformed_controller_is_refused(admin, body):
    answer = admin.post("/controllers", json=body)
    assert answer.status_code == 400, answer.json
    assert admin.get("/controllers").json["controllers"] == []


def test_unknown_controller_or_client_is_404(admin):
    assert admin.get(f"/controllers/{C1}").status_code == 404
    assert admin.put(f"/controllers/{C1}/clients/{CLIENT}", json={"tokens": [H1]}).status_code == 404
    add(admin)
    assert admin.delete(f"/controllers/{C1}/clients/{CLIENT}").status_code == 404
    assert admin.delete(f"/controllers/{C1}/peers/{C2}").status_code == 404
    assert admin.get(f"/controllers/{C1}").json["version"] == 1


def test_a_duplicate_controller_is_409(admin):
    add(admin)
    assert admin.post("/controllers", json={"uuid": C1, "serial": "2"}).status_code == 409


def test_changing_the_notify_url_issues_a_new_https_pair_and_bumps(admin):
    add(admin, url="https://127.0.0.1:9/n/")
    answer = admin.patch(f"/controllers/{C1}", json={"notify_url": "https://gw.example/n/"})
    assert answer.json["notify_url"] == "https://gw.example/n/" and answer.json["version"] == 2
    answer = admin.patch(f"/controllers/{C1}", json={"serial": "99"})
    assert answer.json["serial"] == "99" and answer.json["version"] == 2
    assert admin.patch(f"/controllers/{C1}", json={"uuid": C2}).status_code == 400


def test_deleting_a_controller_denies_it_until_lifted(admin):
    add(admin)
    admin.put(f"/controllers/{C1}/clients/{CLIENT}", json={"tokens": [H1]})
    assert admin.delete(f"/controllers/{C1}").status_code == 204
    assert admin.get("/denied-controllers").json == [C1]
    assert admin.get(f"/controllers/{C1}").status_code == 404
    refused = admin.post("/controllers", json={"uuid": C1, "serial": "1"})
    assert refused.status_code == 409 and "denied" in refused.json["message"]
    assert admin.delete(f"/denied-controllers/{C2}").status_code == 404
    assert admin.delete(f"/denied-controllers/{C1}").status_code == 204
    assert admin.get("/denied-controllers").json == []
    back = admin.get(f"/controllers/{C1}").json
    assert back["version"] == 3  # its stored data is gone, as in the reference
    assert admin.get(f"/controllers/{C1}/clients").json == {"clients": {}}


def test_list_pages_through_controllers(admin):
    uuids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(30)]
    for uuid in uuids:
        add(admin, uuid)
    first = admin.get("/controllers").json
    assert len(first["controllers"]) == 25
    assert [c["uuid"] for c in first["controllers"]] == uuids[::-1][:25]
    rest = admin.get(f"/controllers?marker={first['nextMarker']}").json
    assert [c["uuid"] for c in rest["controllers"]] == uuids[::-1][25:]
    assert rest["nextMarker"] is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # backend-independent
def test_non_json_bodies_are_400_not_500(fleet_app):
    admin = Admin(fleet_app.test_client())
    add(admin)
    for data in (b"{", b"\xff\xfe", b"null", b"[1]"):
        answer = admin.put(
            f"/controllers/{C1}/clients/{CLIENT}", data=data, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 400


def test_parallel_changes_each_get_their_own_version(fleet_app, admin):
    """Row locks (PostgreSQL) and BEGIN IMMEDIATE (SQLite): no two changes share a version."""
    add(admin)
    controllers = fleet_app.extensions["powerctl.fleet"].controllers
    clients = [f"00000000-0000-4000-8000-{n:012d}" for n in range(24)]
    with ThreadPoolExecutor(8) as pool:
        notices = list(pool.map(lambda c: controllers.put_clients(C1, {c: [H1]}, replace_all=False), clients))
    assert sorted(n.version for n in notices) == list(range(2, 26))
    assert admin.get(f"/controllers/{C1}").json["version"] == 25
    assert len(admin.get(f"/controllers/{C1}/clients").json["clients"]) == 24


def test_a_creation_that_loses_a_race_is_409_not_500(fleet_app):
    """Another transaction inserts the same controller while the request runs."""
    engine = create_engine(fleet_app.extensions["powerctl.fleet"].db.url)
    try:
        with Session(engine) as other:
            other.add(
                Controller(
                    uuid=C2, serial="1", version=1, fleet_token="t", server_cert_pem="-", server_key_pem="-"
                )
            )
            other.flush()  # holds the row (PostgreSQL) or the write lock (SQLite), uncommitted
            with ThreadPoolExecutor(1) as pool:
                answer = pool.submit(
                    Admin(fleet_app.test_client()).post, "/controllers", json={"uuid": C2, "serial": "2"}
                )
                time.sleep(0.5)
                other.commit()
                answer = answer.result(timeout=30)
    finally:
        engine.dispose()
    assert answer.status_code == 409, answer.json
    assert answer.json["code"] == 409


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # backend-independent
def test_errors_outside_the_api_use_the_envelope_too(admin):
    missing = admin.get("/nothing/here")
    assert missing.status_code == 404 and missing.json["code"] == 404
    wrong = admin.open("/denied-controllers", method="POST")
    assert wrong.status_code == 405 and wrong.json["code"] == 405
    huge = admin.post(
        "/controllers", data=b"x" * (9 * 1024 * 1024), headers={"Content-Type": "application/json"}
    )
    assert huge.status_code == 413 and huge.json["code"] == 413
