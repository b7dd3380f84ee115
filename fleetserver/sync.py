"""The answer to contract.SYNC for the controller holding a certificate."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from fleetserver import pki
from fleetserver.bundles import Built
from fleetserver.certificates import Status, issuing_ca
from fleetserver.database import FleetDatabase
from fleetserver.errors import Missing, Refused
from fleetserver.models import CaCertificate, Certificate, ClientKey, Controller, Peer
from powerctl.fleet import contract

if TYPE_CHECKING:
    from fleetserver.controllers import Controllers, Notice


# one query answers who the certificate is and what its controller holds besides rows
_WHO = (
    select(
        Certificate.status,
        Certificate.public_key,
        Certificate.account_id.label("certificate_account"),
        CaCertificate.status.label("ca_status"),
        Controller.seq,
        Controller.uuid,
        Controller.version,
        Controller.denied_at,
        Controller.enrolled_key,
        Controller.account_id.label("controller_account"),
        Controller.fleet_token,
        Controller.server_cert_pem,
        Controller.server_key_pem,
        Controller.next_cert_pem,
        Controller.next_key_pem,
    )
    .select_from(Certificate)
    .join(CaCertificate, Certificate.ca_seq == CaCertificate.seq)
    .outerjoin(Controller, Certificate.controller_seq == Controller.seq)
    .where(Certificate.certificate_id == bindparam("ident"))
)
# built once, with bound parameters, run on the connection: no ORM work per call or per row
_CLIENTS = (
    select(ClientKey.client_uuid, ClientKey.token_hash)
    .where(ClientKey.controller_seq == bindparam("seq"))
    .order_by(ClientKey.client_uuid, ClientKey.token_hash)
)
_PEERS = (
    select(Peer.peer_uuid, Peer.serial, Peer.tokens)
    .where(Peer.controller_seq == bindparam("seq"))
    .order_by(Peer.peer_uuid)
)


def _expires(certificate_pem: str | None) -> datetime.datetime | None:
    return None if certificate_pem is None else pki.validity(certificate_pem)[1]


def build(connection: Connection, who, fleet_peer: str, chain: str) -> Built:
    """The reference's `result`: clients, peers (the fleet server among them), current (the
    HTTPS pair served now, then the staged next one if any), version. Two plain queries."""
    clients: dict[str, list[str]] = {}
    for client, digest in connection.execute(_CLIENTS, {"seq": who.seq}):
        clients.setdefault(client, []).append(digest)
    peers = {
        peer: (serial, list(tokens)) for peer, serial, tokens in connection.execute(_PEERS, {"seq": who.seq})
    }
    peers[fleet_peer] = ("fleet", [who.fleet_token])
    current = [(who.server_cert_pem, who.server_key_pem, chain)]
    if who.next_cert_pem is not None:
        current.append((who.next_cert_pem, who.next_key_pem, chain))
    result = contract.bundle(who.version, clients, peers, current)
    return Built(result, _expires(who.server_cert_pem), _expires(who.next_cert_pem))


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


def _checked(who) -> None:
    if who.status != Status.ACTIVE:
        raise Refused(f"certificate is {who.status}")
    if who.ca_status != Status.ACTIVE:
        raise Refused("the certificate's CA is INACTIVE")
    if who.seq is None:
        raise Refused("certificate is not attached to a controller")
    if who.denied_at is not None:
        raise Refused("controller is denied")
    if who.controller_account != who.certificate_account:
        raise Refused("the certificate and its controller belong to different accounts")
    if who.enrolled_key not in (None, who.public_key):
        raise Refused("the key differs from the one this controller enrolled with")


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
    ident = hashlib.sha256(der).hexdigest()  # pki.certificate_id, without parsing the DER
    bundles = controllers.bundles if controllers is not None else None
    with db.reading() as session:
        connection = session.connection()
        who = connection.execute(_WHO, {"ident": ident}).first()
        if who is not None:
            _checked(who)
            key = (who.seq, who.version)
            built = bundles.get(key) if bundles is not None else None
            if built is None:
                built = build(connection, who, fleet_peer, chain)
                if bundles is not None:
                    bundles.put(key, built)
            if controllers is None or not controllers.renewal_due_at(
                built.current_expires, built.next_expires
            ):
                return built.result
    if who is not None:
        try:
            notice = controllers.renew(who.uuid)
        except Missing:  # denied meanwhile: the second look refuses it
            notice = None
        if notify is not None:
            notify([notice])
        return sync(db, der, fleet_peer, chain)  # the renewed bundle, checked again
    try:
        _auto_register(db, der)
    except IntegrityError as err:  # the same certificate, auto-registered by a parallel call
        raise Refused("certificate is PENDING_ACTIVATION") from err
