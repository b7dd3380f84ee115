"""Roles under auth/roles/: admins only, validated like client scopes, stored whole or not at all."""

from __future__ import annotations

import pytest

from tests.api.sessions_support import VIEW, add_client

ROLE = {"scopes": VIEW, "description": "read outlet names and states"}


def test_put_get_list_and_delete_a_role(admin):
    assert admin.put("/restapi/auth/roles/viewonly/", json=ROLE).status_code == 204
    assert admin.get("/restapi/auth/roles/viewonly/").json == ROLE
    assert admin.get("/restapi/auth/roles/").json == {"viewonly": ROLE}
    assert admin.put("/restapi/auth/roles/viewonly/", json={"scopes": {}}).status_code == 204
    assert admin.get("/restapi/auth/roles/viewonly/").json == {"scopes": {}, "description": ""}
    assert admin.delete("/restapi/auth/roles/viewonly/").status_code == 204
    assert admin.get("/restapi/auth/roles/viewonly/").status_code == 404
    assert admin.delete("/restapi/auth/roles/viewonly/").status_code == 404


def test_a_role_read_back_can_be_put_back_unchanged(admin):
    assert admin.put("/restapi/auth/roles/bare/", json={"scopes": VIEW}).status_code == 204
    read = admin.get("/restapi/auth/roles/bare/").json
    assert read["description"] == ""
    assert admin.put("/restapi/auth/roles/bare/", json=read).status_code == 204
    assert admin.get("/restapi/auth/roles/bare/").json == read


@pytest.mark.parametrize(
    ("body", "field", "needle"),
    [
        ({"scopes": {"/relay/outlets/all;locked/": True}}, "scopes", "column 20"),
        ({"scopes": {"/relay/?access=fly": True}}, "scopes", "fly"),
        ({"scopes": {"/relay/": False}}, "scopes", "must be true"),
        ({"scopes": []}, "scopes", "mapping"),
        ({}, "scopes", "required"),
        ({"scopes": {}, "description": "two\nlines"}, "description", "control"),
        ({"scopes": {}, "thingKeys": []}, "thingKeys", "Unknown"),
    ],
)
def test_a_bad_role_is_400_naming_the_problem_and_stores_nothing(admin, body, field, needle):
    response = admin.put("/restapi/auth/roles/viewonly/", json=body)
    assert response.status_code == 400
    errors = response.json["errors"]["/auth/roles/viewonly/"]
    assert needle in str(errors[field])
    assert admin.get("/restapi/auth/roles/").json == {}


def test_a_bad_role_name_is_400(admin):
    assert admin.put("/restapi/auth/roles/-lead/", json=ROLE).status_code == 400
    assert admin.put("/restapi/auth/roles/" + "r" * 65 + "/", json=ROLE).status_code == 400


def test_a_failed_replacement_keeps_the_old_role(admin):
    admin.put("/restapi/auth/roles/viewonly/", json=ROLE)
    bad = {"scopes": {"/relay/?access=fly": True}}
    assert admin.put("/restapi/auth/roles/viewonly/", json=bad).status_code == 400
    assert admin.get("/restapi/auth/roles/viewonly/").json == ROLE


def test_clients_never_reach_roles_or_the_denied_list(app, admin):
    wide = add_client(app, admin, "wide", {"/": True})
    for path in ("/restapi/auth/roles/", "/restapi/auth/denied/"):
        assert wide.get(path).status_code == 403, path
    assert wide.put("/restapi/auth/roles/mine/", json=ROLE).status_code == 403
    assert "auth" not in wide.get("/restapi/").json
