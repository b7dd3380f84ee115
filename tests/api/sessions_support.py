"""Helpers for session-token tests: roles, a creating client, and session requests."""

from __future__ import annotations

from tests.api.clients_support import HELLO_HASH, register
from tests.support import Api

VIEW = {"/relay/outlets/all;/=name,state,physical_state/?access=get": True}
SWITCH = {"/relay/outlets/all;/=state,transient_state/?access=get,modify": True}
CREATOR_SCOPES = {
    "/auth/sessions/": True,  # create (invoke), read the token back (get), revoke (modify)
    "/relay/outlets/all;/=name,state,physical_state/?access=get": True,
}


def put_role(admin: Api, name: str, scopes: dict) -> int:
    return admin.put(f"/restapi/auth/roles/{name}/", json={"scopes": scopes}).status_code


def add_client(app, admin: Api, client_id: str, scopes: dict) -> Api:
    body = {
        "name": client_id,
        "redirect_urls": {},
        "refresh_tokens": {},
        "scopes": scopes,
        "access_tokens": {HELLO_HASH: {}},
    }
    assert register(admin, client_id, body).status_code == 204
    return Api(app.test_client(), bearer=f"{client_id}.SGVsbG8")


def create(api: Api, **body):
    return api.post("/restapi/auth/sessions/", json=body)


def holder(app, token: str) -> Api:
    return Api(app.test_client(), bearer=token)


def issue(app, admin: Api, role: str = "viewonly", **extra) -> tuple[Api, dict]:
    """A session token made by the admin, as (api for it, response body)."""
    response = create(admin, whoami="alice@example.com", role=role, **extra)
    assert response.status_code == 200, response.json
    return holder(app, response.json["token"]), response.json


def audit_lines(app) -> list[str]:
    return app.extensions["powerctl.audit"].tail(50)
