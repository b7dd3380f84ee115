"""The gateway with [fleet]: synced tokens, peer notify, the status resource (in-process app)."""

from __future__ import annotations

import pytest

from powerctl.auth.bearer import encode_token
from powerctl.store import fleet as store
from tests.fleet.support import (
    CLIENT_RAW,
    CLIENT_UUID,
    PEER_TOKEN,
    PEER_UUID,
    fleet_config,
    result,
)
from tests.support import Api, wait_for

CLIENT = f"{CLIENT_UUID}.{encode_token(CLIENT_RAW)}"
PEER = f"{PEER_UUID}.{encode_token(PEER_TOKEN.encode())}"
STATE = "/restapi/relay/outlets/0/state/"
NOTIFY = "/restapi/auth/fleet/notify/"


@pytest.fixture
def gateway(make_app, tmp_path, responder, ca):
    """An app whose sync thread has applied version 1 at first start; poll off."""
    responder.answer = result(1, ca)

    def make(**fleet):
        app = make_app(fleet=fleet_config(tmp_path / "identity", responder, ca, poll_interval=0, **fleet))
        db = app.extensions["powerctl.db"]
        assert wait_for(lambda: store.held_version(db) == 1, timeout=5.0)
        return app

    return make


def notify(app, bearer: str | None = PEER, body: object = None):
    body = (
        body
        if body is not None
        else {"id": "n1", "api": "3", "method": "hub.offline.credentials.updated", "params": {"version": 2}}
    )
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return app.test_client().post(NOTIFY, json=body, headers=headers)


def test_synced_client_reads_with_the_default_read_only_scope(gateway):
    client = Api(gateway().test_client(), bearer=CLIENT)
    assert client.get(STATE).status_code == 200
    assert client.put(STATE, data={"value": "false"}).status_code == 403
    assert client.get("/restapi/auth/fleet/").status_code == 403


def test_client_role_gives_synced_clients_that_role(gateway, make_app):
    app = gateway(client_role="operator")
    admin, client = Api(app.test_client()), Api(app.test_client(), bearer=CLIENT)
    assert client.get(STATE).status_code == 403  # no such role yet: nothing is granted
    role = {"scopes": {"/relay/outlets/all;/state/": True}, "description": "switches"}
    assert admin.put("/restapi/auth/roles/operator/", json=role).status_code == 204
    assert client.put(STATE, data={"value": "false"}).status_code == 204


def test_notify_syncs_and_a_dropped_token_is_refused_at_once(gateway, responder, ca):
    app = gateway()
    client = Api(app.test_client(), bearer=CLIENT)
    assert client.get(STATE).status_code == 200  # now cached as valid
    responder.answer = result(2, ca, clients={})
    answer = notify(app)
    assert answer.status_code == 200
    assert answer.get_json() == {
        "error": None,
        "method": "hub.offline.credentials.updated",
        "id": "n1",
        "result": {"version": 1},
    }
    assert wait_for(lambda: store.held_version(app.extensions["powerctl.db"]) == 2, timeout=5.0)
    assert client.get(STATE).status_code == 401


def test_only_peers_may_notify(gateway):
    app = gateway()
    assert notify(app, bearer=CLIENT).status_code == 403
    assert notify(app, bearer=None).status_code == 401
    assert notify(app, bearer=f"{PEER_UUID}.{encode_token(b'wrong')}").status_code == 401
    assert Api(app.test_client()).post(NOTIFY, json={}).status_code == 403  # admins too
    body = notify(app, body={"id": 7, "method": "something.else"})
    assert body.status_code == 400 and body.get_json()["error"]["code"] == -32600
    assert Api(app.test_client(), bearer=PEER).get(STATE).status_code == 200  # peer role: get


def test_synced_id_that_is_denied_stays_refused(gateway, responder, ca):
    app = gateway()
    admin = Api(app.test_client())
    assert Api(app.test_client(), bearer=CLIENT).get(STATE).status_code == 200  # cached valid
    assert admin.put(f"/restapi/auth/denied/{CLIENT_UUID}/", json=CLIENT_UUID).status_code == 204
    assert Api(app.test_client(), bearer=CLIENT).get(STATE).status_code == 401
    responder.answer = result(2, ca)
    assert notify(app).status_code == 200
    assert wait_for(lambda: store.held_version(app.extensions["powerctl.db"]) == 2, timeout=5.0)
    assert Api(app.test_client(), bearer=CLIENT).get(STATE).status_code == 401
    assert admin.delete(f"/restapi/auth/denied/{CLIENT_UUID}/").status_code == 204
    assert Api(app.test_client(), bearer=CLIENT).get(STATE).status_code == 200


def test_status_says_when_the_fleet_server_is_unreachable(gateway, responder):
    app = gateway()
    admin = Api(app.test_client())
    status = admin.get("/restapi/auth/fleet/").get_json()
    assert status["version"] == 1 and status["last_error"] is None and status["last_sync"] > 0
    responder.stop()
    answer = admin.post("/restapi/auth/fleet/sync/")
    assert answer.status_code == 200 and "unreachable" in answer.get_json()["last_error"]
    status = admin.get("/restapi/auth/fleet/").get_json()
    assert status["version"] == 1 and "unreachable" in status["last_error"]
    assert Api(app.test_client(), bearer=CLIENT).get(STATE).status_code == 200
    assert any(
        "Fleet sync (by user admin" in line and "failed, keeping version 1" in line
        for line in app.extensions["powerctl.audit"].tail()
    )


def test_without_fleet_url_there_is_nothing_to_sync(app):
    admin = Api(app.test_client())
    assert admin.get("/restapi/auth/fleet/").get_json() == {
        "version": None,
        "last_sync": None,
        "last_error": None,
    }
    answer = admin.post("/restapi/auth/fleet/sync/")
    assert answer.status_code == 409 and "not configured" in answer.get_json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1]",
        b'{"id": 1, "method": 3}',
        b'{"id": 1, "method": "hub.offline.credentials.updated", "params": {"version": "9"}}',
        b'{"id": {}, "method": "hub.offline.credentials.updated", "params": [], "extra": true}',
    ],
)
def test_malformed_notify_is_a_json_rpc_error_not_a_500(gateway, body):
    answer = (
        gateway()
        .test_client()
        .post(NOTIFY, data=body, content_type="application/json", headers={"Authorization": f"Bearer {PEER}"})
    )
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == -32600 and answer.get_json()["result"] is None


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "OPTIONS"])
def test_notify_answers_other_methods_in_the_envelope_allowing_post_only(gateway, method):
    answer = gateway().test_client().open(NOTIFY, method=method, headers={"Authorization": f"Bearer {PEER}"})
    assert answer.status_code == 405 and "message" in answer.get_json()
    assert answer.headers["Allow"] == "POST"
