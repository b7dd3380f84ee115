"""POST /restapi/auth/fleet/notify/: the fleet server's contract.NOTIFY call."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID
from flask import Blueprint, Response, current_app, request
from marshmallow import ValidationError

from powerctl import access
from powerctl.audit import audit
from powerctl.auth import Principal, authenticator
from powerctl.errors import MethodNotAllowed, describe_validation
from powerctl.fleet import contract
from powerctl.restapi.wire import json_response
from powerctl.store import fleet as store
from powerctl.tls import peer_certificate

bp = Blueprint("fleet_notify", __name__)


def certificate_peer() -> Principal | None:
    """The peer that presented a client certificate, if it names one this controller holds.

    The TLS layer has verified the certificate with the fleet's chain (tls/fleet/parent.pem,
    from a verified bundle) before the request exists; its common name must be the UUID of a
    synced peer (the fleet server is one). Without TLS, or without a certificate, None.
    """
    der = peer_certificate(request.environ)
    if not der:
        return None
    names = x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    uuid = str(names[0].value) if names else ""
    serial = store.peer_serial(current_app.extensions["powerctl.db"], uuid) if uuid else None
    addr = request.remote_addr or "unknown"
    if serial is None:
        access.refuse(
            addr,
            f"client certificate {uuid[:64]!r} names no fleet peer",
            "the client certificate does not name a fleet peer of this controller",
        )
    # the peer role's grants, as a peer token gets: never None, which would mean an admin
    return Principal("certificate", f"peer {serial}", uuid, addr, authenticator().bearer.role_grants("peer"))


def _rpc_error(request_id: object, code: int, message: str, status: int) -> Response:
    return json_response(contract.error_answer(request_id, contract.NOTIFY, code, message), status)


# Every method lands here, so that the others get 405 with `Allow: POST` (not the tree's 404).
@bp.route(
    "/restapi/auth/fleet/notify/",
    provide_automatic_options=False,
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
)
def notify() -> Response:
    """Peers (the fleet server among them) may notify, by peer token or by a client certificate
    the fleet's chain verifies; clients and everyone else may not."""
    if request.method != "POST":
        raise MethodNotAllowed("the notify call is a JSON-RPC POST", ["POST"])
    principal = None
    if "HTTP_AUTHORIZATION" not in request.environ:
        principal = certificate_peer()
    if principal is None:
        principal = access.authenticate()
    access.require_scheme(
        principal,
        ("peer", "certificate"),
        "only fleet peers may notify",
        "only a fleet peer token may notify this controller",
    )
    body = request.get_json(silent=True)
    request_id = body.get("id") if isinstance(body, dict) else None
    try:
        message = contract.NotifySchema().load(body if isinstance(body, dict) else {})
    except ValidationError as err:
        problems = "; ".join(describe_validation(err.messages))[:300]
        return _rpc_error(request_id, contract.INVALID_REQUEST, f"invalid request: {problems}", 400)
    service = current_app.extensions.get("powerctl.fleet")
    if service is None:
        return _rpc_error(
            request_id, contract.NOT_CONFIGURED, "fleet sync is not configured ([fleet] url)", 409
        )
    held = store.held_version(current_app.extensions["powerctl.db"])
    offered = message["params"].get("version")
    audit().record(f"Fleet notify from {principal.describe()}: version {offered} offered, {held} held")
    if offered is None or held is None or offered > held:
        service.notify()
    return json_response(contract.answer(message["id"], contract.NOTIFY, {"version": held}), 200)
