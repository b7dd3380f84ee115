"""Routes of the settings page: the page, a scope checker, and token create/revoke.

Everything else the page reads live or changes (outlets, meters and their history, users,
roles, clients, denials, sessions) goes through /restapi/.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from powerctl import access
from powerctl.audit import audit
from powerctl.auth import Principal
from powerctl.auth.bearer import encode_token, token_hash
from powerctl.errors import BadRequest, NotFound, Unauthorized
from powerctl.resources.clients import CLIENT_ID
from powerctl.restapi.body import read_body
from powerctl.restapi.wire import no_content
from powerctl.store.credentials import add_token, remove_token
from powerctl.web import page, scopecheck, signin

bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/settings/static"
)

MAX_CHECKED = 256
MAX_USES = 1_000_000_000
SECURITY_HEADERS = {
    # nothing inline and nothing from elsewhere; never framed (clickjacking)
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none';"
    " form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def guard(changes: bool = False) -> Principal:
    """An admin, or 401/403; a request that changes something must carry the page's token.

    A view is audited only when it starts a sign-in (signin.PageViews), a change always.
    """
    principal = access.authenticate()
    access.require_admin(principal, "the settings page is for admins only")
    csrf = current_app.extensions["powerctl.csrf"]
    if changes and not csrf.valid(principal.name, request.headers.get("X-CSRF", "")):
        access.deny(principal, "the settings page's X-CSRF token is missing or stale; reload the page")
    access.allow(principal, "" if changes else "settings page sign-in")
    return principal


bp.register_error_handler(Unauthorized, signin.unauthorized)


@bp.after_request
def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@bp.get("/")
@bp.get("/settings/")
def settings() -> str:
    who = guard()
    app = current_app
    db = app.extensions["powerctl.db"]
    relay = app.extensions["powerctl.relay"]
    return render_template(
        "settings.html",
        sections=page.SECTIONS,
        csrf=app.extensions["powerctl.csrf"].issue(who.name),
        user=who.name,
        serial=db.get_setting("serial"),
        outlets=page.outlets(relay),
        users=page.users(db, relay.count),
        clients=page.clients(db),
        denied=page.denied(db),
        roles=page.roles(db),
        sessions=page.sessions(db, app.extensions["powerctl.auth"].sessions.now()),
        fleet=page.fleet(db, app.extensions.get("powerctl.fleet") is not None),
        presets=page.PRESETS,
        audit_lines=app.extensions["powerctl.audit"].tail(page.AUDIT_LINES)[::-1],
    )


@bp.get("/settings/scope-check/")
def scope_check() -> Response:
    """Parse each `scope` query value as the API would; errors carry the column, and a scope
    that parses carries `warnings` for names nothing has (outlet 9 of 8): stored all the same."""
    who = guard()
    tree = current_app.extensions["powerctl.tree"]
    return jsonify(
        [scopecheck.check(text, tree, who) for text in request.args.getlist("scope")[:MAX_CHECKED]]
    )


def _client(client_id: str):
    record = None
    if CLIENT_ID.fullmatch(client_id) is not None:
        record = current_app.extensions["powerctl.db"].client(client_id)
    if record is None:
        raise NotFound(f"no client {client_id[:64]!r}")
    return record


@bp.post("/settings/clients/<client_id>/tokens/")
def new_token(client_id: str) -> Response:
    """Make a 256-bit token in the server, store only its hash, and show it this once."""
    who = guard(changes=True)
    record = _client(client_id)
    body = read_body()  # a body JSON cannot hold (nested too deep) is a 400, like /restapi/'s
    if body.kind not in ("empty", "json") or not isinstance(body.value, dict | None):
        raise BadRequest(
            'send a JSON object: {"uses": N} or {"uses": null}', errors={"body": ["not an object"]}
        )
    uses = (body.value or {}).get("uses")
    if uses is not None and (type(uses) is not int or not 1 <= uses <= MAX_USES):
        raise BadRequest(
            f"uses must be empty (no limit) or a whole number from 1 to {MAX_USES}",
            errors={"uses": ["not a whole number in range"]},
        )
    raw = secrets.token_bytes(32)
    digest = token_hash(raw)
    with audit().change(
        f"Token {digest[:8]} added to client {client_id} by {who.actor()}"
        f" ({'no limit' if uses is None else f'{uses} uses'})"
    ):
        if not add_token(current_app.extensions["powerctl.db"], client_id, digest, uses):
            raise NotFound(f"no client {client_id!r}")
    token = f"{client_id}.{encode_token(raw)}"
    return jsonify(
        {
            "token": token,
            "hash": digest,
            "uses": page.uses_text({} if uses is None else {"remaining_use_count": uses}),
            "curl": page.curl_line(token, record, request.host_url, request.is_secure),
        }
    )


@bp.delete("/settings/clients/<client_id>/tokens/<digest>/")
def revoke_token(client_id: str, digest: str) -> Response:
    who = guard(changes=True)
    _client(client_id)
    with audit().change(f"Token {digest[:8]} of client {client_id} revoked by {who.actor()}"):
        if not remove_token(current_app.extensions["powerctl.db"], client_id, digest):
            raise NotFound(f"client {client_id} has no such token")
    return no_content()
