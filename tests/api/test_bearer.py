"""Bearer clients: token checks, use counts, scope enforcement and audit lines."""

from __future__ import annotations

import base64

import pytest

from tests.api.clients_support import EXAMPLE_1, HELLO_HASH, register
from tests.support import Api

FORM = {"content_type": "application/x-www-form-urlencoded"}


@pytest.fixture
def testclient(app, admin):
    register(admin, "testclient", EXAMPLE_1)
    return Api(app.test_client(), bearer="testclient.SGVsbG8")


def example_2(admin):
    body = {
        "name": "DaveSmith",
        "redirect_urls": {},
        "refresh_tokens": {},
        "scopes": {
            "/relay/outlets/all;/=name/": True,
            "/relay/outlets/all;/=state,transient_state,physical_state/?access=get": True,
            "/relay/outlets/=2,3,5;/=state,transient_state/?access=modify,get": True,
            "/relay/outlets/=2,3,6/=cycle/?access=invoke,get": True,
            "/network/wireless/enabled/?access=modify,get": True,
            "/script/start/?access=invoke": True,
        },
        "access_tokens": {HELLO_HASH: {}},
    }
    assert register(admin, "DaveSmith", body).status_code == 204


@pytest.mark.parametrize(
    "header",
    [
        "Bearer testclient.SGVsbG8x",  # another token
        "Bearer otherclient.SGVsbG8",  # unknown client
        "Bearer testclient.",  # empty token
        "Bearer .SGVsbG8",  # empty client
        "Bearer testclientSGVsbG8",  # no dot
        "Bearer testclient.SGV$bG8",  # not base64url
        "Bearer testclient.S",  # impossible base64 length
        "Bearer testclient.SGVsbG8 extra",  # trailing junk
        "Bearer",  # nothing
        "Bearer " + "a" * 5000,  # oversized
        "Bearer tëstclient.SGVsbG8",  # non-ascii
    ],
    ids=[
        "wrong-token",
        "unknown-client",
        "empty-token",
        "empty-client",
        "no-dot",
        "bad-b64",
        "bad-length",
        "junk",
        "nothing",
        "huge",
        "non-ascii",
    ],
)
def test_bad_bearer_credentials_are_401_invalid_token(app, testclient, header):
    response = app.test_client().get("/restapi/relay/outlets/1/state/", headers={"Authorization": header})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert response.json["code"] == 401


def test_padded_token_is_accepted(app, testclient):
    padded = base64.urlsafe_b64encode(b"Hello").decode()
    response = app.test_client().get(
        "/restapi/relay/outlets/1/state/", headers={"Authorization": f"Bearer testclient.{padded}"}
    )
    assert response.status_code == 200


def test_reference_example_1_scopes(testclient):
    # can rename any outlet
    assert testclient.put("/restapi/relay/outlets/7/name/", data="value=Seven", **FORM).status_code == 204
    assert testclient.get("/restapi/relay/outlets/all;/name/").status_code == 207
    # can read but not switch outlets 1, 3, 5
    for index in (1, 3, 5):
        assert testclient.get(f"/restapi/relay/outlets/{index}/physical_state/").status_code == 200
    assert testclient.put("/restapi/relay/outlets/1/state/", data="value=false", **FORM).status_code == 403
    # can switch outlet 3 (modify without get answers 204)
    assert testclient.put("/restapi/relay/outlets/3/state/", data="value=false", **FORM).status_code == 204
    # can cycle outlet 5 and read the result
    cycled = testclient.post("/restapi/relay/outlets/5/cycle/")
    assert cycled.status_code == 200 and cycled.json == 5.0
    # can read every meter value's value and nothing else of the meters
    assert testclient.get("/restapi/meter/values/all;/value/").status_code == 207
    assert testclient.get("/restapi/meter/values/all;/name/").status_code == 403
    assert testclient.get("/restapi/meter/values/").status_code == 403
    # everything else
    for path in (
        "/restapi/relay/outlets/0/state/",
        "/restapi/relay/outlets/2/physical_state/",
        "/restapi/relay/",
        "/restapi/",
        "/restapi/config/version/",
    ):
        response = testclient.get(path)
        assert response.status_code == 403, path
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert testclient.post("/restapi/relay/outlets/3/cycle/").status_code == 403


def test_denied_matrix_write_switches_nothing(app, admin):
    register(
        admin,
        "partial",
        dict(EXAMPLE_1, name="partial", scopes={"/relay/outlets/=0,1,2,3,4,5,6/state/?access=modify": True}),
    )
    client = Api(app.test_client(), bearer="partial.SGVsbG8")
    response = client.put("/restapi/relay/outlets/all;/state/", data="value=false", **FORM)
    assert response.status_code == 403
    assert "/relay/outlets/7/state/" in response.json["message"]
    assert admin.get("/restapi/relay/outlets/all;/state/").json == [True] * 8


def test_modify_without_get_cannot_read(testclient):
    assert testclient.get("/restapi/relay/outlets/3/transient_state/").status_code == 200
    assert (
        testclient.put("/restapi/relay/outlets/3/transient_state/", data="value=false", **FORM).status_code
        == 204
    )


def test_example_2_invoke_without_get_answers_204(app, admin):
    example_2(admin)
    dave = Api(app.test_client(), bearer="DaveSmith.SGVsbG8")
    assert dave.put("/restapi/relay/outlets/1/state/", data="value=true", **FORM).status_code == 403
    assert dave.put("/restapi/relay/outlets/2/state/", data="value=false", **FORM).status_code == 204
    assert dave.post("/restapi/relay/outlets/3/cycle/").status_code == 200
    states = dave.get("/restapi/relay/outlets/all;/physical_state/")
    assert states.status_code == 207 and len(states.json) == 8


