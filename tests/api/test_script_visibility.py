"""Whose threads a client sees in script/threads/ and may stop: its own, or those a scope covers."""

from __future__ import annotations

import pytest

from tests.api.scripts_support import FUNCTIONS, STOP, client, start, threads
from tests.support import wait_for


@pytest.fixture
def app(make_app):
    return make_app(scripts={"functions": FUNCTIONS})


@pytest.mark.parametrize(
    "scope", ["/script/threads/all;/label/?access=get", "/script/threads/all;/?access=get"]
)
def test_a_scope_over_every_thread_sees_and_stops_every_thread(app, admin, scope):
    watcher = client(app, admin, "watcher", {scope: True, STOP: True})
    start(admin, "long_nap")
    assert list(threads(watcher)) == ["1"]
    assert watcher.get("/restapi/script/threads/1/label/").json.startswith("long_nap (admin ")
    assert watcher.post("/restapi/script/stop/", json=["1"]).status_code == 204
    assert threads(admin) == {}


@pytest.mark.parametrize(
    "scopes",
    [
        {"/script/start/?access=invoke": True},
        {"/script/user_functions/long_nap/?access=invoke": True},
        {STOP: True},
    ],
)
def test_rights_that_only_open_the_listing_show_only_the_callers_own_threads(app, admin, scopes):
    # covered_by lets these list script/threads/; it is not a scope on other clients' threads.
    caller = client(app, admin, "caller", scopes)
    start(admin, "long_nap")
    assert threads(caller) == {}
    assert caller.get("/restapi/script/threads/1/label/").status_code == 404
    refused = caller.post("/restapi/script/stop/", json=["1"])
    assert refused.status_code in (403, 409)
    assert list(threads(admin)) == ["1"]


def test_a_right_that_opens_the_listing_opens_filtering_it_by_label(app, admin):
    """The label is readable through the start right (covered_by), so it may be filtered on."""
    from urllib.parse import quote

    caller = client(app, admin, "caller", {"/script/start/?access=get,invoke": True})
    start(admin, "long_nap")
    mine = start(caller, "long_nap").json
    # The label names the running step: wait for the minute-long sleep, so it holds still.
    label = "long_nap (caller via rest) sleep 60"
    assert wait_for(lambda: caller.get(f"/restapi/script/threads/{mine}/label/").json == label)
    found = caller.get(f"/restapi/script/threads/all;label={quote(label, safe='')}/label/")
    assert found.status_code == 207 and found.json == [label]  # its own thread, not admin's
    assert caller.get("/restapi/script/threads/all;label=nothing/label/").json == []
    stranger = client(app, admin, "stranger", {"/relay/?access=get": True})
    refused = stranger.get("/restapi/script/threads/all;label=x/")
    assert refused.status_code == 403 and "/script/threads/" in refused.json["message"]
    admin.post("/restapi/script/stop/", json=["all"])
