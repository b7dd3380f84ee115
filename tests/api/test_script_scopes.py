"""Who may start, see and stop scripts: scopes on script/ and the covered_by grants."""

from __future__ import annotations

import pytest

from tests.api.scripts_support import DAVE_SMITH, FUNCTIONS, STOP, audit_lines, client, start, threads
from tests.support import wait_for

START = "/script/start/?access=invoke"


@pytest.fixture
def app(make_app):
    return make_app(scripts={"functions": FUNCTIONS})


def test_dave_smith_starts_a_function_on_outlets_he_may_not_switch_by_hand(app, admin):
    dave = client(app, admin, "DaveSmith", DAVE_SMITH)
    assert dave.put("/restapi/relay/outlets/0/state/", json=False).status_code == 403
    response = start(dave, "long_nap")
    assert response.status_code == 204 and response.data == b""  # invoke without get
    assert threads(admin)["1"]["label"].startswith("long_nap (DaveSmith via rest) ")
    assert wait_for(lambda: admin.get("/restapi/relay/outlets/0/state/").json is False)
    assert "Script long_nap started as thread 1 by client DaveSmith from 127.0.0.1" in audit_lines(app)


def test_start_with_get_returns_the_thread_id(app, admin):
    reader = client(app, admin, "reader", {"/script/start/?access=invoke,get": True})
    response = start(reader, "long_nap")
    assert response.status_code == 200 and response.json == "1"


def test_a_client_restricted_to_some_functions_starts_only_those(app, admin):
    narrow = client(
        app, admin, "narrow", {"/script/user_functions/=cycle_schedule_1,long_nap/?access=invoke": True}
    )
    assert start(narrow, "long_nap").status_code == 204
    refused = start(narrow, "other")
    assert refused.status_code == 403
    assert "/script/start/" in refused.json["message"]
    assert refused.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'
    assert [entry["label"].split(" ")[0] for entry in threads(admin).values()] == ["long_nap"]


def test_a_function_scope_with_get_returns_the_thread_id(app, admin):
    narrow = client(app, admin, "narrow", {"/script/user_functions/long_nap/?access=invoke,get": True})
    response = start(narrow, "long_nap")
    assert response.status_code == 200 and response.json == "1"


def test_a_client_without_a_start_or_function_scope_cannot_start_anything(app, admin):
    for name, scopes in [
        ("reader", {"/relay/?access=get": True}),
        ("stopper", {STOP: True}),
        ("getter", {"/script/start/?access=get": True}),
        ("lister", {"/script/user_functions/?access=get": True}),
    ]:
        api = client(app, admin, name, scopes)
        response = start(api, "long_nap")
        assert response.status_code == 403, name
    assert threads(admin) == {}
    assert any("no invoke scope covers /script/start/" in line for line in audit_lines(app))


def test_malformed_bodies_do_not_widen_a_function_scope(app, admin):
    narrow = client(app, admin, "narrow", {"/script/user_functions/long_nap/?access=invoke": True})
    body = [{"user_function": "long_nap"}, {"user_function": "other"}]
    assert narrow.post("/restapi/script/start/", json=body).status_code == 403
    assert (
        narrow.post("/restapi/script/start/", data="[{", content_type="application/json").status_code == 400
    )
    assert threads(admin) == {}


def test_clients_see_and_stop_only_the_threads_they_started(app, admin):
    alice = client(app, admin, "alice", {START: True, STOP: True})
    bob = client(app, admin, "bob", {START: True, STOP: True})
    start(alice, "long_nap")
    start(admin, "long_nap")
    assert list(threads(alice)) == ["1"]
    assert threads(bob) == {}
    assert bob.get("/restapi/script/threads/1/").status_code == 404
    refused = bob.post("/restapi/script/stop/", json=["1"])
    assert refused.status_code == 409 and "that you started" in refused.json["message"]
    assert bob.post("/restapi/script/stop/", json=["all"]).status_code == 204
    assert sorted(threads(admin)) == ["1", "2"]
    assert alice.post("/restapi/script/stop/", json=["all"]).status_code == 204
    assert list(threads(admin)) == ["2"]


def test_get_on_threads_lets_a_client_see_and_stop_every_thread(app, admin):
    overseer = client(app, admin, "overseer", {"/script/threads/?access=get": True, STOP: True})
    start(admin, "long_nap")
    assert list(threads(overseer)) == ["1"]
    assert overseer.post("/restapi/script/stop/", json=["1"]).status_code == 204
    assert threads(admin) == {}


def test_stopping_needs_invoke_on_stop(app, admin):
    dave = client(app, admin, "DaveSmith", DAVE_SMITH)
    start(dave, "long_nap")
    refused = dave.post("/restapi/script/stop/", json=["all"])
    assert refused.status_code == 403 and "/script/stop/" in refused.json["message"]
    assert list(threads(admin)) == ["1"]


def test_whoever_may_start_scripts_lists_functions_and_own_threads(app, admin):
    dave = client(app, admin, "DaveSmith", DAVE_SMITH)
    assert dave.get("/restapi/script/threads/").json == {}
    start(dave, "long_nap")
    script = dave.get("/restapi/script/")
    assert script.status_code == 200
    assert list(script.json["user_functions"]) == list(FUNCTIONS)
    assert list(script.json["threads"]) == ["1"]


def test_a_function_scope_lists_only_what_it_may_start(app, admin):
    narrow = client(app, admin, "narrow", {"/script/user_functions/long_nap/?access=invoke": True})
    assert narrow.get("/restapi/script/user_functions/long_nap/").json == {}
    assert narrow.get("/restapi/script/user_functions/other/").status_code == 403
    assert narrow.get("/restapi/script/user_functions/").status_code == 403


def test_a_client_without_script_scopes_cannot_read_script(app, admin):
    reader = client(app, admin, "reader", {"/relay/?access=get": True})
    for path in ("/restapi/script/threads/", "/restapi/script/user_functions/", "/restapi/script/"):
        assert reader.get(path).status_code == 403, path
