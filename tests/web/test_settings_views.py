"""The settings page's routes through the Flask test client: sign-in, audit, CSRF, tokens,
scope checks, escaping."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from powerctl.web import signin
from tests.api.sessions_support import VIEW, add_client, audit_lines
from tests.support import ADMIN_PASSWORD as PASSWORD
from tests.support import Api, digest_authorization

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

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
        {"scope": "/relay/", "ok": True, "warnings": []},
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


@pytest.mark.parametrize("accept", [BROWSER_ACCEPT, "text/html"])
def test_a_browser_without_credentials_gets_a_page_explaining_the_prompt(app, accept):
    response = app.test_client().get("/settings/", headers={"Accept": accept})
    assert response.status_code == 401 and response.mimetype == "text/html"
    assert response.headers["WWW-Authenticate"].startswith("Digest ")
    assert "HTTP Digest" in response.text and "powerctl user passwd admin" in response.text
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json, text/html;q=0.5"])
def test_api_clients_without_credentials_keep_the_json_envelope(app, accept):
    headers = {} if accept is None else {"Accept": accept}
    for path in ("/settings/", "/restapi/relay/"):
        response = app.test_client().get(path, headers=headers)
        assert response.status_code == 401 and response.mimetype == "application/json"
        assert response.json["code"] == 401 and response.headers["WWW-Authenticate"].startswith("Digest ")


def test_the_challenge_on_the_html_page_signs_the_browser_in(app):
    """The browser answers the page's challenge as it would the JSON one."""
    client = app.test_client()
    first = client.get("/settings/", headers={"Accept": BROWSER_ACCEPT})
    answer = digest_authorization(first.headers["WWW-Authenticate"], "GET", "/settings/", "admin", PASSWORD)
    second = client.get("/settings/", headers={"Accept": BROWSER_ACCEPT, "Authorization": answer})
    assert second.status_code == 200 and "signed in as" in second.text


def new_lines(app, before: list[str]) -> list[str]:
    lines = audit_lines(app)
    return lines[len(before) :] if lines[: len(before)] == before else lines


def test_views_write_one_sign_in_line_and_changes_their_lines(app, admin):
    first = admin.get("/settings/")
    token = re.search(r'name="csrf-token" content="([^"]+)"', first.text).group(1)
    assert audit_lines(app)[-1] == "access allowed for admin (admin@127.0.0.1, digest): settings page sign-in"
    before = audit_lines(app)
    page = {"X-CSRF": token}
    assert admin.get("/settings/").status_code == 200
    assert admin.get("/settings/scope-check/?scope=/relay/outlets/=9/").status_code == 200
    assert admin.get("/restapi/relay/outlets/all;/", headers=page).status_code == 207
    assert admin.get("/restapi/meter/values/", headers=page).status_code == 200
    assert new_lines(app, before) == []  # views of the page the admin signed in to
    assert admin.put("/restapi/relay/outlets/0/name/", json="kettle", headers=page).status_code == 204
    changed = new_lines(app, before)
    assert changed == [
        "access allowed for admin (admin@127.0.0.1, digest)",
        "Outlet 1: name set to 'kettle' by user admin from 127.0.0.1",
    ]


def test_reads_outside_the_page_are_audited_each(app, admin):
    admin.get("/settings/")
    before = audit_lines(app)
    admin.get("/restapi/relay/name/")  # an API read: no page token
    admin.get("/restapi/relay/name/", headers={"X-CSRF": "forged.00"})
    add_client(app, admin, "lab", VIEW).get("/restapi/relay/outlets/0/name/")
    lines = new_lines(app, before)
    assert lines.count("access allowed for admin (admin@127.0.0.1, digest)") == 3  # the PUT too
    assert "access allowed for lab (lab@127.0.0.1, bearer)" in lines


