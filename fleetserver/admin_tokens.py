"""The admin REST API for admin tokens: list by id, make one (its secret shown once), revoke."""

from __future__ import annotations

import logging

from flask import Blueprint, g, jsonify, request
from marshmallow import fields, validate

from fleetserver import schemas
from fleetserver.admin import body, fleet, operator_only
from powerctl.errors import NotFound

bp = Blueprint("fleet_admin_tokens", __name__)
bp.before_request(operator_only)
log = logging.getLogger("powerctl.fleet")


class AdminTokenSchema(schemas.Strict):
    label = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


@bp.get("/admin-tokens")
def list_admin_tokens():
    return jsonify(tokens=fleet().admins.list(), caller=g.admin)


@bp.post("/admin-tokens")
def create_admin_token():
    """A new admin token; its secret is in this answer only."""
    value = body(AdminTokenSchema()) if request.get_data() else {"label": None}
    made = fleet().admins.create(value["label"])
    log.info("admin token %s created by admin token %s", made.id, g.admin)
    return jsonify(id=made.id, token=made.token), 201


@bp.delete("/admin-tokens/<ident>")
def revoke_admin_token(ident: str):
    if not schemas.ADMIN_TOKEN_ID.fullmatch(ident):
        raise NotFound(f"no admin token {ident}")
    fleet().admins.revoke(ident)
    log.info("admin token %s revoked by admin token %s", ident, g.admin)
    return "", 204
