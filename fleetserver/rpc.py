"""`POST /rpc`: the controllers' JSON-RPC, identified by their TLS client certificate."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request

from fleetserver.errors import Refused
from fleetserver.sync import sync
from powerctl.tls import peer_certificate

bp = Blueprint("fleet_rpc", __name__)
log = logging.getLogger("powerctl.fleet")
SYNC = "cloud.access_keys_controller_sync"


def _answer(ident, method, result=None, code: int | None = None, message: str = "", status=200):
    error = None if code is None else {"code": code, "message": message}
    return jsonify(error=error, method=method, id=ident, result=result), status


@bp.post("/rpc")
def rpc():
    try:
        call = request.get_json(silent=True)
    except RecursionError:  # "[[[[...": nested too deeply to parse
        call = None
    if not isinstance(call, dict):
        return _answer(None, None, code=-32700, message="the body must be a JSON object", status=400)
    ident, method, params = call.get("id"), call.get("method"), call.get("params", {})
    if (
        not isinstance(ident, str | int)
        or isinstance(ident, bool)
        or not isinstance(params, dict)
        or call.get("api") != "3"
    ):
        return _answer(
            None,
            method if isinstance(method, str) else None,
            code=-32600,
            message='invalid request: needs a string id, api "3", object params',
            status=400,
        )
    if method != SYNC:
        return _answer(
            ident,
            method if isinstance(method, str) else None,
            code=-32601,
            message=f"unknown method; this server answers {SYNC}",
            status=404,
        )
    version = params.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        return _answer(ident, method, code=-32602, message="params.version must be an integer", status=400)
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
        return _answer(ident, method, code=403, message=str(err), status=403)
    return _answer(ident, method, result=result)