def test_a_view_after_a_long_idle_is_a_new_sign_in(app, admin):
    views = app.extensions["powerctl.page_views"]
    clock = [1000.0]
    views._now = lambda: clock[0]
    admin.get("/settings/")
    before = audit_lines(app)
    clock[0] += signin.IDLE - 1
    admin.get("/settings/")
    assert new_lines(app, before) == []
    clock[0] += signin.IDLE + 1
    admin.get("/settings/")
    assert new_lines(app, before) == [
        "access allowed for admin (admin@127.0.0.1, digest): settings page sign-in"
    ]


def test_scope_check_warns_of_outlets_and_ids_that_do_not_exist(app, admin):
    count = app.extensions["powerctl.relay"].count
    assert count == 8
    scope = "/relay/outlets/=9,x/state/"
    response = admin.get("/settings/scope-check/", query_string={"scope": scope})
    assert response.status_code == 200
    [result] = response.json
    assert result["ok"] is True
    assert result["warnings"] == [
        'no "9", "x" under /relay/outlets/ (it has 0, 1, 2, 3, 4, 5, 6, 7); the scope never covers them'
    ]
    # a warning, not a refusal: the API stores it
    assert (
        add_client(app, admin, "odd", {scope: True}).get("/restapi/relay/outlets/0/state/").status_code == 403
    )


WARNINGS = [
    ("/relay/outlets/=1,3,5/=state,transient_state/?access=modify,get", None),
    ("/relay/outlets/all;/=name,stat/", 'no "stat" under /relay/outlets/all;/'),
    ("/meter/values/=bus.0.power,bus.7.power/value/", 'no "bus.7.power" under /meter/values/'),
    ("/relay/outlets/0/state/on/", "/relay/outlets/0/state/ is a value"),
    ("/relays/", 'no "relays" under /'),
    ("/auth/clients/ghost/", 'no "ghost" under /auth/clients/: it is empty now'),
    ("/?access=get", None),
    ("/meter/values/all;/history/?access=get", None),  # reached by name only, still there
]


def test_scope_check_warning_table(admin):
    for scope, warning in WARNINGS:
        [result] = admin.get("/settings/scope-check/", query_string={"scope": scope}).json
        assert result["ok"] is True, scope
        if warning is None:
            assert result["warnings"] == [], scope
        else:
            assert len(result["warnings"]) == 1 and result["warnings"][0].startswith(warning), scope


BAD_BODIES = [
    ("[" * 100_000 + "]" * 100_000, "application/json"),
    ('{"uses": ' + "[" * 100_000 + "]" * 100_000 + "}", "application/json"),
    ("{not json", "application/json"),
    ("[2]", "application/json"),
    ("2", "text/plain"),
    ("uses=2", "application/x-www-form-urlencoded"),
]


def test_bad_token_bodies_are_400_and_add_nothing(app, admin, csrf):
    add_client(app, admin, "lab", VIEW)
    for body, content_type in BAD_BODIES:
        response = admin.post(
            "/settings/clients/lab/tokens/", data=body, content_type=content_type, headers={"X-CSRF": csrf}
        )
        assert response.status_code == 400 and response.json["code"] == 400, body[:20]
    assert len(admin.get("/restapi/auth/clients/lab/").json["access_tokens"]) == 1


def test_an_empty_token_body_means_no_limit(app, admin, csrf):
    add_client(app, admin, "lab", VIEW)
    response = admin.post("/settings/clients/lab/tokens/", headers={"X-CSRF": csrf})
    assert response.status_code == 200 and response.json["uses"] == "unlimited"


def test_every_section_is_on_the_page(app, admin):
    admin.post(
        "/restapi/auth/users/", json={"name": "ops", "password": "correct horse", "outlet_access": [True]}
    )
    admin.put("/restapi/auth/roles/viewonly/", json={"scopes": {"/relay/?access=get": True}})
    text = admin.get("/settings/").text
    for section in ("outlets", "meters", "users", "roles", "clients", "sessions", "denied", "fleet", "audit"):
        assert f'<section id="{section}"' in text
    assert 'data-user="ops"' in text and 'data-role="viewonly"' in text
    assert "<script>" not in text and "style=" not in text  # CSP: nothing inline
