"""The admin REST API: bearer-token auth, controllers, their clients and peers, denied list."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import Schema, ValidationError, fields

from fleetserver import schemas, settings
from fleetserver.models import DEFAULT_ACCOUNT
from fleetserver.pages import Page
from powerctl.errors import BadRequest, Forbidden, NotFound, Unauthorized, describe_validation

bp = Blueprint("fleet_admin", __name__)
audit = logging.getLogger("powerctl.fleet.audit")


def fleet():
    return current_app.extensions["powerctl.fleet"]


def _storable(value: object) -> bool:
    """Whether every string in a JSON value, keys included, is text a database can store: no
    lone surrogate (json accepts them; they are no UTF-8) and no NUL (PostgreSQL refuses it)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            stack += item
        elif isinstance(item, str):
            if "\x00" in item or not (item.isascii() or _encodes(item)):
                return False
    return True


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def body(schema: Schema) -> dict:
    """The JSON body validated by `schema`; anything else is a 400 that changes nothing."""
    try:
        value = request.get_json(silent=True)
    except RecursionError as err:
        raise BadRequest("the JSON body is nested too deeply") from err
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object (Content-Type: application/json)")
    if not _storable(value):
        raise BadRequest(
            "invalid input", errors=["body: text must not hold NUL characters or lone surrogates"]
        )
    try:
        return schema.load(value)
    except ValidationError as err:
        raise BadRequest("invalid input", errors=describe_validation(err.messages)) from err


def uuid_arg(text: str, what: str = "uuid") -> str:
    try:
        return schemas.check_uuid(text, what)
    except ValidationError as err:
        raise BadRequest("invalid input", errors=describe_validation(err.messages)) from err


