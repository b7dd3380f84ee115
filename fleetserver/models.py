"""The fleet server's tables, as SQLAlchemy 2.x declarative models."""

from __future__ import annotations

import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def iso(moment: datetime.datetime) -> str:
    """ISO 8601 in UTC; SQLite hands timestamps back without their zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.isoformat()


class Base(DeclarativeBase):
    pass


class Setting(Base):
    """Server-wide values: the fleet's peer UUID, the registration code, the issuing CA."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AdminToken(Base):
    """An admin bearer token by its sha256; `id` names it in lists and revocations."""

    __tablename__ = "admin_tokens"
    __table_args__ = (Index("admin_tokens_by_id", "id", unique=True),)
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # admins.Source
    label: Mapped[str | None] = mapped_column(String(64))
    created: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


DEFAULT_ACCOUNT = "default"  # owns what was made before accounts existed, and the operator's by default


class Account(Base):
    """An owner of controllers, CA certificates and certificates, managed by the operator."""

    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AccountToken(Base):
    """An account's bearer token, `<id>.<secret>`, by its sha256; looked up by `id`."""

    __tablename__ = "account_tokens"
    __table_args__ = (Index("account_tokens_by_account", "account_id"),)
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _owner() -> Mapped[str]:
    """The owning account's id. No foreign key: SQLite cannot add one to a table with rows
    without rebuilding it, and rebuilding `controllers` would cascade into its clients; the
    store locks the account row instead when it creates or deletes (accounts.Accounts)."""
    return mapped_column(String(64), server_default=DEFAULT_ACCOUNT)


class Controller(Base):
    """A gateway of the fleet. Deleting one only marks it denied (`denied_at`)."""

    __tablename__ = "controllers"
    __table_args__ = (
        Index("controllers_by_account", "account_id", "seq"),
        Index("controllers_notify_due", "next_notify_at"),
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    account_id: Mapped[str] = _owner()
    serial: Mapped[str] = mapped_column(String(64))
    notify_url: Mapped[str | None] = mapped_column(String(512))
    version: Mapped[int] = mapped_column(Integer, default=1)
    fleet_token: Mapped[str] = mapped_column(String(128))
    server_cert_pem: Mapped[str] = mapped_column(Text)
    server_key_pem: Mapped[str] = mapped_column(Text)
    # the next HTTPS pair, staged before the current one expires (current[1] of the bundle)
    next_cert_pem: Mapped[str | None] = mapped_column(Text)
    next_key_pem: Mapped[str | None] = mapped_column(Text)
    # sha256 of the SubjectPublicKeyInfo of the key the controller enrolled with
    enrolled_key: Mapped[str | None] = mapped_column(String(64))
    denied_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    notified_version: Mapped[int | None] = mapped_column(Integer)
    notify_error: Mapped[str | None] = mapped_column(Text)
    # when the next notification is due (null: none is); a claimed row is moved a lease ahead
    next_notify_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    last_notify_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    notify_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    clients: Mapped[list[ClientKey]] = relationship(
        cascade="all, delete-orphan", order_by="ClientKey.client_uuid"
    )
    peers: Mapped[list[Peer]] = relationship(cascade="all, delete-orphan", order_by="Peer.peer_uuid")


class ClientKey(Base):
    """One token hash of one client of one controller."""

    __tablename__ = "client_keys"
    controller_seq: Mapped[int] = mapped_column(
        ForeignKey("controllers.seq", ondelete="CASCADE"), primary_key=True
    )
    client_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)


class Peer(Base):
    """A peer the controller accepts and calls, with plain tokens (the reference sends them so)."""

    __tablename__ = "peers"
    controller_seq: Mapped[int] = mapped_column(
        ForeignKey("controllers.seq", ondelete="CASCADE"), primary_key=True
    )
    peer_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    serial: Mapped[str] = mapped_column(String(64))
    tokens: Mapped[list] = mapped_column(JSON)


class CaCertificate(Base):
    __tablename__ = "ca_certificates"
    __table_args__ = (Index("ca_certificates_by_account", "account_id", "seq"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    certificate_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[str] = _owner()
    pem: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    auto_registration: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    modified: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Certificate(Base):
    """A controller's client certificate, signed by a registered CA."""

    __tablename__ = "certificates"
    __table_args__ = (
        Index("certificates_by_ca", "ca_seq", "seq"),
        Index("certificates_by_controller", "controller_seq"),
        Index("certificates_by_account", "account_id", "seq"),
        Index("certificates_by_transfer_target", "transfer_to"),
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    certificate_id: Mapped[str] = mapped_column(String(64), unique=True)
    ca_seq: Mapped[int] = mapped_column(ForeignKey("ca_certificates.seq"))
    controller_seq: Mapped[int | None] = mapped_column(ForeignKey("controllers.seq"))
    pem: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    created: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    modified: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    account_id: Mapped[str] = _owner()
    previous_account_id: Mapped[str | None] = mapped_column(String(64))
    # the reference's transferData; transfer_to names the target while PENDING_TRANSFER
    transfer_to: Mapped[str | None] = mapped_column(String(64))
    transfer_message: Mapped[str | None] = mapped_column(Text)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    transfer_date: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    accept_date: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    reject_date: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    ca: Mapped[CaCertificate] = relationship()
    controller: Mapped[Controller | None] = relationship()
