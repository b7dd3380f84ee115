"""The admin REST API for CA certificates and controllers' certificates."""

from __future__ import annotations

import re

from flask import Blueprint, jsonify, request

from fleetserver import schemas, settings
from fleetserver.admin import admins_only, body, fleet
from fleetserver.pages import Page
from powerctl.errors import NotFound

bp = Blueprint("fleet_certificates", __name__)
bp.before_request(admins_only)

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
    ident = fleet().certificates.register_ca(
        value["caCertificate"],
        value["verificationCertificate"],
        settings.registration_code(fleet().db),
        value["setAsActive"],
        value["allowAutoRegistration"],
    )
    fleet().refresh_trust()
    return jsonify(certificateId=ident), 201


@bp.get("/ca-certificates")
def list_cas():
    rows, marker = fleet().certificates.list_cas(Page.parse(request.args))
    return jsonify(certificates=rows, nextMarker=marker)


@bp.get("/ca-certificates/<ident>")
def describe_ca(ident: str):
    ident = known(ident, "CA certificate")
    return jsonify(certificateDescription=fleet().certificates.describe_ca(ident))


@bp.put("/ca-certificates/<ident>")
def update_ca(ident: str):
    value = body(schemas.CaUpdateSchema())
    ident = known(ident, "CA certificate")
    auto = value.get("newAutoRegistrationStatus")
    fleet().certificates.update_ca(ident, value.get("newStatus"), None if auto is None else auto == "ENABLE")
    return jsonify(certificateDescription=fleet().certificates.describe_ca(ident))


@bp.delete("/ca-certificates/<ident>")
def delete_ca(ident: str):
    ident = known(ident, "CA certificate")
    fleet().certificates.delete_ca(ident)
    fleet().refresh_trust()
    return "", 204


@bp.get("/ca-certificates/<ident>/certificates")
def list_by_ca(ident: str):
    ident = known(ident, "CA certificate")
    rows, marker = fleet().certificates.list(Page.parse(request.args), ca=ident)
    return jsonify(certificates=rows, nextMarker=marker)


@bp.post("/certificates")
def register_certificate():
    value = body(schemas.CertificateSchema())
    ident = fleet().certificates.register(value["certificatePem"], value["controller"], value["status"])
    return jsonify(certificateId=ident), 201


@bp.get("/certificates")
def list_certificates():
    rows, marker = fleet().certificates.list(Page.parse(request.args))
    return jsonify(certificates=rows, nextMarker=marker)


@bp.get("/certificates/<ident>")
def describe_certificate(ident: str):
    ident = known(ident)
    return jsonify(certificateDescription=fleet().certificates.describe(ident))


@bp.put("/certificates/<ident>")
def update_certificate(ident: str):
    value = body(schemas.CertificateUpdateSchema())
    ident = known(ident)
    fleet().certificates.update(ident, value.get("newStatus"), value.get("controller"))
    return jsonify(certificateDescription=fleet().certificates.describe(ident))


@bp.delete("/certificates/<ident>")
def delete_certificate(ident: str):
    ident = known(ident)
    fleet().certificates.delete(ident)
    return "", 204