def test_clients_never_reach_auth(testclient):
    for path in (
        "/restapi/auth/",
        "/restapi/auth/clients/",
        "/restapi/auth/clients/testclient/",
        "/restapi/auth/users/",
    ):
        assert testclient.get(path).status_code == 403, path
    assert testclient.put("/restapi/auth/clients/evil/", json=EXAMPLE_1).status_code == 403


def test_clients_cannot_change_admin_settings(app, admin):
    register(admin, "wide", dict(EXAMPLE_1, name="wide", scopes={"/": True}))
    wide = Api(app.test_client(), bearer="wide.SGVsbG8")
    response = wide.put("/restapi/config/lockout_delay_minutes/", data="value=0", **FORM)
    assert response.status_code == 403
    assert wide.get("/restapi/relay/").status_code == 200
    assert "auth" not in wide.get("/restapi/").json


def test_use_counts_are_spent_and_then_refused(app, admin):
    register(
        admin,
        "limited",
        dict(EXAMPLE_1, name="limited", access_tokens={HELLO_HASH: {"remaining_use_count": 2}}),
    )
    client = Api(app.test_client(), bearer="limited.SGVsbG8")
    assert client.get("/restapi/relay/outlets/1/state/").status_code == 200
    assert client.get("/restapi/relay/outlets/0/state/").status_code == 403  # spent too
    refused = client.get("/restapi/relay/outlets/1/state/")
    assert refused.status_code == 401
    assert "no uses left" in refused.json["message"]
    left = admin.get("/restapi/auth/clients/limited/").json["access_tokens"][HELLO_HASH]
    assert left == {"remaining_use_count": 0}


def test_unlimited_tokens_are_not_written(app, admin, tmp_path):
    example_2(admin)
    db = app.extensions["powerctl.db"]
    dave = Api(app.test_client(), bearer="DaveSmith.SGVsbG8")
    before = db.connection().total_changes
    for _ in range(5):
        assert dave.get("/restapi/relay/outlets/all;/state/").status_code == 207
    assert db.connection().total_changes == before


def test_audit_lines_name_the_client_and_the_change(app, testclient):
    testclient.put("/restapi/relay/outlets/3/state/", data="value=false", **FORM)
    testclient.get("/restapi/relay/outlets/0/state/")
    lines = app.extensions["powerctl.audit"].tail(10)
    assert any("access allowed for user2 (testclient@127.0.0.1, bearer)" == line for line in lines)
    assert any(line.startswith("access denied for user2 (testclient@127.0.0.1, bearer)") for line in lines)
    assert any(
        "Outlet 4: Configured state set to Off by client testclient from 127.0.0.1" == line for line in lines
    )


def test_no_token_or_password_reaches_the_log_or_the_store(app, testclient, tmp_path, caplog):
    caplog.set_level("DEBUG")
    testclient.get("/restapi/relay/outlets/1/state/")
    app.test_client().get("/restapi/", headers={"Authorization": "Bearer testclient.U2VjcmV0"})
    app.extensions["powerctl.audit"].flush()
    assert "SGVsbG8" not in caplog.text and "U2VjcmV0" not in caplog.text
    blob = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("powerctl.db*"))
    assert b"SGVsbG8" not in blob and b"U2VjcmV0" not in blob


def test_a_revocation_by_another_process_takes_effect_on_the_next_request(app, admin, tmp_path):
    from powerctl.store import Database

    example_2(admin)
    dave = Api(app.test_client(), bearer="DaveSmith.SGVsbG8")
    for _ in range(3):  # the second and third answers come from the verifier's memory
        assert dave.get("/restapi/relay/outlets/all;/state/").status_code == 207
    other_process = Database(tmp_path / "data" / "powerctl.db")
    other_process.delete_client("DaveSmith")
    other_process.close()
    assert dave.get("/restapi/relay/outlets/all;/state/").status_code == 401


def test_scopes_narrowed_by_another_process_hold_on_the_next_request(app, admin, tmp_path):
    """A token answered from the verifier's memory (its grants too) is checked against the
    new scopes once another process (the CLI) re-registers its client with fewer."""
    from powerctl.store import ClientRecord, Database

    example_2(admin)
    dave = Api(app.test_client(), bearer="DaveSmith.SGVsbG8")
    for _ in range(3):
        assert dave.get("/restapi/relay/outlets/all;/physical_state/").status_code == 207
    other_process = Database(tmp_path / "data" / "powerctl.db")
    other_process.put_client(
        ClientRecord("DaveSmith", "DaveSmith", ("/relay/outlets/all;/=name/",), {}, {}, {HELLO_HASH: {}}, 0)
    )
    other_process.close()
    assert dave.get("/restapi/relay/outlets/all;/physical_state/").status_code == 403
    assert dave.get("/restapi/relay/outlets/all;/name/").status_code == 207


def test_replacing_a_registration_drops_a_remembered_token(app, admin):
    example_2(admin)
    dave = Api(app.test_client(), bearer="DaveSmith.SGVsbG8")
    assert dave.get("/restapi/relay/outlets/all;/state/").status_code == 207
    register(admin, "DaveSmith", dict(EXAMPLE_1, name="DaveSmith", access_tokens={}))
    assert dave.get("/restapi/relay/outlets/all;/state/").status_code == 401
