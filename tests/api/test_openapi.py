"""The OpenAPI contract: served as written in docs/openapi.yaml, and true of the app."""

from __future__ import annotations

import json

import pytest

from powerctl import openapi
from powerctl.version import __version__

SPEC = json.loads(openapi.render(openapi.SOURCE.read_text(encoding="utf-8")))
FIXED_READS = sorted(
    path
    for path, item in SPEC["paths"].items()
    if path.startswith("/restapi/") and "{" not in path and "get" in item
)


def test_the_served_document_is_the_yaml_source_as_json(app):
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.json == SPEC, "powerctl/openapi.json is stale: run `make openapi`"


def test_the_document_is_openapi_31_for_this_version():
    assert SPEC["openapi"] == "3.1.0"
    assert SPEC["info"]["version"] == __version__
    assert set(SPEC["components"]["securitySchemes"]) == {"digest", "bearer", "peerCertificate"}


def test_every_status_the_issue_names_is_described():
    described = {
        code
        for item in SPEC["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for code in operation.get("responses", {})
    }
    assert {
        "200",
        "204",
        "206",
        "207",
        "400",
        "401",
        "403",
        "404",
        "405",
        "409",
        "413",
        "415",
        "503",
    } <= described


@pytest.mark.parametrize("path", FIXED_READS)
def test_each_documented_read_answers_as_described(admin, path):
    response = admin.get(path)
    responses = SPEC["paths"][path]["get"]["responses"]
    assert response.status_code in (200, 207), response.get_data(as_text=True)
    assert str(response.status_code) in responses


def test_other_methods_and_options_are_refused_in_the_envelope(app):
    client = app.test_client()
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        response = client.open("/openapi.json", method=method)
        assert response.status_code == 405 and response.json["code"] == 405


def test_session_tokens_roles_and_the_denied_list_are_described():
    operations = {
        (path, method)
        for path, item in SPEC["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete")
    }
    assert {
        ("/restapi/auth/roles/", "get"),
        ("/restapi/auth/roles/{role}/", "get"),
        ("/restapi/auth/roles/{role}/", "put"),
        ("/restapi/auth/roles/{role}/", "delete"),
        ("/restapi/auth/sessions/", "get"),
        ("/restapi/auth/sessions/", "post"),
        ("/restapi/auth/sessions/{jti}/", "get"),
        ("/restapi/auth/sessions/{jti}/", "delete"),
        ("/restapi/auth/denied/", "get"),
        ("/restapi/auth/denied/{client}/", "get"),
        ("/restapi/auth/denied/{client}/", "delete"),
    } <= operations
    assert "JWT" in SPEC["components"]["securitySchemes"]["bearer"]["description"]
    create = SPEC["paths"]["/restapi/auth/sessions/"]["post"]
    assert "security" not in create  # clients too, through their scopes
    assert {"200", "204", "400", "401", "403", "409"} <= set(create["responses"])
