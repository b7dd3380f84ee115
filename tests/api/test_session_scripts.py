"""A session narrowed to some outlets starts only functions that stay on them."""

from __future__ import annotations

import pytest

from tests.api.scripts_support import FUNCTIONS, start, states
from tests.api.sessions_support import issue, put_role

NARROW_FUNCTIONS = {
    **FUNCTIONS,
    "all_unlocked_on": {"steps": [{"action": "on", "outlets": "all;locked=false"}]},
    "one_on": {"args": ["outlet"], "steps": [{"action": "on", "outlets": "$outlet"}]},
    "calls_other": {"steps": [{"action": "call", "function": "one_on", "args": [4]}]},
    "listed": {"steps": [{"action": "on", "outlets": "=1"}]},
}
STARTER = {"/script/start/?access=invoke,get": True, "/script/user_functions/?access=invoke": True}


@pytest.fixture
def app(make_app):
    return make_app(scripts={"functions": NARROW_FUNCTIONS})


@pytest.mark.parametrize(
    ("name", "extra"),
    [("all_unlocked_on", {}), ("one_on", {"args": [4]}), ("calls_other", {}), ("cycle_schedule_1", {})],
)
def test_a_function_reaching_other_outlets_is_refused_before_it_runs(app, admin, name, extra):
    for index in range(8):
        assert admin.put(f"/restapi/relay/outlets/{index}/state/", json=False).status_code == 204
    assert put_role(admin, "starter", STARTER) == 204
    session, _ = issue(app, admin, role="starter", outlets=[1])
    response = start(session, name, **extra)
    assert response.status_code == 403, response.json
    assert "outside this token's bounds" in response.json["message"]
    assert states(admin) == [False] * 8  # nothing ran
    assert app.extensions["powerctl.scripts"].ids() == []


@pytest.mark.parametrize(("name", "extra"), [("one_on", {"args": [1]}), ("listed", {})])
def test_a_function_within_the_outlets_starts(app, admin, name, extra):
    assert admin.put("/restapi/relay/outlets/1/state/", json=False).status_code == 204
    assert put_role(admin, "starter", STARTER) == 204
    session, _ = issue(app, admin, role="starter", outlets=[1])
    assert start(session, name, **extra).status_code == 200


def test_a_session_without_outlets_starts_any_function(app, admin):
    assert put_role(admin, "starter", STARTER) == 204
    session, _ = issue(app, admin, role="starter")
    assert start(session, "all_unlocked_on").status_code == 200
