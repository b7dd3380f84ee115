"""The answer to contract.SYNC for the controller holding a certificate."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from fleetserver import pki
from fleetserver.certificates import Status, issuing_ca
from fleetserver.database import FleetDatabase
from fleetserver.errors import Missing, Refused
from fleetserver.models import Certificate, Controller
from powerctl.fleet import contract

if TYPE_CHECKING:
    from fleetserver.controllers import Controllers, Notice


def bundle(row: Controller, fleet_peer: str, chain: str) -> dict:
    """The reference's `result`: clients, peers (the fleet server among them), current (the
    HTTPS pair served now, then the staged next one if any), version."""
    clients: dict[str, list[str]] = {}
    for key in row.clients:
        clients.setdefault(key.client_uuid, []).append(key.token_hash)
    peers = {p.peer_uuid: (p.serial, list(p.tokens)) for p in row.peers}
    peers[fleet_peer] = ("fleet", [row.fleet_token])
    current = [(row.server_cert_pem, row.server_key_pem, chain)]
    if row.next_cert_pem is not None:
        current.append((row.next_cert_pem, row.next_key_pem, chain))
    return contract.bundle(row.version, clients, peers, current)


def _auto_register(db: FleetDatabase, der: bytes) -> NoReturn:
    """Register an unknown certificate PENDING_ACTIVATION if its CA allows auto-registration."""
    cert = pki.load_der(der)
    with db.writing() as session:
        ca = issuing_ca(session, cert)
        if ca is None or ca.status != Status.ACTIVE or not ca.auto_registration:
            raise Refused("certificate is not registered")
        ident = pki.certificate_id(cert)
        if session.scalars(select(Certificate).where(Certificate.certificate_id == ident)).first():
            raise Refused("certificate is PENDING_ACTIVATION")
        # the CA's account owns the certificate; the common name names one of its controllers
        owner = session.scalars(
            select(Controller).where(
                Controller.uuid == pki.common_name(cert), Controller.account_id == ca.account_id
            )
        ).first()
        if owner is not None and owner.enrolled_key not in (None, pki.key_id(cert)):
            raise Refused(
                "the key differs from the one this controller enrolled with; "
                "it must be enrolled afresh under a new uuid"
            )
        session.add(
            Certificate(
                certificate_id=ident,
                account_id=ca.account_id,
                ca_seq=ca.seq,
                pem=pki.pem(cert),
                controller_seq=owner.seq if owner else None,
                public_key=pki.key_id(cert),
                status=Status.PENDING_ACTIVATION,
            )
        )
    raise Refused("certificate registered as PENDING_ACTIVATION; an admin must activate it")


def _checked_owner(session: Session, row: Certificate) -> Controller:
    if row.status != Status.ACTIVE:
        raise Refused(f"certificate is {row.status}")
    if row.ca.status != Status.ACTIVE:
        raise Refused("the certificate's CA is INACTIVE")
    owner = row.controller
    if owner is None:
        raise Refused("certificate is not attached to a controller")
    if owner.denied_at is not None:
        raise Refused("controller is denied")
    if owner.account_id != row.account_id:
        raise Refused("the certificate and its controller belong to different accounts")
    if owner.enrolled_key not in (None, row.public_key):
        raise Refused("the key differs from the one this controller enrolled with")
    return owner


def sync(
    db: FleetDatabase,
    der: bytes | None,
    fleet_peer: str,
    chain: str,
    controllers: Controllers | None = None,
    notify: Callable[[list[Notice | None]], None] | None = None,
) -> dict:
    """The bundle for the controller identified by the DER client certificate, or `Refused`.

    With `controllers`, the controller's HTTPS pairs are renewed first when due (an expired one
    replaced, a next one staged within the renewal window); `notify` gets that change's notice.
    """
    if not der:
        raise Refused("a client certificate is required")
    ident = pki.certificate_id(pki.load_der(der))
    with db.reading() as session:
        query = (
            select(Certificate)
            .where(Certificate.certificate_id == ident)
            .options(
                joinedload(Certificate.ca),
                joinedload(Certificate.controller).options(
                    selectinload(Controller.clients), selectinload(Controller.peers)
                ),
            )
        )
        row = session.scalars(query).first()
        if row is not None:
            owner = _checked_owner(session, row)
            if controllers is None or not controllers.renewal_due(owner):
                return bundle(owner, fleet_peer, chain)
            uuid = owner.uuid
    if row is not None:
        try:
            notice = controllers.renew(uuid)
        except Missing:  # denied meanwhile: the second look refuses it
            notice = None
        if notify is not None:
            notify([notice])
        return sync(db, der, fleet_peer, chain)  # the renewed bundle, checked again
    try:
        _auto_register(db, der)
    except IntegrityError as err:  # the same certificate, auto-registered by a parallel call
        raise Refused("certificate is PENDING_ACTIVATION") from err
