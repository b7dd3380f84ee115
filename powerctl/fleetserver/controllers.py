"""Controllers and what each holds: clients (token hashes), peers, its HTTPS pair, its version."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from powerctl.fleetserver import pki
from powerctl.fleetserver.database import Database
from powerctl.fleetserver.errors import Clash, Missing
from powerctl.fleetserver.models import ClientKey, Controller, Peer, iso, utcnow
from powerctl.fleetserver.pages import Page


@dataclass(frozen=True)
class Notice:
    """A controller to tell that its bundle changed (sent after the change is committed)."""

    uuid: str
    version: int
    url: str | None
    token: str


def describe(row: Controller) -> dict:
    return {"uuid": row.uuid, "serial": row.serial, "notify_url": row.notify_url,
            "version": row.version, "created": iso(row.created),
            "notified_version": row.notified_version, "notify_error": row.notify_error}


def _live(session: Session, uuid: str, lock: bool = False) -> Controller:
    query = select(Controller).where(Controller.uuid == uuid, Controller.denied_at.is_(None))
    row = session.scalars(query.with_for_update() if lock else query).first()
    if row is None:
        raise Missing(f"no controller {uuid}")
    return row


def _bump(row: Controller) -> Notice:
    row.version += 1
    return Notice(row.uuid, row.version, row.notify_url, row.fleet_token)


class Controllers:
    def __init__(self, db: Database, issuer: tuple[str, str]):
        self.db = db
        self.issuer = issuer

    def create(self, uuid: str, serial: str, notify_url: str | None) -> dict:
        cert, key = pki.issue_server(*self.issuer, uuid, notify_url)
        with self.db.writing() as session:
            known = session.scalars(select(Controller).where(Controller.uuid == uuid)).first()
            if known is not None and known.denied_at is not None:
                raise Clash(f"controller {uuid} is denied; DELETE /denied-controllers/{uuid} first")
            if known is not None:
                raise Clash(f"controller {uuid} exists")
            row = Controller(uuid=uuid, serial=serial, notify_url=notify_url, version=1,
                             fleet_token=secrets.token_urlsafe(32), server_cert_pem=cert,
                             server_key_pem=key)
            session.add(row)
            session.flush()
            return describe(row)

    def get(self, uuid: str) -> dict:
        with self.db.reading() as session:
            return describe(_live(session, uuid))

    def list(self, page: Page) -> tuple[list[dict], str | None]:
        query = page.apply(select(Controller).where(Controller.denied_at.is_(None)), Controller.seq)
        with self.db.reading() as session:
            rows, marker = page.split(list(session.scalars(query)))
            return [describe(row) for row in rows], marker

    def update(self, uuid: str, serial: str | None, notify_url: str | None,
               set_url: bool) -> tuple[dict, Notice | None]:
        """Change the serial or notify URL; a new URL gets a new HTTPS pair for its host."""
        with self.db.writing() as session:
            row = _live(session, uuid, lock=True)
            if serial is not None:
                row.serial = serial
            notice = None
            if set_url and notify_url != row.notify_url:
                row.notify_url = notify_url
                row.server_cert_pem, row.server_key_pem = pki.issue_server(*self.issuer, uuid,
                                                                           notify_url)
                notice = _bump(row)
            return describe(row), notice

    def deny(self, uuid: str) -> None:
        """Delete: drop what it held, keep its record and key so it stays refused."""
        with self.db.writing() as session:
            row = _live(session, uuid, lock=True)
            row.denied_at = utcnow()
            session.execute(delete(ClientKey).where(ClientKey.controller_seq == row.seq))
            session.execute(delete(Peer).where(Peer.controller_seq == row.seq))

    def denied(self) -> list[str]:
        with self.db.reading() as session:
            query = select(Controller.uuid).where(Controller.denied_at.is_not(None))
            return list(session.scalars(query.order_by(Controller.denied_at)))

    def undeny(self, uuid: str) -> Notice:
        with self.db.writing() as session:
            query = select(Controller).where(Controller.uuid == uuid,
                                             Controller.denied_at.is_not(None))
            row = session.scalars(query.with_for_update()).first()
            if row is None:
                raise Missing(f"controller {uuid} is not denied")
            row.denied_at = None
            return _bump(row)

    def clients(self, uuid: str) -> dict[str, list[str]]:
        with self.db.reading() as session:
            out: dict[str, list[str]] = {}
            for key in _live(session, uuid).clients:
                out.setdefault(key.client_uuid, []).append(key.token_hash)
            return out

    def put_clients(self, uuid: str, clients: dict[str, list[str]], replace_all: bool) -> Notice:
        """Set the token hashes of the given clients (of every client when `replace_all`)."""
        with self.db.writing() as session:
            row = _live(session, uuid, lock=True)
            gone = delete(ClientKey).where(ClientKey.controller_seq == row.seq)
            if not replace_all:
                gone = gone.where(ClientKey.client_uuid.in_(list(clients)))
            session.execute(gone)
            session.add_all(ClientKey(controller_seq=row.seq, client_uuid=client, token_hash=digest)
                            for client, hashes in clients.items() for digest in dict.fromkeys(hashes))
            session.expire(row, ["clients"])
            return _bump(row)

    def delete_client(self, uuid: str, client: str) -> Notice:
        with self.db.writing() as session:
            row = _live(session, uuid, lock=True)
            gone = session.execute(delete(ClientKey).where(ClientKey.controller_seq == row.seq,
                                                           ClientKey.client_uuid == client))
            if not gone.rowcount:
                raise Missing(f"controller {uuid} has no client {client}")
            return _bump(row)

    def peers(self, uuid: str) -> dict[str, dict]:
        with self.db.reading() as session:
            return {p.peer_uuid: {"id": p.serial, "tokens": list(p.tokens)}
                    for p in _live(session, uuid).peers}

    def put_peer(self, uuid: str, peer: str, serial: str, tokens: list[str]) -> Notice:
        with self.db.writing() as session:
            row = _live(session, uuid, lock=True)
            session.merge(Peer(controller_seq=row.seq, peer_uuid=peer, serial=serial,
                               tokens=list(dict.fromkeys(tokens))))
            return _bump(row)

    def delete_peer(self, uuid: str, peer: str) -> Notice:
        with self.db.writing() as session:
            row = _live(session, uuid, lock=True)
            gone = session.execute(delete(Peer).where(Peer.controller_seq == row.seq,
                                                      Peer.peer_uuid == peer))
            if not gone.rowcount:
                raise Missing(f"controller {uuid} has no peer {peer}")
            return _bump(row)

    def record_notify(self, uuid: str, version: int, error: str | None) -> None:
        with self.db.writing() as session:
            row = session.scalars(select(Controller).where(Controller.uuid == uuid)).first()
            if row is not None:
                row.notify_error = error
                if error is None and (row.notified_version or 0) < version:
                    row.notified_version = version
