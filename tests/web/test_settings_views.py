"""The settings page's routes through the Flask test client: auth, CSRF, tokens, escaping."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from tests.api.sessions_support import VIEW, add_client, audit_lines
from tests.support import Api

FORM = {"content_type": "application/x-www-form-urlencoded"}


@pytest.fixture
def csrf(admin) -> str:
    page = admin.get("/settings/")
    assert page.status_code == 200
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


def new_token(admin, csrf, client="lab", **body):
    return admin.post(f"/settings/clients/{client}/tokens/", json=body, headers={"X-CSRF": csrf})


@pytest.mark.parametrize("path", ["/", "/settings/"])
def test_the_page_is_for_admins_and_locked_down(app, admin, path):
    response = admin.get(path)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert 'name="viewport"' in response.text
    assert Api(app.test_client(), user=None).get(path).status_code == 401
    wide = add_client(app, admin, "wide", {"/": True})
    assert wide.get(path).status_code == 403
    assert any(
        line.startswith("access denied for wide (wide@127.0.0.1, bearer): the settings page")
        for line in audit_lines(app)
    )


def test_names_are_escaped(admin):
    admin.put("/restapi/relay/outlets/0/name/", data="value=<script>x()</script>", **FORM)
    text = admin.get("/settings/").text
    assert "<script>x()" not in text and "&lt;script&gt;x()" in text


def test_scope_check_answers_with_the_column(admin):
    response = admin.get("/settings/scope-check/?scope=/relay/&scope=/relay/outlets/all;locked/")
    assert response.json == [
        {"scope": "/relay/", "ok": True},
        {
            "scope": "/relay/outlets/all;locked/",
            "ok": False,
            "message": 'missing "=" in filter',
            "column": 20,
        },
    ]


def test_a_token_is_made_in_the_server_shown_once_and_stored_as_a_hash(app, admin, csrf):
    add_client(app, admin, "lab", VIEW)
    made = new_token(admin, csrf, uses=2)
    assert made.status_code == 200
    token = made.json["token"]
    client, _, encoded = token.partition(".")
    assert client == "lab" and "Bearer " + token in made.json["curl"]
    stored = admin.get("/restapi/auth/clients/lab/").json["access_tokens"]
    assert stored[made.json["hash"]] == {"remaining_use_count": 2}
    raw = base64.urlsafe_b64decode(encoded + "=")
    assert len(raw) == 32 and hashlib.sha256(raw).hexdigest() == made.json["hash"]
    assert Api(app.test_client(), bearer=token).get("/restapi/relay/outlets/0/name/").status_code == 200
    assert not any(encoded in line for line in audit_lines(app))


@pytest.mark.parametrize("uses", [0, -1, "3", True, 1.5, 10**10])
def test_bad_use_counts_are_400_and_add_nothing(app, admin, csrf, uses):
    add_client(app, admin, "lab", VIEW)
    assert new_token(admin, csrf, uses=uses).status_code == 400
    assert len(admin.get("/restapi/auth/clients/lab/").json["access_tokens"]) == 1


@pytest.mark.parametrize("header", [None, "x", "0.0", "deadbeef.00"])
def test_changes_need_the_pages_csrf_token(app, admin, header):
    add_client(app, admin, "lab", VIEW)
    headers = {} if header is None else {"X-CSRF": header}
    response = admin.post("/settings/clients/lab/tokens/", json={}, headers=headers, csrf=False)
    assert response.status_code == 403
    assert len(admin.get("/restapi/auth/clients/lab/").json["access_tokens"]) == 1


def test_a_csrf_token_is_bound_to_its_user_and_expires(app):
    tokens = app.extensions["powerctl.csrf"]
    token = tokens.issue("admin")
    assert tokens.valid("admin", token) and not tokens.valid("bob", token)
    issued = tokens.now()
    tokens.now = lambda: issued + tokens.lifetime + 1
    assert not tokens.valid("admin", token)
    assert not tokens.valid("admin", "é.ü")


def test_revoking_a_token_refuses_it_at_once(app, admin, csrf):
    add_client(app, admin, "lab", VIEW)
    made = new_token(admin, csrf).json
    path = f"/settings/clients/lab/tokens/{made['hash']}/"
    assert admin.delete(path, headers={"X-CSRF": csrf}).status_code == 204
    assert Api(app.test_client(), bearer=made["token"]).get("/restapi/relay/").status_code == 401
    assert admin.delete(path, headers={"X-CSRF": csrf}).status_code == 404


def test_tokens_for_unknown_or_malformed_clients_are_404(admin, csrf):
    assert new_token(admin, csrf, client="ghost").status_code == 404
    assert new_token(admin, csrf, client="bad-id").status_code == 404
