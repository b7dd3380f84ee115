"""The admin REST API: bearer-token auth, controllers, their clients and peers, denied list."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import Schema, ValidationError, fields

from fleetserver import schemas, settings
from fleetserver.pages import Page
from powerctl.errors import BadRequest, Unauthorized, describe_validation

bp = Blueprint("fleet_admin", __name__)


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


def admins_only() -> None:
    """The request's admin token, by id, in `g.admin`; else 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    ident = fleet().admins.identify(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if ident is None:
        raise Unauthorized(
            "an admin token is required", headers={"WWW-Authenticate": 'Bearer realm="powerctl fleet"'}
        )
    g.admin = ident


bp.before_request(admins_only)


@bp.get("/registration-code")
def registration_code():
    return jsonify(registrationCode=settings.registration_code(fleet().db))


@bp.post("/controllers")
def create_controller():
    value = body(schemas.ControllerSchema())
    return jsonify(fleet().controllers.create(value["uuid"], value["serial"], value["notify_url"])), 201


@bp.get("/controllers")
def list_controllers():
    rows, marker = fleet().controllers.list(Page.parse(request.args))
    return jsonify(controllers=rows, nextMarker=marker)


@bp.get("/controllers/<uuid>")
def get_controller(uuid: str):
    return jsonify(fleet().controllers.get(uuid_arg(uuid)))


@bp.patch("/controllers/<uuid>")
def update_controller(uuid: str):
    raw = request.get_json(silent=True)
    value = body(schemas.ControllerUpdateSchema())
    if value.get("uuid") not in (None, uuid):
        raise BadRequest("a controller's uuid cannot change")
    described, notice = fleet().controllers.update(
        uuid_arg(uuid), value.get("serial"), value.get("notify_url"), "notify_url" in raw
    )
    fleet().notifier.send([notice])
    return jsonify(described)


class RotateSchema(schemas.Strict):
    immediate = fields.Boolean(load_default=False)


@bp.post("/controllers/<uuid>/rotate")
def rotate_controller(uuid: str):
    """Stage a new next HTTPS pair now; `{"immediate": true}` replaces the current one at once."""
    value = body(RotateSchema()) if request.get_data() else {"immediate": False}
    notice = fleet().controllers.rotate(uuid_arg(uuid), value["immediate"])
    fleet().notifier.send([notice])
    return jsonify(version=notice.version)


@bp.delete("/controllers/<uuid>")
def delete_controller(uuid: str):
    fleet().controllers.deny(uuid_arg(uuid))
    return "", 204


@bp.get("/denied-controllers")
def denied_controllers():
    return jsonify(fleet().controllers.denied())


@bp.delete("/denied-controllers/<uuid>")
def lift_denial(uuid: str):
    fleet().notifier.send([fleet().controllers.undeny(uuid_arg(uuid))])
    return "", 204


@bp.get("/controllers/<uuid>/clients")
def list_clients(uuid: str):
    return jsonify(clients=fleet().controllers.clients(uuid_arg(uuid)))


@bp.put("/controllers/<uuid>/clients")
def replace_clients(uuid: str):
    value = body(schemas.ClientsSchema())
    notice = fleet().controllers.put_clients(uuid_arg(uuid), value["clients"], replace_all=True)
    fleet().notifier.send([notice])
    return jsonify(version=notice.version)


@bp.put("/controllers/<uuid>/clients/<client>")
def put_client(uuid: str, client: str):
    value = body(schemas.ClientSchema())
    notice = fleet().controllers.put_clients(
        uuid_arg(uuid), {uuid_arg(client, "client"): value["tokens"]}, replace_all=False
    )
    fleet().notifier.send([notice])
    return jsonify(version=notice.version)


@bp.delete("/controllers/<uuid>/clients/<client>")
def delete_client(uuid: str, client: str):
    fleet().notifier.send([fleet().controllers.delete_client(uuid_arg(uuid), uuid_arg(client, "client"))])
    return "", 204


@bp.get("/controllers/<uuid>/peers")
def list_peers(uuid: str):
    return jsonify(peers=fleet().controllers.peers(uuid_arg(uuid)))


@bp.put("/controllers/<uuid>/peers/<peer>")
def put_peer(uuid: str, peer: str):
    value = body(schemas.PeerSchema())
    notice = fleet().controllers.put_peer(
        uuid_arg(uuid), uuid_arg(peer, "peer"), value["id"], value["tokens"]
    )
    fleet().notifier.send([notice])
    return jsonify(version=notice.version)


@bp.delete("/controllers/<uuid>/peers/<peer>")
def delete_peer(uuid: str, peer: str):
    fleet().notifier.send([fleet().controllers.delete_peer(uuid_arg(uuid), uuid_arg(peer, "peer"))])
    return "", 204
