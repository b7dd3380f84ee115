"""Session lifetimes: revocation by admin or creator, the creator's deletion, the per-creator cap."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.api.sessions_support import (
    CREATOR_SCOPES,
    SWITCH,
    VIEW,
    add_client,
    audit_lines,
    create,
    holder,
    issue,
    put_role,
)

GOOD = {"whoami": "alice@example.com", "role": "viewonly"}


@pytest.fixture(autouse=True)
def roles(admin):
    assert put_role(admin, "viewonly", VIEW) == 204
    assert put_role(admin, "switcher", SWITCH) == 204


def test_revocation_by_admin_and_by_the_creator_only(app, admin):
    lab = add_client(app, admin, "lab", CREATOR_SCOPES)
    other = add_client(app, admin, "other", CREATOR_SCOPES)
    mine = create(lab, whoami="job", role="viewonly").json["token"]
    jti = jwt.decode(mine, options={"verify_signature": False})["jti"]
    assert list(lab.get("/restapi/auth/sessions/").json) == [jti]
    assert other.get("/restapi/auth/sessions/").json == {}
    assert other.delete(f"/restapi/auth/sessions/{jti}/").status_code == 404
    assert holder(app, mine).get("/restapi/relay/outlets/0/state/").status_code == 200
    assert lab.delete(f"/restapi/auth/sessions/{jti}/").status_code == 204
    assert holder(app, mine).get("/restapi/relay/outlets/0/state/").status_code == 401
    assert lab.delete(f"/restapi/auth/sessions/{jti}/").status_code == 404
    alice, body = issue(app, admin)
    admin_jti = jwt.decode(body["token"], options={"verify_signature": False})["jti"]
    assert lab.delete(f"/restapi/auth/sessions/{admin_jti}/").status_code == 404
    assert admin.delete(f"/restapi/auth/sessions/{admin_jti}/").status_code == 204
    assert alice.get("/restapi/relay/outlets/0/state/").status_code == 401
    assert any(f"Session {jti} revoked by client lab" in line for line in audit_lines(app))


def test_deleting_the_creator_ends_its_sessions(app, admin):
    lab = add_client(app, admin, "lab", CREATOR_SCOPES)
    session = holder(app, create(lab, whoami="job", role="viewonly").json["token"])
    assert admin.delete("/restapi/auth/clients/lab/").status_code == 204
    assert session.get("/restapi/relay/outlets/0/state/").status_code == 401


def test_a_creator_may_keep_only_so_many_unexpired_sessions(app, admin, monkeypatch):
    monkeypatch.setattr("powerctl.auth.sessions.MAX_PER_CREATOR", 2)
    _, body = issue(app, admin)
    issue(app, admin)
    jti = jwt.decode(body["token"], options={"verify_signature": False})["jti"]
    admin.delete(f"/restapi/auth/sessions/{jti}/")  # revoked still counts until it expires
    refused = create(admin, **GOOD)
    assert refused.status_code == 409 and "2 sessions" in refused.json["message"]
    sessions = app.extensions["powerctl.auth"].sessions
    later = time.time() + 3601
    sessions.now = lambda: later  # both have expired by now: room again
    assert create(admin, **GOOD).status_code == 200


def test_a_deleted_role_kills_its_sessions_for_good_even_when_the_name_returns(app, admin):
    alice, body = issue(app, admin)
    jti = jwt.decode(body["token"], options={"verify_signature": False})["jti"]
    assert alice.get("/restapi/relay/outlets/0/state/").status_code == 200
    assert admin.delete("/restapi/auth/roles/viewonly/").status_code == 204
    assert put_role(admin, "viewonly", {**VIEW, **SWITCH}) == 204  # same name, wider scopes
    assert alice.get("/restapi/relay/outlets/0/state/").status_code == 401
    assert alice.put("/restapi/relay/outlets/0/state/", json=False).status_code == 401
    assert admin.get("/restapi/relay/outlets/0/state/").json is True  # nothing switched
    assert jti not in admin.get("/restapi/auth/sessions/").json
    bob, _ = issue(app, admin)  # a session of the new role has the new scopes
    assert bob.put("/restapi/relay/outlets/0/state/", json=False).status_code == 204


def test_a_replaced_role_keeps_its_sessions(app, admin):
    alice, _ = issue(app, admin)
    assert put_role(admin, "viewonly", {**VIEW, **SWITCH}) == 204  # PUT over it: same role
    assert alice.put("/restapi/relay/outlets/0/state/", json=False).status_code == 204
