"""CA certificates and controllers' client certificates, with the reference's statuses."""

from __future__ import annotations

import enum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fleetserver import pki
from fleetserver.database import FleetDatabase
from fleetserver.errors import Clash, Invalid, Missing
from fleetserver.models import CaCertificate, Certificate, Controller, iso, utcnow
from fleetserver.pages import Page


class Status(enum.StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    REVOKED = "REVOKED"
    PENDING_TRANSFER = "PENDING_TRANSFER"
    PENDING_ACTIVATION = "PENDING_ACTIVATION"


def describe_ca(row: CaCertificate) -> dict:
    return {
        "certificateId": row.certificate_id,
        "status": row.status,
        "certificatePem": row.pem,
        "autoRegistrationStatus": "ENABLE" if row.auto_registration else "DISABLE",
        "creationDate": iso(row.created),
        "lastModifiedDate": iso(row.modified),
    }


def describe(row: Certificate) -> dict:
    return {
        "certificateId": row.certificate_id,
        "caCertificateId": row.ca.certificate_id,
        "status": row.status,
        "certificatePem": row.pem,
        "controller": row.controller.uuid if row.controller else None,
        "creationDate": iso(row.created),
        "lastModifiedDate": iso(row.modified),
    }


def summary(row) -> dict:
    return {"certificateId": row.certificate_id, "status": row.status, "creationDate": iso(row.created)}


def issuing_ca(session: Session, cert) -> CaCertificate | None:
    """The registered CA whose key signed `cert`, if any."""
    for ca in session.scalars(select(CaCertificate).order_by(CaCertificate.seq)):
        if pki.signed_by(cert, pki.load_pem(ca.pem)):
            return ca
    return None


def check_key(controller: Controller, key: str) -> None:
    """A controller keeps the key it enrolled with (no key rotation, as in the reference)."""
    if controller.enrolled_key not in (None, key):
        raise Clash(
            f"the key differs from the one controller {controller.uuid} enrolled with; "
            "delete the controller and enrol it afresh under a new uuid"
        )
    controller.enrolled_key = key


class Certificates:
    def __init__(self, db: FleetDatabase):
        self.db = db

    def register_ca(self, ca_pem: str, verification_pem: str, code: str, active: bool, auto: bool) -> str:
        ca = pki.load_pem(ca_pem, "caCertificate")
        proof = pki.load_pem(verification_pem, "verificationCertificate")
        if not pki.is_ca(ca):
            raise Invalid("caCertificate is not a CA certificate (basicConstraints CA:TRUE)")
        if pki.common_name(proof) != code or not pki.signed_by(proof, ca):
            raise Invalid(
                "verificationCertificate must have CN = the registration code and be "
                "signed by the CA's private key"
            )
        ident = pki.certificate_id(ca)
        with self.db.writing() as session:
            if session.scalars(select(CaCertificate).where(CaCertificate.certificate_id == ident)).first():
                raise Clash(f"CA certificate {ident} is already registered")
            session.add(
                CaCertificate(
                    certificate_id=ident,
                    pem=pki.pem(ca),
                    auto_registration=auto,
                    status=Status.ACTIVE if active else Status.INACTIVE,
                )
            )
        return ident

    def _ca(self, session: Session, ident: str) -> CaCertificate:
        row = session.scalars(select(CaCertificate).where(CaCertificate.certificate_id == ident)).first()
        if row is None:
            raise Missing(f"no CA certificate {ident}")
        return row

    def describe_ca(self, ident: str) -> dict:
        with self.db.reading() as session:
            return describe_ca(self._ca(session, ident))

    def update_ca(self, ident: str, status: str | None, auto: bool | None) -> None:
        with self.db.writing() as session:
            row = self._ca(session, ident)
            if status is not None and status != row.status:
                row.status, row.modified = status, utcnow()
            if auto is not None and auto != row.auto_registration:
                row.auto_registration, row.modified = auto, utcnow()

    def delete_ca(self, ident: str) -> None:
        with self.db.writing() as session:
            row = self._ca(session, ident)
            signed = session.scalar(select(func.count()).where(Certificate.ca_seq == row.seq))
            if signed:
                raise Clash(f"{signed} registered certificates are signed by this CA; delete them first")
            session.delete(row)

    def list_cas(self, page: Page) -> tuple[list[dict], str | None]:
        with self.db.reading() as session:
            rows, marker = page.split(
                list(session.scalars(page.apply(select(CaCertificate), CaCertificate.seq)))
            )
            return [summary(row) for row in rows], marker

    def trusted_pems(self) -> list[str]:
        """Every registered CA, for the TLS layer; status is checked per request."""
        with self.db.reading() as session:
            return list(session.scalars(select(CaCertificate.pem).order_by(CaCertificate.seq)))

    def register(self, cert_pem: str, controller: str | None, status: str) -> str:
        cert = pki.load_pem(cert_pem, "certificatePem")
        ident = pki.certificate_id(cert)
        if status == Status.PENDING_TRANSFER:
            raise Invalid("PENDING_TRANSFER is set by the server only")
        with self.db.writing() as session:
            if session.scalars(select(Certificate).where(Certificate.certificate_id == ident)).first():
                raise Clash(f"certificate {ident} is already registered")
            ca = issuing_ca(session, cert)
            if ca is None:
                raise Invalid("certificatePem is not signed by a registered CA certificate")
            owner = None
            name = controller or pki.common_name(cert)
            if name is not None:
                owner = session.scalars(select(Controller).where(Controller.uuid == name)).first()
            if controller is not None and (owner is None or owner.denied_at is not None):
                raise Missing(f"no controller {controller}")
            if owner is not None and owner.denied_at is None and status == Status.ACTIVE:
                check_key(owner, pki.key_id(cert))
            session.add(
                Certificate(
                    certificate_id=ident,
                    ca_seq=ca.seq,
                    pem=pki.pem(cert),
                    controller_seq=owner.seq if owner else None,
                    public_key=pki.key_id(cert),
                    status=status,
                )
            )
        return ident

    def _cert(self, session: Session, ident: str) -> Certificate:
        row = session.scalars(select(Certificate).where(Certificate.certificate_id == ident)).first()
        if row is None:
            raise Missing(f"no certificate {ident}")
        return row

    def describe(self, ident: str) -> dict:
        with self.db.reading() as session:
            return describe(self._cert(session, ident))

    def update(self, ident: str, status: str | None, controller: str | None = None) -> None:
        """Set the status (idempotent; PENDING_TRANSFER is refused, as in the reference) and/or
        attach the certificate to a controller (an auto-registered one may have none)."""
        if status == Status.PENDING_TRANSFER:
            raise Invalid("PENDING_TRANSFER is used by the server only and cannot be set")
        with self.db.writing() as session:
            row = self._cert(session, ident)
            if controller is not None:
                owner = session.scalars(
                    select(Controller).where(Controller.uuid == controller, Controller.denied_at.is_(None))
                ).first()
                if owner is None:
                    raise Missing(f"no controller {controller}")
                if row.controller not in (None, owner):
                    raise Clash("the certificate belongs to another controller")
                row.controller = owner
            status = status or row.status
            if status == Status.ACTIVE and row.controller is not None:
                check_key(row.controller, row.public_key)
            if row.status != status:
                row.status, row.modified = status, utcnow()

    def delete(self, ident: str) -> None:
        with self.db.writing() as session:
            row = self._cert(session, ident)
            if row.status == Status.ACTIVE:
                raise Clash("an ACTIVE certificate cannot be deleted; set it INACTIVE or REVOKED first")
            session.delete(row)

    def list(self, page: Page, ca: str | None = None) -> tuple[list[dict], str | None]:
        with self.db.reading() as session:
            query = select(Certificate)
            if ca is not None:
                query = query.where(Certificate.ca_seq == self._ca(session, ca).seq)
            rows, marker = page.split(list(session.scalars(page.apply(query, Certificate.seq))))
            return [summary(row) for row in rows], marker
