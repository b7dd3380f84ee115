"""Session tokens: creation rules, narrowing, use, outlet restriction, role changes, revocation."""

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

FORM = {"content_type": "application/x-www-form-urlencoded"}


@pytest.fixture(autouse=True)
def roles(admin):
    assert put_role(admin, "viewonly", VIEW) == 204
    assert put_role(admin, "switcher", SWITCH) == 204


GOOD = {"whoami": "alice@example.com", "role": "viewonly"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"whoami": None}, "whoami"),
        ({"role": None}, "role"),
        ({"whoami": ""}, "whoami"),
        ({"whoami": "a" * 129}, "whoami"),
        ({"whoami": "alice\nforged line"}, "whoami"),
        ({"whoami": 7}, "whoami"),
        ({"role": "no such role"}, "role"),
        ({"role": "ghost"}, "role"),
        ({"role": ["viewonly"]}, "role"),
        ({"outlets": []}, "outlets"),
        ({"outlets": [8]}, "outlets"),
        ({"outlets": [-1]}, "outlets"),
        ({"outlets": ["Nowhere"]}, "outlets"),
        ({"outlets": [True]}, "outlets"),
        ({"outlets": "1"}, "outlets"),
        ({"ttl": 0}, "ttl"),
        ({"ttl": 86401}, "ttl"),
        ({"ttl": -5}, "ttl"),
        ({"ttl": 1.5}, "ttl"),
        ({"ttl": "60"}, "ttl"),
        ({"ttl": True}, "ttl"),
        ({"thingKeys": ["a"]}, "thingKeys"),
    ],
    ids=lambda value: str(value)[:24],
)
def test_each_bad_field_is_400_naming_it_and_creates_nothing(admin, change, field):
    body = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    response = create(admin, **body)
    assert response.status_code == 400, response.json
    assert field in response.json["errors"]["/auth/sessions/"]
    assert admin.get("/restapi/auth/sessions/").json == {}


@pytest.mark.parametrize("body", [b"[]", b'"alice"', b"{", b"null"])
def test_a_body_that_is_no_json_object_is_400(admin, body):
    response = admin.post("/restapi/auth/sessions/", data=body, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("ttl", [1, 3600, 86400])
def test_ttl_bounds_are_accepted_and_set_expires(app, admin, ttl):
    start = int(time.time())
    app.extensions["powerctl.auth"].sessions.now = lambda: start
    response = create(admin, **GOOD, ttl=ttl)
    assert response.status_code == 200
    assert response.json["expires"] == start + ttl
    claims = jwt.decode(response.json["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == ttl


def test_ttl_defaults_to_an_hour(admin):
    token = create(admin, **GOOD).json
    claims = jwt.decode(token["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3600 == token["expires"] - claims["iat"]
    assert claims["sub"] == "alice@example.com" and claims["role"] == "viewonly"
    assert claims["creator"] == "user:admin" and "outlets" not in claims


def test_a_session_reads_what_its_role_allows_and_is_audited_as_jwt(app, admin):
    alice, _ = issue(app, admin)
    assert alice.get("/restapi/relay/outlets/all;/state/").status_code == 207
    assert alice.put("/restapi/relay/outlets/1/state/", data="value=false", **FORM).status_code == 403
    assert alice.get("/restapi/config/").status_code == 403
    lines = audit_lines(app)
    assert "access allowed for jwt:alice@example.com (role viewonly, bearer)" in lines
    assert any(
        line.startswith("access denied for jwt:alice@example.com (role viewonly, bearer)") for line in lines
    )


def test_outlets_restrict_every_selector_form_and_refuse_a_matrix_whole(app, admin):
    bob, body = issue(app, admin, role="switcher", outlets=[1, "Outlet 4"])
    assert jwt.decode(body["token"], options={"verify_signature": False})["outlets"] == [1, 3]
    assert bob.put("/restapi/relay/outlets/1/state/", data="value=false", **FORM).status_code == 204
    assert bob.get("/restapi/relay/outlets/=1,3/state/").json == [False, True]
    for path in (
        "/restapi/relay/outlets/2/state/",
        "/restapi/relay/outlets/all;/state/",
        "/restapi/relay/outlets/name=Outlet%203/state/",
        "/restapi/relay/outlets/",
    ):
        assert bob.get(path).status_code == 403, path
    refused = bob.put("/restapi/relay/outlets/=3,2/state/", data="value=false", **FORM)
    assert refused.status_code == 403
    assert admin.get("/restapi/relay/outlets/3/state/").json is True  # nothing switched


def test_a_role_change_applies_on_the_next_request(app, admin):
    alice, _ = issue(app, admin)
    assert alice.get("/restapi/relay/outlets/0/name/").status_code == 200
    assert put_role(admin, "viewonly", {"/relay/outlets/all;/state/?access=get": True}) == 204
    assert alice.get("/restapi/relay/outlets/0/name/").status_code == 403
    assert alice.get("/restapi/relay/outlets/0/state/").status_code == 200


def test_a_deleted_role_makes_its_sessions_invalid(app, admin):
    alice, _ = issue(app, admin)
    assert admin.delete("/restapi/auth/roles/viewonly/").status_code == 204
    response = alice.get("/restapi/relay/outlets/0/state/")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_client_may_create_a_session_it_covers_and_not_a_wider_one(app, admin):
    lab = add_client(app, admin, "lab", CREATOR_SCOPES)
    made = create(lab, whoami="ci-job-17", role="viewonly", ttl=60)
    assert made.status_code == 200
    assert holder(app, made.json["token"]).get("/restapi/relay/outlets/0/name/").status_code == 200
    wider = create(lab, whoami="ci-job-17", role="switcher")
    assert wider.status_code == 403
    assert "insufficient_scope" in wider.headers["WWW-Authenticate"]
    assert any(
        "role switcher grants" in line and "beyond the scopes of client lab" in line
        for line in audit_lines(app)
    )
    assert len(admin.get("/restapi/auth/sessions/").json) == 1


def test_a_client_needs_a_sessions_scope_and_get_to_see_its_token(app, admin):
    plain = add_client(app, admin, "plain", VIEW)
    assert create(plain, **GOOD).status_code == 403
    blind = add_client(app, admin, "blind", {**VIEW, "/auth/sessions/?access=invoke": True})
    assert create(blind, **GOOD).status_code == 204  # made, but the body needs get


def test_a_session_cannot_create_or_list_sessions_whatever_its_role(app, admin):
    assert put_role(admin, "everything", {"/": True}) == 204
    root, _ = issue(app, admin, role="everything")
    assert root.get("/restapi/relay/").status_code == 200
    assert create(root, **GOOD).status_code == 403
    assert root.get("/restapi/auth/sessions/").status_code == 403
    assert root.get("/restapi/auth/").status_code == 403


def test_a_role_widened_past_its_creator_refuses_the_creators_sessions(app, admin):
    lab = add_client(app, admin, "lab", CREATOR_SCOPES)
    session = holder(app, create(lab, whoami="job", role="viewonly").json["token"])
    assert session.get("/restapi/relay/outlets/0/state/").status_code == 200
    assert put_role(admin, "viewonly", {**VIEW, **SWITCH}) == 204
    assert session.get("/restapi/relay/outlets/0/state/").status_code == 401
