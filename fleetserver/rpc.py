"""`POST /rpc`: the controllers' JSON-RPC (contract.SYNC), identified by their TLS client certificate."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request

from fleetserver.errors import Refused
from fleetserver.sync import sync
from powerctl.fleet import contract
from powerctl.tls import peer_certificate

bp = Blueprint("fleet_rpc", __name__)
log = logging.getLogger("powerctl.fleet")


def _error(ident, method, code: int, message: str, status: int):
    return jsonify(contract.error_answer(ident, method, code, message)), status


@bp.post("/rpc")
def rpc():
    try:
        call = request.get_json(silent=True)
    except RecursionError:  # "[[[[...": nested too deeply to parse
        call = None
    if not isinstance(call, dict):
        return _error(None, None, contract.PARSE_ERROR, "the body must be a JSON object", 400)
    ident, method, params = call.get("id"), call.get("method"), call.get("params", {})
    if (
        not isinstance(ident, str | int)
        or isinstance(ident, bool)
        or not isinstance(params, dict)
        or call.get("api") != contract.API
    ):
        return _error(
            None,
            method if isinstance(method, str) else None,
            contract.INVALID_REQUEST,
            f'invalid request: needs a string id, api "{contract.API}", object params',
            400,
        )
    if method != contract.SYNC:
        return _error(
            ident,
            method if isinstance(method, str) else None,
            contract.METHOD_NOT_FOUND,
            f"unknown method; this server answers {contract.SYNC}",
            404,
        )
    version = params.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        return _error(ident, method, contract.INVALID_PARAMS, "params.version must be an integer", 400)
    fleet = current_app.extensions["powerctl.fleet"]
    try:
        result = sync(
            fleet.db,
            peer_certificate(request.environ),
            fleet.fleet_peer,
            fleet.chain,
            fleet.controllers,
            fleet.notifier.send,
        )
    except Refused as err:
        log.info("sync refused: %s", err)
        return _error(ident, method, contract.REFUSED, str(err), 403)
    return jsonify(contract.answer(ident, method, result))