def authenticate() -> None:
    """The caller: an operator (admin) token, its id in `g.admin` and `g.account` None, which
    sees every account; or an account token, `g.account` its account and `g.admin` None, which
    sees only that account's objects. Else 401. Either way one audit line."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    g.admin = g.account = None
    if token:
        g.admin = fleet().admins.identify(token)
        if g.admin is None and (found := fleet().accounts.identify(token)) is not None:
            g.account, g.token_id = found
    if g.admin is not None:
        audit.info(
            "access allowed for the operator (admin token %s): %s %s", g.admin, request.method, request.path
        )
    elif g.account is not None:
        audit.info(
            "access allowed for account %s (token %s): %s %s",
            g.account,
            g.token_id,
            request.method,
            request.path,
        )
    else:
        audit.info(
            "access denied (%s): %s %s", "bad token" if token else "no token", request.method, request.path
        )
        raise Unauthorized(
            "an admin or account token is required",
            headers={"WWW-Authenticate": 'Bearer realm="powerctl fleet"'},
        )


def operator_only() -> None:
    """Operator routes (accounts, admin tokens): an account token is refused with 403."""
    authenticate()
    if g.admin is None:
        audit.info(
            "access denied for account %s (operator only): %s %s", g.account, request.method, request.path
        )
        raise Forbidden("this route needs the operator's admin token")


def scope() -> str | None:
    """The account whose objects the caller sees; None: the operator, who sees all."""
    return g.account


def caller() -> str:
    """Who acts, for audit lines: `account X` or `the operator (admin token T)`."""
    return f"account {g.account}" if g.account is not None else f"the operator (admin token {g.admin})"


def owner_for(value: dict) -> str:
    """The account a new object goes to: the caller's own, or for the operator the body's
    `account` (default: the default account). An account naming another one gets the 404 of
    an account that does not exist."""
    asked = value.pop("account", None)
    if g.account is not None:
        if asked not in (None, g.account):
            raise NotFound(f"no account {asked}")
        return g.account
    return asked or DEFAULT_ACCOUNT


bp.before_request(authenticate)


@bp.get("/registration-code")
def registration_code():
    return jsonify(registrationCode=settings.registration_code(fleet().db))


@bp.post("/controllers")
def create_controller():
    value = body(schemas.ControllerSchema())
    owner = owner_for(value)
    return jsonify(
        fleet().controllers.create(value["uuid"], value["serial"], value["notify_url"], owner)
    ), 201


@bp.get("/controllers")
def list_controllers():
    rows, marker = fleet().controllers.list(Page.parse(request.args), scope())
    return jsonify(controllers=rows, nextMarker=marker)


@bp.get("/controllers/<uuid>")
def get_controller(uuid: str):
    return jsonify(fleet().controllers.get(uuid_arg(uuid), scope()))


@bp.patch("/controllers/<uuid>")
def update_controller(uuid: str):
    raw = request.get_json(silent=True)
    value = body(schemas.ControllerUpdateSchema())
    if value.get("uuid") not in (None, uuid):
        raise BadRequest("a controller's uuid cannot change")
    described, notice = fleet().controllers.update(
        uuid_arg(uuid), value.get("serial"), value.get("notify_url"), "notify_url" in raw, scope()
    )
    fleet().notifier.send([notice])
    return jsonify(described)


class RotateSchema(schemas.Strict):
    immediate = fields.Boolean(load_default=False)


@bp.post("/controllers/<uuid>/rotate")
def rotate_controller(uuid: str):
    """Stage a new next HTTPS pair now; `{"immediate": true}` replaces the current one at once."""
    value = body(RotateSchema()) if request.get_data() else {"immediate": False}
    notice = fleet().controllers.rotate(uuid_arg(uuid), value["immediate"], scope())
    fleet().notifier.send([notice])
    return jsonify(version=notice.version)


@bp.delete("/controllers/<uuid>")
def delete_controller(uuid: str):
    fleet().controllers.deny(uuid_arg(uuid), scope())
    return "", 204


@bp.get("/denied-controllers")
def denied_controllers():
    return jsonify(fleet().controllers.denied(scope()))


@bp.delete("/denied-controllers/<uuid>")
def lift_denial(uuid: str):
    fleet().notifier.send([fleet().controllers.undeny(uuid_arg(uuid), scope())])
    return "", 204


@bp.get("/controllers/<uuid>/clients")
def list_clients(uuid: str):
    return jsonify(clients=fleet().controllers.clients(uuid_arg(uuid), scope()))


@bp.put("/controllers/<uuid>/clients")
def replace_clients(uuid: str):
    value = body(schemas.ClientsSchema())
    notice = fleet().controllers.put_clients(
        uuid_arg(uuid), value["clients"], replace_all=True, owner=scope()
    )
    fleet().notifier.send([notice])
    return jsonify(version=notice.version)


@bp.put("/controllers/<uuid>/clients/<client>")
def put_client(uuid: str, client: str):
    value = body(schemas.ClientSchema())
    notice = fleet().controllers.put_clients(
        uuid_arg(uuid), {uuid_arg(client, "client"): value["tokens"]}, replace_all=False, owner=scope()
    )
    fleet().notifier.send([notice])
    return jsonify(version=notice.version)


@bp.delete("/controllers/<uuid>/clients/<client>")
def delete_client(uuid: str, client: str):
    fleet().notifier.send(
        [fleet().controllers.delete_client(uuid_arg(uuid), uuid_arg(client, "client"), scope())]
    )
    return "", 204


@bp.get("/controllers/<uuid>/peers")
def list_peers(uuid: str):
    return jsonify(peers=fleet().controllers.peers(uuid_arg(uuid), scope()))


@bp.put("/controllers/<uuid>/peers/<peer>")
def put_peer(uuid: str, peer: str):
    value = body(schemas.PeerSchema())
    notice = fleet().controllers.put_peer(
        uuid_arg(uuid), uuid_arg(peer, "peer"), value["id"], value["tokens"], scope()
    )
    fleet().notifier.send([notice])
    return jsonify(version=notice.version)


@bp.delete("/controllers/<uuid>/peers/<peer>")
def delete_peer(uuid: str, peer: str):
    fleet().notifier.send([fleet().controllers.delete_peer(uuid_arg(uuid), uuid_arg(peer, "peer"), scope())])
    return "", 204
