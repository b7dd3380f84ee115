"""Controllers and what each holds: clients (token hashes), peers, its HTTPS pair, its version."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fleetserver import accounts, pki, settings
from fleetserver.bundles import Bundles
from fleetserver.database import FleetDatabase
from fleetserver.errors import Clash, Missing
from fleetserver.models import DEFAULT_ACCOUNT, ClientKey, Controller, Peer, iso, utcnow
from fleetserver.pages import Page


@dataclass(frozen=True)
class Notice:
    """A controller to tell that its bundle changed (sent after the change is committed)."""

    uuid: str
    version: int
    url: str | None
    token: str


def _expires(certificate_pem: str | None) -> datetime.datetime | None:
    return None if certificate_pem is None else pki.validity(certificate_pem)[1]


def describe(row: Controller) -> dict:
    nxt = _expires(row.next_cert_pem)
    return {
        "uuid": row.uuid,
        "ownedBy": row.account_id,
        "serial": row.serial,
        "notify_url": row.notify_url,
        "version": row.version,
        "created": iso(row.created),
        "notified_version": row.notified_version,
        "notify_error": row.notify_error,
        "notify_failures": row.notify_failures or 0,
        "last_notify_at": iso(row.last_notify_at) if row.last_notify_at else None,
        "next_notify_at": iso(row.next_notify_at) if row.next_notify_at else None,
        "certificate_expires": iso(_expires(row.server_cert_pem)),
        "next_certificate_expires": iso(nxt) if nxt else None,
    }


def _live(session: Session, uuid: str, lock: bool = False, owner: str | None = None) -> Controller:
    """The live controller `uuid`; with `owner`, only if that account owns it (another
    account's controller is Missing, exactly as one that does not exist)."""
    query = select(Controller).where(Controller.uuid == uuid, Controller.denied_at.is_(None))
    if owner is not None:
        query = query.where(Controller.account_id == owner)
    row = session.scalars(query.with_for_update() if lock else query).first()
    if row is None:
        raise Missing(f"no controller {uuid}")
    return row


def _bump(row: Controller) -> Notice:
    """A new version, due for notification now: an admin's change to one controller is worth
    one attempt even in backoff (a failure continues the backoff where it was)."""
    row.version += 1
    row.next_notify_at = utcnow() if row.notify_url else None
    return Notice(row.uuid, row.version, row.notify_url, row.fleet_token)


class Controllers:
    def __init__(
        self,
        db: FleetDatabase,
        issuer: tuple[str, str],
        policy: settings.CertificatePolicy | None = None,
        clock: Callable[[], datetime.datetime] = utcnow,
    ):
        self.db = db
        self.issuer = issuer
        self.policy = policy or settings.certificate_policy(db)
        self.clock = clock  # the present, for issuing and renewing HTTPS pairs
        self.bundles = Bundles()  # built bundles, reused by syncs until the next version

    def _issue(
        self, uuid: str, notify_url: str | None, now: datetime.datetime | None = None
    ) -> tuple[str, str]:
        return pki.issue_server(
            *self.issuer, uuid, notify_url, days=self.policy.validity_days, now=now or self.clock()
        )

    def create(self, uuid: str, serial: str, notify_url: str | None, owner: str = DEFAULT_ACCOUNT) -> dict:
        """A new controller of account `owner`. A UUID is one gateway's identity fleet-wide:
        one held by any account is 409."""
        cert, key = self._issue(uuid, notify_url)
        with self.db.writing() as session:
            accounts.locked(session, owner)
            known = session.scalars(select(Controller).where(Controller.uuid == uuid)).first()
            if known is not None and known.denied_at is not None and known.account_id == owner:
                raise Clash(f"controller {uuid} is denied; DELETE /denied-controllers/{uuid} first")
            if known is not None:
                raise Clash(f"controller {uuid} exists")
            row = Controller(
                uuid=uuid,
                account_id=owner,
                serial=serial,
                notify_url=notify_url,
                version=1,
                next_notify_at=utcnow() if notify_url else None,
                fleet_token=secrets.token_urlsafe(32),
                server_cert_pem=cert,
                server_key_pem=key,
            )
            session.add(row)
            session.flush()
            return describe(row)

    def get(self, uuid: str, owner: str | None = None) -> dict:
        with self.db.reading() as session:
            return describe(_live(session, uuid, owner=owner))

    def list(self, page: Page, owner: str | None = None) -> tuple[list[dict], str | None]:
        query = select(Controller).where(Controller.denied_at.is_(None))
        if owner is not None:
            query = query.where(Controller.account_id == owner)
        query = page.apply(query, Controller.seq)
        with self.db.reading() as session:
            rows, marker = page.split(list(session.scalars(query)))
            return [describe(row) for row in rows], marker

    def update(
        self, uuid: str, serial: str | None, notify_url: str | None, set_url: bool, owner: str | None = None
    ) -> tuple[dict, Notice | None]:
        """Change the serial or notify URL; a new URL gets a new HTTPS pair for its host."""
        with self.db.writing() as session:
            row = _live(session, uuid, lock=True, owner=owner)
            if serial is not None:
                row.serial = serial
            notice = None
            if set_url and notify_url != row.notify_url:
                row.notify_url = notify_url
                row.server_cert_pem, row.server_key_pem = self._issue(uuid, notify_url)
                row.next_cert_pem = row.next_key_pem = None  # it would name the old host
                row.notify_failures = 0  # a new address: no backoff from the old one
                notice = _bump(row)
            return describe(row), notice

    def renewal_due(self, row: Controller) -> bool:
        """Whether the controller's HTTPS pairs must change now: its current certificate has
        expired, or it is within the renewal window with no next pair staged (or the staged one
        has expired). A date check, made on every sync without a lock."""
        return self.renewal_due_at(_expires(row.server_cert_pem), _expires(row.next_cert_pem))

    def renewal_due_at(self, current: datetime.datetime, staged: datetime.datetime | None) -> bool:
        """`renewal_due` from the pairs' expiry dates (the sync path keeps them with the bundle)."""
        now = self.clock()
        if current <= now:
            return True
        if staged is None:
            return current - self.policy.renew_before <= now
        return staged <= now

    def _renew(self, row: Controller, now: datetime.datetime) -> bool:
        """Bring a (locked) row's pairs up to date; whether anything changed.

        An expired current pair is replaced by the staged next one if that is valid now (as the
        gateway rotates by itself), else by a new one; then, within the renewal window and with
        no next pair staged, a next pair is issued and staged."""
        changed = False
        if row.next_cert_pem is not None and _expires(row.next_cert_pem) <= now:
            row.next_cert_pem = row.next_key_pem = None
            changed = True
        if _expires(row.server_cert_pem) <= now:
            if row.next_cert_pem is not None and pki.validity(row.next_cert_pem)[0] <= now:
                row.server_cert_pem, row.server_key_pem = row.next_cert_pem, row.next_key_pem
            else:
                row.server_cert_pem, row.server_key_pem = self._issue(row.uuid, row.notify_url, now)
            row.next_cert_pem = row.next_key_pem = None
            changed = True
        if row.next_cert_pem is None and _expires(row.server_cert_pem) - self.policy.renew_before <= now:
            row.next_cert_pem, row.next_key_pem = self._issue(row.uuid, row.notify_url, now)
            changed = True
        return changed

    def renew(self, uuid: str) -> Notice | None:
        """Promote, replace or stage HTTPS pairs as `renewal_due` found needed; checked again
        under the row lock, so concurrent syncs change (and bump) it once. None: nothing to do."""
        with self.db.writing() as session:
            row = _live(session, uuid, lock=True)
            return _bump(row) if self._renew(row, self.clock()) else None

    def rotate(self, uuid: str, immediate: bool = False, owner: str | None = None) -> Notice:
        """Stage a new next HTTPS pair now (replacing any staged one), or with `immediate`
        replace the current pair at once and drop the staged one (a compromised key)."""
        with self.db.writing() as session:
            row = _live(session, uuid, lock=True, owner=owner)
            now = self.clock()
            if immediate:
                row.server_cert_pem, row.server_key_pem = self._issue(uuid, row.notify_url, now)
                row.next_cert_pem = row.next_key_pem = None
            else:
                self._renew(row, now)  # an expired current pair is replaced first
                row.next_cert_pem, row.next_key_pem = self._issue(uuid, row.notify_url, now)
            return _bump(row)

    def deny(self, uuid: str, owner: str | None = None) -> None:
        """Delete: drop what it held, keep its record and key so it stays refused."""
        with self.db.writing() as session:
            row = _live(session, uuid, lock=True, owner=owner)
            row.denied_at = utcnow()
            row.next_notify_at = None
            session.execute(delete(ClientKey).where(ClientKey.controller_seq == row.seq))
            session.execute(delete(Peer).where(Peer.controller_seq == row.seq))

    def denied(self, owner: str | None = None) -> list[str]:
        with self.db.reading() as session:
            query = select(Controller.uuid).where(Controller.denied_at.is_not(None))
            if owner is not None:
                query = query.where(Controller.account_id == owner)
            return list(session.scalars(query.order_by(Controller.denied_at)))

    def undeny(self, uuid: str, owner: str | None = None) -> Notice:
        with self.db.writing() as session:
            query = select(Controller).where(Controller.uuid == uuid, Controller.denied_at.is_not(None))
            if owner is not None:
                query = query.where(Controller.account_id == owner)
            row = session.scalars(query.with_for_update()).first()
            if row is None:
                raise Missing(f"controller {uuid} is not denied")
            row.denied_at = None
            row.notify_failures = 0
            return _bump(row)

    def clients(self, uuid: str, owner: str | None = None) -> dict[str, list[str]]:
        with self.db.reading() as session:
            out: dict[str, list[str]] = {}
            for key in _live(session, uuid, owner=owner).clients:
                out.setdefault(key.client_uuid, []).append(key.token_hash)
            return out

    def put_clients(
        self, uuid: str, clients: dict[str, list[str]], replace_all: bool, owner: str | None = None
    ) -> Notice:
        """Set the token hashes of the given clients (of every client when `replace_all`)."""
        with self.db.writing() as session:
            row = _live(session, uuid, lock=True, owner=owner)
            gone = delete(ClientKey).where(ClientKey.controller_seq == row.seq)
            if not replace_all:
                gone = gone.where(ClientKey.client_uuid.in_(list(clients)))
            session.execute(gone)
            session.add_all(
                ClientKey(controller_seq=row.seq, client_uuid=client, token_hash=digest)
                for client, hashes in clients.items()
                for digest in dict.fromkeys(hashes)
            )
            session.expire(row, ["clients"])
            return _bump(row)

    def delete_client(self, uuid: str, client: str, owner: str | None = None) -> Notice:
        return self._remove(uuid, ClientKey, ClientKey.client_uuid == client, f"client {client}", owner)

    def _remove(
        self, uuid: str, model: type[ClientKey] | type[Peer], which, what: str, owner: str | None = None
    ) -> Notice:
        """Delete the controller's `model` rows matching `which`; Missing when there are none."""
        with self.db.writing() as session:
            row = _live(session, uuid, lock=True, owner=owner)
            gone = session.execute(delete(model).where(model.controller_seq == row.seq, which))
            if not gone.rowcount:
                raise Missing(f"controller {uuid} has no {what}")
            return _bump(row)

    def peers(self, uuid: str, owner: str | None = None) -> dict[str, dict]:
        with self.db.reading() as session:
            return {
                p.peer_uuid: {"id": p.serial, "tokens": list(p.tokens)}
                for p in _live(session, uuid, owner=owner).peers
            }

    def put_peer(
        self, uuid: str, peer: str, serial: str, tokens: list[str], owner: str | None = None
    ) -> Notice:
        with self.db.writing() as session:
            row = _live(session, uuid, lock=True, owner=owner)
            session.merge(
                Peer(
                    controller_seq=row.seq, peer_uuid=peer, serial=serial, tokens=list(dict.fromkeys(tokens))
                )
            )
            return _bump(row)

    def delete_peer(self, uuid: str, peer: str, owner: str | None = None) -> Notice:
        return self._remove(uuid, Peer, Peer.peer_uuid == peer, f"peer {peer}", owner)
