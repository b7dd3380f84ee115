"""Input validation at the edge of the admin API (marshmallow); inside, plain values."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates, validates_schema

from fleetserver.certificates import Status

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HASH = validate.Regexp(r"[0-9a-f]{64}\Z", error="must be a sha256 hash: 64 lowercase hex digits")
PEER_TOKEN = validate.Regexp(
    r"[\x21-\x7e]{16,512}\Z", error="must be 16 to 512 printable ASCII characters, no spaces"
)
SERIAL = validate.Length(min=1, max=64)
ADMIN_TOKEN_ID = re.compile(r"[0-9a-f]{16}")
MAX_TOKENS = 1000


ACCOUNT = validate.Regexp(r"[A-Za-z0-9-]{1,64}\Z", error="must be 1 to 64 letters, digits or -")
MESSAGE = validate.Length(max=128)  # the reference's transferMessage and rejectReason


def owner_field():
    """`account`: for the operator, the account a new object goes to (default: `default`)."""
    return fields.String(validate=ACCOUNT)


def check_uuid(text: str, what: str) -> str:
    """A lowercase canonical UUID, or a 404-free 400 naming the field."""
    if not UUID.fullmatch(text):
        raise ValidationError({what: ["must be a lowercase canonical UUID"]})
    return text


class Strict(Schema):
    class Meta:
        unknown = RAISE


class ControllerSchema(Strict):
    uuid = fields.String(
        required=True,
        validate=validate.Regexp(UUID.pattern + r"\Z", error="must be a lowercase canonical UUID"),
    )
    serial = fields.String(required=True, validate=SERIAL)
    notify_url = fields.String(load_default=None, allow_none=True)
    account = owner_field()

    @validates("notify_url")
    def _https(self, value, **_kwargs) -> None:
        if value is None:
            return
        try:
            parts = urlsplit(value)
            host, _port = parts.hostname, parts.port  # .port: ValueError out of 0-65535
        except ValueError:  # an unclosed "[" of an IPv6 address, a bad port
            parts, host = None, None
        # The host goes into the controller's certificate, which takes ASCII names only (IDNA
        # A-labels, "xn--..."), and no spaces or controls.
        if (
            parts is None
            or parts.scheme != "https"
            or not host
            or not host.isascii()
            or not host.isprintable()
            or " " in host
            or len(value) > 512
        ):
            raise ValidationError(
                "must be an https:// URL with an ASCII host name, of at most 512 characters"
            )


class ControllerUpdateSchema(ControllerSchema):
    uuid = fields.String(load_default=None)

    class Meta(Strict.Meta):
        exclude = ("account",)  # an owner changes by a certificate transfer only

    serial = fields.String(validate=SERIAL)


class ClientSchema(Strict):
    tokens = fields.List(
        fields.String(validate=HASH), required=True, validate=validate.Length(max=MAX_TOKENS)
    )


class ClientsSchema(Strict):
    clients = fields.Dict(
        keys=fields.String(validate=validate.Regexp(UUID.pattern + r"\Z")),
        values=fields.List(fields.String(validate=HASH), validate=validate.Length(max=MAX_TOKENS)),
        required=True,
    )


class PeerSchema(Strict):
    id = fields.String(required=True, validate=SERIAL)
    tokens = fields.List(
        fields.String(validate=PEER_TOKEN), required=True, validate=validate.Length(min=1, max=100)
    )


class AccountSchema(Strict):
    id = fields.String(required=True, validate=ACCOUNT)


class TransferSchema(Strict):
    targetAccount = fields.String(required=True, validate=ACCOUNT)
    transferMessage = fields.String(load_default=None, allow_none=True, validate=MESSAGE)


class AcceptTransferSchema(Strict):
    setAsActive = fields.Boolean(load_default=False)


class RejectTransferSchema(Strict):
    rejectReason = fields.String(load_default=None, allow_none=True, validate=MESSAGE)


class CaRegistrationSchema(Strict):
    caCertificate = fields.String(required=True, validate=validate.Length(max=65536))
    verificationCertificate = fields.String(required=True, validate=validate.Length(max=65536))
    setAsActive = fields.Boolean(load_default=False)
    allowAutoRegistration = fields.Boolean(load_default=False)
    account = owner_field()


class CaUpdateSchema(Strict):
    newStatus = fields.String(validate=validate.OneOf([Status.ACTIVE, Status.INACTIVE]))
    newAutoRegistrationStatus = fields.String(validate=validate.OneOf(["ENABLE", "DISABLE"]))


STATUSES = [s.value for s in Status]


class CertificateSchema(Strict):
    certificatePem = fields.String(required=True, validate=validate.Length(max=65536))
    controller = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(UUID.pattern + r"\Z")
    )
    status = fields.String(load_default=Status.INACTIVE, validate=validate.OneOf(STATUSES))
    account = owner_field()


class CertificateUpdateSchema(Strict):
    newStatus = fields.String(validate=validate.OneOf(STATUSES))
    controller = fields.String(validate=validate.Regexp(UUID.pattern + r"\Z"))

    @validates_schema
    def _something(self, data, **_kwargs) -> None:
        if not data:
            raise ValidationError("give newStatus, controller or both")
