"""The admin REST API for CA certificates and controllers' certificates."""

from __future__ import annotations

import re

from flask import Blueprint, jsonify, request

from fleetserver import accounts, schemas, settings
from fleetserver.admin import audit, authenticate, body, caller, fleet, owner_for, scope
from fleetserver.pages import Page
from powerctl.errors import MethodNotAllowed, NotFound

bp = Blueprint("fleet_certificates", __name__)
bp.before_request(authenticate)


@bp.before_request
def outgoing_is_get_only() -> None:
    """`/certificates/outgoing` is a list, not a certificate id: PUT or DELETE there would
    otherwise reach `/certificates/{id}`."""
    if request.path.rstrip("/") == "/certificates/outgoing" and request.method not in ("GET", "HEAD"):
        raise MethodNotAllowed("GET /certificates/outgoing only", ["GET", "HEAD", "OPTIONS"])


CERTIFICATE_ID = re.compile(r"[0-9a-f]{64}")


def known(ident: str, what: str = "certificate") -> str:
    """A certificate id is a sha256 in lowercase hex; any other text names no certificate, and is
    answered 404 without asking the database (PostgreSQL refuses NUL characters in a query)."""
    if not CERTIFICATE_ID.fullmatch(ident):
        raise NotFound(f"no {what} {ident}")
    return ident


@bp.post("/ca-certificates")
def register_ca():
    value = body(schemas.CaRegistrationSchema())
    owner = owner_for(value)
    ident = fleet().certificates.register_ca(
        value["caCertificate"],
        value["verificationCertificate"],
        settings.registration_code(fleet().db),
        value["setAsActive"],
        value["allowAutoRegistration"],
        owner,
    )
    fleet().refresh_trust()
    return jsonify(certificateId=ident, certificateArn=accounts.ca_certificate_arn(owner, ident)), 201


@bp.get("/ca-certificates")
def list_cas():
    rows, marker = fleet().certificates.list_cas(Page.parse(request.args), scope())
    return jsonify(certificates=rows, nextMarker=marker)


@bp.get("/ca-certificates/<ident>")
def describe_ca(ident: str):
    ident = known(ident, "CA certificate")
    return jsonify(certificateDescription=fleet().certificates.describe_ca(ident, scope()))


@bp.put("/ca-certificates/<ident>")
def update_ca(ident: str):
    value = body(schemas.CaUpdateSchema())
    ident = known(ident, "CA certificate")
    auto = value.get("newAutoRegistrationStatus")
    fleet().certificates.update_ca(
        ident, value.get("newStatus"), None if auto is None else auto == "ENABLE", scope()
    )
    return jsonify(certificateDescription=fleet().certificates.describe_ca(ident, scope()))


@bp.delete("/ca-certificates/<ident>")
def delete_ca(ident: str):
    ident = known(ident, "CA certificate")
    fleet().certificates.delete_ca(ident, scope())
    fleet().refresh_trust()
    return "", 204


@bp.get("/ca-certificates/<ident>/certificates")
def list_by_ca(ident: str):
    ident = known(ident, "CA certificate")
    rows, marker = fleet().certificates.list(Page.parse(request.args), ca=ident, owner=scope())
    return jsonify(certificates=rows, nextMarker=marker)


@bp.post("/certificates")
def register_certificate():
    value = body(schemas.CertificateSchema())
    owner = owner_for(value)
    ident = fleet().certificates.register(
        value["certificatePem"], value["controller"], value["status"], owner
    )
    return jsonify(certificateId=ident, certificateArn=accounts.certificate_arn(owner, ident)), 201


@bp.get("/certificates")
def list_certificates():
    rows, marker = fleet().certificates.list(Page.parse(request.args), owner=scope())
    return jsonify(certificates=rows, nextMarker=marker)


@bp.get("/certificates/outgoing")
def list_outgoing():
    """The reference's listOutgoingCertificates: the caller's certificates pending transfer."""
    rows, marker = fleet().certificates.outgoing(Page.parse(request.args), scope())
    return jsonify(outgoingCertificates=rows, nextMarker=marker)


@bp.get("/certificates/<ident>")
def describe_certificate(ident: str):
    ident = known(ident)
    return jsonify(certificateDescription=fleet().certificates.describe(ident, scope()))


@bp.put("/certificates/<ident>")
def update_certificate(ident: str):
    value = body(schemas.CertificateUpdateSchema())
    ident = known(ident)
    fleet().certificates.update(ident, value.get("newStatus"), value.get("controller"), scope())
    return jsonify(certificateDescription=fleet().certificates.describe(ident, scope()))


@bp.delete("/certificates/<ident>")
def delete_certificate(ident: str):
    ident = known(ident)
    fleet().certificates.delete(ident, scope())
    return "", 204


def _audited(step: str, ident: str, done) -> None:
    audit.info(
        "certificate %s: transfer %s, from account %s to account %s, by %s",
        ident,
        step,
        done.source,
        done.target,
        caller(),
    )


@bp.post("/certificates/<ident>/transfer")
def transfer_certificate(ident: str):
    """Offer an INACTIVE certificate (and its controller) to another account."""
    value = body(schemas.TransferSchema())
    ident = known(ident)
    done = fleet().certificates.transfer(ident, value["targetAccount"], value["transferMessage"], scope())
    _audited("requested", ident, done)
    return jsonify(certificateDescription=fleet().certificates.describe(ident, scope()))


@bp.post("/certificates/<ident>/accept-transfer")
def accept_transfer(ident: str):
    value = body(schemas.AcceptTransferSchema()) if request.get_data() else {"setAsActive": False}
    ident = known(ident)
    done = fleet().certificates.accept(ident, value["setAsActive"], scope())
    _audited("accepted", ident, done)
    if done.notice is not None:
        fleet().notifier.send([done.notice])
    return jsonify(certificateDescription=fleet().certificates.describe(ident, scope()))


@bp.post("/certificates/<ident>/reject-transfer")
def reject_transfer(ident: str):
    value = body(schemas.RejectTransferSchema()) if request.get_data() else {"rejectReason": None}
    ident = known(ident)
    done = fleet().certificates.reject(ident, value["rejectReason"], scope())
    _audited("rejected", ident, done)
    return "", 204


@bp.post("/certificates/<ident>/cancel-transfer")
def cancel_transfer(ident: str):
    ident = known(ident)
    done = fleet().certificates.cancel(ident, scope())
    _audited("cancelled", ident, done)
    return jsonify(certificateDescription=fleet().certificates.describe(ident, scope()))
