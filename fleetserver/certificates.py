"""CA certificates and controllers' client certificates, with the reference's statuses."""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fleetserver import accounts, pki
from fleetserver.controllers import Notice
from fleetserver.controllers import _bump as bump
from fleetserver.database import FleetDatabase
from fleetserver.errors import Clash, Invalid, Missing, NotAllowed
from fleetserver.models import (
    DEFAULT_ACCOUNT,
    CaCertificate,
    Certificate,
    ClientKey,
    Controller,
    Peer,
    iso,
    utcnow,
)
from fleetserver.pages import Page


class Status(enum.StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    REVOKED = "REVOKED"
    PENDING_TRANSFER = "PENDING_TRANSFER"
    PENDING_ACTIVATION = "PENDING_ACTIVATION"


def _when(moment: datetime.datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def describe_ca(row: CaCertificate) -> dict:
    return {
        "certificateArn": accounts.ca_certificate_arn(row.account_id, row.certificate_id),
        "certificateId": row.certificate_id,
        "ownedBy": row.account_id,
        "status": row.status,
        "certificatePem": row.pem,
        "autoRegistrationStatus": "ENABLE" if row.auto_registration else "DISABLE",
        "creationDate": iso(row.created),
        "lastModifiedDate": iso(row.modified),
    }


def describe(row: Certificate) -> dict:
    return {
        "certificateArn": accounts.certificate_arn(row.account_id, row.certificate_id),
        "certificateId": row.certificate_id,
        "caCertificateId": row.ca.certificate_id,
        "status": row.status,
        "certificatePem": row.pem,
        "controller": row.controller.uuid if row.controller else None,
        "ownedBy": row.account_id,
        "previousOwnedBy": row.previous_account_id,
        "creationDate": iso(row.created),
        "lastModifiedDate": iso(row.modified),
        "transferData": {
            "transferMessage": row.transfer_message,
            "rejectReason": row.reject_reason,
            "transferDate": _when(row.transfer_date),
            "acceptDate": _when(row.accept_date),
            "rejectDate": _when(row.reject_date),
        },
    }


def summary(row) -> dict:
    arn = accounts.ca_certificate_arn if isinstance(row, CaCertificate) else accounts.certificate_arn
    return {
        "certificateArn": arn(row.account_id, row.certificate_id),
        "certificateId": row.certificate_id,
        "status": row.status,
        "creationDate": iso(row.created),
    }


def outgoing(row: Certificate) -> dict:
    """An item of listOutgoingCertificates."""
    return {
        "certificateArn": accounts.certificate_arn(row.account_id, row.certificate_id),
        "certificateId": row.certificate_id,
        "transferredTo": row.transfer_to,
        "transferDate": _when(row.transfer_date),
        "transferMessage": row.transfer_message,
        "creationDate": iso(row.created),
    }


@dataclass(frozen=True)
class Step:
    """A transfer step done: the accounts it was between, and the controller's notice (accept)."""

    source: str
    target: str
    notice: Notice | None = None


def issuing_ca(session: Session, cert, owner: str | None = None) -> CaCertificate | None:
    """The registered CA whose key signed `cert`, if any (with `owner`: of that account)."""
    query = select(CaCertificate).order_by(CaCertificate.seq)
    if owner is not None:
        query = query.where(CaCertificate.account_id == owner)
    for ca in session.scalars(query):
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

    def register_ca(
        self,
        ca_pem: str,
        verification_pem: str,
        code: str,
        active: bool,
        auto: bool,
        owner: str = DEFAULT_ACCOUNT,
    ) -> str:
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
            accounts.locked(session, owner)
            if session.scalars(select(CaCertificate).where(CaCertificate.certificate_id == ident)).first():
                raise Clash(f"CA certificate {ident} is already registered")
            session.add(
                CaCertificate(
                    certificate_id=ident,
                    account_id=owner,
                    pem=pki.pem(ca),
                    auto_registration=auto,
                    status=Status.ACTIVE if active else Status.INACTIVE,
                )
            )
        return ident

    def _ca(self, session: Session, ident: str, owner: str | None = None) -> CaCertificate:
        query = select(CaCertificate).where(CaCertificate.certificate_id == ident)
        if owner is not None:
            query = query.where(CaCertificate.account_id == owner)
        row = session.scalars(query).first()
        if row is None:
            raise Missing(f"no CA certificate {ident}")
        return row

    def describe_ca(self, ident: str, owner: str | None = None) -> dict:
        with self.db.reading() as session:
            return describe_ca(self._ca(session, ident, owner))

    def update_ca(self, ident: str, status: str | None, auto: bool | None, owner: str | None = None) -> None:
        with self.db.writing() as session:
            row = self._ca(session, ident, owner)
            if status is not None and status != row.status:
                row.status, row.modified = status, utcnow()
            if auto is not None and auto != row.auto_registration:
                row.auto_registration, row.modified = auto, utcnow()

    def delete_ca(self, ident: str, owner: str | None = None) -> None:
        with self.db.writing() as session:
            row = self._ca(session, ident, owner)
            signed = session.scalar(select(func.count()).where(Certificate.ca_seq == row.seq))
            if signed:
                raise Clash(f"{signed} registered certificates are signed by this CA; delete them first")
            session.delete(row)

    def list_cas(self, page: Page, owner: str | None = None) -> tuple[list[dict], str | None]:
        query = select(CaCertificate)
        if owner is not None:
            query = query.where(CaCertificate.account_id == owner)
        with self.db.reading() as session:
            rows, marker = page.split(list(session.scalars(page.apply(query, CaCertificate.seq))))
            return [summary(row) for row in rows], marker

    def trusted_pems(self) -> list[str]:
        """Every registered CA, for the TLS layer; status is checked per request."""
        with self.db.reading() as session:
            return list(session.scalars(select(CaCertificate.pem).order_by(CaCertificate.seq)))

    def register(
        self, cert_pem: str, controller: str | None, status: str, owner: str = DEFAULT_ACCOUNT
    ) -> str:
        """Register a certificate for account `owner`: signed by one of its CAs, attached to
        one of its controllers (named, or by the common name). A certificate id is one
        certificate fleet-wide: one registered by any account is 409."""
        cert = pki.load_pem(cert_pem, "certificatePem")
        ident = pki.certificate_id(cert)
        if status == Status.PENDING_TRANSFER:
            raise Invalid("PENDING_TRANSFER is set by the server only")
        with self.db.writing() as session:
            accounts.locked(session, owner)
            if session.scalars(select(Certificate).where(Certificate.certificate_id == ident)).first():
                raise Clash(f"certificate {ident} is already registered")
            ca = issuing_ca(session, cert, owner)
            if ca is None:
                raise Invalid("certificatePem is not signed by a registered CA certificate of this account")
            holder = None
            name = controller or pki.common_name(cert)
            if name is not None:
                holder = session.scalars(
                    select(Controller).where(Controller.uuid == name, Controller.account_id == owner)
                ).first()
            if controller is not None and (holder is None or holder.denied_at is not None):
                raise Missing(f"no controller {controller}")
            if holder is not None and holder.denied_at is None and status == Status.ACTIVE:
                check_key(holder, pki.key_id(cert))
            session.add(
                Certificate(
                    certificate_id=ident,
                    account_id=owner,
                    ca_seq=ca.seq,
                    pem=pki.pem(cert),
                    controller_seq=holder.seq if holder else None,
                    public_key=pki.key_id(cert),
                    status=status,
                )
            )
        return ident

    def _cert(
        self, session: Session, ident: str, owner: str | None = None, lock: bool = False
    ) -> Certificate:
        """The certificate; with `owner`, only that account's (another's is Missing, exactly as
        one that does not exist)."""
        query = select(Certificate).where(Certificate.certificate_id == ident)
        if owner is not None:
            query = query.where(Certificate.account_id == owner)
        row = session.scalars(query.with_for_update() if lock else query).first()
        if row is None:
            raise Missing(f"no certificate {ident}")
        return row

    def describe(self, ident: str, owner: str | None = None) -> dict:
        """Its owner sees it, and so does the account it is being transferred to."""
        with self.db.reading() as session:
            row = self._cert(session, ident)
            if owner not in (None, row.account_id, self._target(row)):
                raise Missing(f"no certificate {ident}")
            return describe(row)

    @staticmethod
    def _target(row: Certificate) -> str | None:
        return row.transfer_to if row.status == Status.PENDING_TRANSFER else None

    def update(
        self, ident: str, status: str | None, controller: str | None = None, owner: str | None = None
    ) -> None:
        """Set the status (idempotent; PENDING_TRANSFER is refused, as in the reference) and/or
        attach the certificate to a controller (an auto-registered one may have none)."""
        if status == Status.PENDING_TRANSFER:
            raise Invalid("PENDING_TRANSFER is used by the server only and cannot be set")
        with self.db.writing() as session:
            row = self._cert(session, ident, owner, lock=True)
            if row.status == Status.PENDING_TRANSFER:
                raise Clash("the certificate is PENDING_TRANSFER; cancel the transfer first")
            if controller is not None:
                holder = session.scalars(
                    select(Controller).where(
                        Controller.uuid == controller,
                        Controller.denied_at.is_(None),
                        Controller.account_id == row.account_id,
                    )
                ).first()
                if holder is None:
                    raise Missing(f"no controller {controller}")
                if row.controller not in (None, holder):
                    raise Clash("the certificate belongs to another controller")
                row.controller = holder
            status = status or row.status
            if status == Status.ACTIVE and row.controller is not None:
                check_key(row.controller, row.public_key)
            if row.status != status:
                row.status, row.modified = status, utcnow()

    def delete(self, ident: str, owner: str | None = None) -> None:
        with self.db.writing() as session:
            row = self._cert(session, ident, owner, lock=True)
            if row.status == Status.ACTIVE:
                raise Clash("an ACTIVE certificate cannot be deleted; set it INACTIVE or REVOKED first")
            if row.status == Status.PENDING_TRANSFER:
                raise Clash("the certificate is PENDING_TRANSFER; cancel the transfer first")
            session.delete(row)

    def list(
        self, page: Page, ca: str | None = None, owner: str | None = None
    ) -> tuple[list[dict], str | None]:
        with self.db.reading() as session:
            query = select(Certificate)
            if owner is not None:
                query = query.where(Certificate.account_id == owner)
            if ca is not None:
                query = query.where(Certificate.ca_seq == self._ca(session, ca, owner).seq)
            rows, marker = page.split(list(session.scalars(page.apply(query, Certificate.seq))))
            return [summary(row) for row in rows], marker

    # Transfers, as in the reference: the owner offers an INACTIVE certificate to another
    # account, which accepts or rejects it; the owner may cancel. Each step locks the
    # certificate's row (FOR UPDATE; on SQLite a writer holds the lock from BEGIN) and checks
    # the status again under it, so of an accept and a cancel racing, exactly one happens.

    def transfer(self, ident: str, target: str, message: str | None, owner: str | None = None) -> Step:
        with self.db.writing() as session:
            row = self._cert(session, ident, owner, lock=True)
            if row.status != Status.INACTIVE:
                raise Clash(f"only an INACTIVE certificate can be transferred; it is {row.status}")
            if target == row.account_id:
                raise Invalid("targetAccount is the certificate's owner")
            try:
                accounts.locked(session, target)
            except Missing as err:
                raise Invalid(f"targetAccount: no account {target}") from err
            now = utcnow()
            row.status, row.modified = Status.PENDING_TRANSFER, now
            row.transfer_to, row.transfer_message, row.transfer_date = target, message, now
            row.accept_date = row.reject_date = row.reject_reason = None
            return Step(row.account_id, target)

    def _pending(self, session: Session, ident: str, caller: str | None, party: str) -> Certificate:
        """The certificate under lock, pending transfer, for the step of `party` ("target"
        accepts and rejects, "source" cancels). Who sees no transfer of it gets Missing; who
        sees it (its owner, its target) but is the other party gets NotAllowed."""
        row = self._cert(session, ident, lock=True)
        target = self._target(row)
        if caller not in (None, row.account_id, target):
            raise Missing(f"no certificate {ident}")
        if target is None:
            raise Clash(f"certificate {ident} is {row.status}, not PENDING_TRANSFER")
        if caller is not None and caller != (target if party == "target" else row.account_id):
            step = "accepts or rejects" if party == "target" else "cancels"
            raise NotAllowed(f"only the {party} account {step} a transfer")
        return row

    def accept(self, ident: str, active: bool, caller: str | None = None) -> Step:
        """The certificate and its controller move to the target. The controller's clients and
        peers (the old owner's credentials) are dropped, and its version bumped; its other
        certificates stay with the old owner, detached. The Step carries the notice."""
        with self.db.writing() as session:
            row = self._pending(session, ident, caller, "target")
            source, target = row.account_id, row.transfer_to
            accounts.locked(session, target)
            notice = None
            if row.controller_seq is not None:
                holder = session.scalars(
                    select(Controller).where(Controller.seq == row.controller_seq).with_for_update()
                ).one()
                holder.account_id = target
                session.execute(delete(ClientKey).where(ClientKey.controller_seq == holder.seq))
                session.execute(delete(Peer).where(Peer.controller_seq == holder.seq))
                for other in session.scalars(
                    select(Certificate).where(
                        Certificate.controller_seq == holder.seq, Certificate.seq != row.seq
                    )
                ):
                    other.controller_seq = None
                if active:
                    check_key(holder, row.public_key)
                session.expire(holder, ["clients", "peers"])
                notice = bump(holder)  # as every change to what a controller holds
            now = utcnow()
            row.previous_account_id, row.account_id = source, target
            row.status = Status.ACTIVE if active else Status.INACTIVE
            row.transfer_to, row.accept_date, row.modified = None, now, now
            return Step(source, target, notice)

    def reject(self, ident: str, reason: str | None, caller: str | None = None) -> Step:
        with self.db.writing() as session:
            row = self._pending(session, ident, caller, "target")
            step = Step(row.account_id, row.transfer_to)
            now = utcnow()
            row.status, row.transfer_to, row.modified = Status.INACTIVE, None, now
            row.reject_reason, row.reject_date = reason, now
            return step

    def cancel(self, ident: str, caller: str | None = None) -> Step:
        with self.db.writing() as session:
            row = self._pending(session, ident, caller, "source")
            step = Step(row.account_id, row.transfer_to)
            row.status, row.transfer_to, row.modified = Status.INACTIVE, None, utcnow()
            return step

    def outgoing(self, page: Page, owner: str | None = None) -> tuple[list[dict], str | None]:
        """listOutgoingCertificates: the certificates being transferred, not yet accepted."""
        query = select(Certificate).where(Certificate.status == Status.PENDING_TRANSFER)
        if owner is not None:
            query = query.where(Certificate.account_id == owner)
        with self.db.reading() as session:
            rows, marker = page.split(list(session.scalars(page.apply(query, Certificate.seq))))
            return [outgoing(row) for row in rows], marker
