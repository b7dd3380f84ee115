"""Client registration by admins, and validation that stores nothing on error."""

from __future__ import annotations

import copy

import pytest

from tests.api.clients_support import EXAMPLE_1, HELLO_HASH, register


def test_register_read_list_and_delete_a_client(admin):
    assert register(admin, "testclient", EXAMPLE_1).status_code == 204
    got = admin.get("/restapi/auth/clients/testclient/")
    assert got.status_code == 200 and got.json == EXAMPLE_1
    assert list(admin.get("/restapi/auth/clients/").json) == ["testclient"]
    assert admin.delete("/restapi/auth/clients/testclient/").status_code == 204
    assert admin.get("/restapi/auth/clients/testclient/").status_code == 404


def test_register_replaces_the_whole_client(admin):
    register(admin, "testclient", EXAMPLE_1)
    smaller = dict(EXAMPLE_1, scopes={"/relay/?access=get": True}, access_tokens={})
    assert register(admin, "testclient", smaller).status_code == 204
    assert admin.get("/restapi/auth/clients/testclient/").json == smaller


def _mutate(path, value):
    body = copy.deepcopy(EXAMPLE_1)
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("body", "field", "needle"),
    [
        (_mutate(["name"], "user 2"), "name", "letters and digits"),
        (_mutate(["name"], KeyError), "name", "required"),
        (_mutate(["scopes", "/relay/outlets/all;locked/"], True), "scopes", "column 20"),
        (_mutate(["scopes", "/relay/?access=destroy"], True), "scopes", "destroy"),
        (_mutate(["scopes", "relay/"], True), "scopes", "column 1"),
        (_mutate(["scopes", "/relay/"], False), "scopes", "must be true"),
        (_mutate(["access_tokens", "ABC"], {}), "access_tokens", "64 lowercase hex"),
        (_mutate(["access_tokens", HELLO_HASH], {"remaining_use_count": -1}), "access_tokens", ""),
        (_mutate(["access_tokens", HELLO_HASH], {"remaining_use_count": "3"}), "access_tokens", ""),
        (_mutate(["access_tokens", HELLO_HASH], {"uses": 3}), "access_tokens", ""),
        (_mutate(["extra"], 1), "extra", "Unknown"),
        ([1, 2], "", "object"),
    ],
    ids=[
        "name-space",
        "name-missing",
        "scope-grammar",
        "scope-verb",
        "scope-relative",
        "scope-false",
        "token-not-hex",
        "uses-negative",
        "uses-string",
        "limit-key",
        "unknown-key",
        "not-object",
    ],
)
def test_bad_registration_is_400_naming_the_field_and_stores_nothing(admin, body, field, needle):
    response = register(admin, "testclient", body)
    assert response.status_code == 400
    assert field in response.data.decode() and needle in response.data.decode()
    assert admin.get("/restapi/auth/clients/").json == {}


def test_bad_client_id_is_400(admin):
    response = register(admin, "bad-id", EXAMPLE_1)
    assert response.status_code in (400, 404)
    assert admin.get("/restapi/auth/clients/").json == {}


def test_client_registrations_need_admin(app):
    from tests.support import Api

    assert Api(app.test_client(), user=None).get("/restapi/auth/clients/").status_code == 401
