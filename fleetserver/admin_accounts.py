"""The operator's REST API for accounts and their tokens (an account token gets 403 here)."""

from __future__ import annotations

from flask import Blueprint, g, jsonify

from fleetserver import accounts, schemas
from fleetserver.admin import audit, body, fleet, operator_only
from powerctl.errors import NotFound

bp = Blueprint("fleet_accounts", __name__)
bp.before_request(operator_only)


def account_arg(ident: str) -> str:
    """An account id as a path part; text of another shape names no account (404)."""
    if not accounts.ACCOUNT_ID.fullmatch(ident):
        raise NotFound(f"no account {ident}")
    return ident


@bp.post("/accounts")
def create_account():
    value = body(schemas.AccountSchema())
    made = fleet().accounts.create(value["id"])
    audit.info("account %s created by the operator (admin token %s)", made["id"], g.admin)
    return jsonify(made), 201


@bp.get("/accounts")
def list_accounts():
    return jsonify(accounts=fleet().accounts.list())


@bp.delete("/accounts/<ident>")
def delete_account(ident: str):
    fleet().accounts.delete(account_arg(ident))
    audit.info("account %s deleted by the operator (admin token %s)", ident, g.admin)
    return "", 204


@bp.post("/accounts/<ident>/tokens")
def create_account_token(ident: str):
    """A new token of the account; the secret is in this answer only."""
    made = fleet().accounts.create_token(account_arg(ident))
    audit.info("account %s: token %s created by the operator (admin token %s)", ident, made.id, g.admin)
    return jsonify(tokenId=made.id, token=made.token), 201


@bp.delete("/accounts/<ident>/tokens/<token_id>")
def revoke_account_token(ident: str, token_id: str):
    if not accounts.TOKEN_ID.fullmatch(token_id):
        raise NotFound(f"account {ident} has no token {token_id}")
    fleet().accounts.revoke_token(account_arg(ident), token_id)
    audit.info("account %s: token %s revoked by the operator (admin token %s)", ident, token_id, g.admin)
    return "", 204
