"""The wire contract between a gateway and the fleet server: both sides import this, nothing else.

JSON-RPC as the reference speaks it: a call is `{"id", "api": "3", "method", "params"}`, an
answer `{"error", "method", "id", "result"}` with `error` null or `{"code", "message"}`. The
gateway calls `SYNC` on the fleet server and answers `NOTIFY`; the fleet server does the
reverse. The bundle (the `SYNC` result) is `BundleSchema`. Plain Python and marshmallow only: no
Flask, no other module of either side, so the fleet server takes no more of the gateway than this.
"""

from __future__ import annotations

import base64
import secrets

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

API = "3"
SYNC = "cloud.access_keys_controller_sync"  # gateway -> fleet server: "send me my bundle"
NOTIFY = "hub.offline.credentials.updated"  # fleet server -> gateway: "your bundle changed"

# error codes: JSON-RPC 2.0's, then the reference's HTTP-like ones
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
NOT_CONFIGURED = -32000  # the gateway has no [fleet] url
REFUSED = 403  # the fleet server will not give this certificate a bundle

MAX_VERSION = 2**62
MAX_ENTRIES = 1_000_000
UUID = validate.Regexp(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    error="must be a UUID",
)
SHA256 = validate.Regexp(r"^[0-9a-fA-F]{64}$", error="must be a SHA-256 hex digest")
PEM = validate.Length(1, 64 * 1024)


def call(method: str, params: dict, ident: str | None = None) -> dict:
    """A call; `ident` defaults to a fresh random id."""
    return {"id": ident or secrets.token_hex(8), "api": API, "method": method, "params": params}


def sync_call(version: int | None) -> dict:
    """The sync call exactly as the reference has it: `params` is {} when no version is held."""
    return call(SYNC, {} if version is None else {"version": version})


def notify_call(version: int) -> dict:
    return call(NOTIFY, {"version": version})


def answer(ident: object, method: str | None, result: object) -> dict:
    return {"error": None, "method": method, "id": ident, "result": result}


def error_answer(ident: object, method: str | None, code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}, "method": method, "id": ident, "result": None}


def encode_token(raw: bytes) -> str:
    """The sent form of a token: base64url without padding (the gateway's bearer grammar)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def peer_authorization(peer_uuid: str, token: str) -> str:
    """The Authorization header a peer presents with one of its plain tokens (never log it)."""
    return f"Bearer {peer_uuid}.{encode_token(token.encode())}"


def bundle(
    version: int,
    clients: dict[str, list[str]],
    peers: dict[str, tuple[str, list[str]]],
    current: list[tuple[str, str, str]],
) -> dict:
    """The SYNC result: client UUID -> token hashes, peer UUID -> (serial, plain tokens), and
    the HTTPS pairs as (certificate, private key, public_parent): the one to serve now first."""
    return {
        "clients": {uuid: list(hashes) for uuid, hashes in clients.items()},
        "peers": {uuid: {"id": serial, "tokens": list(tokens)} for uuid, (serial, tokens) in peers.items()},
        "current": [
            {"certificate": cert, "private": key, "public_parent": parent} for cert, key, parent in current
        ],
        "version": version,
    }


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class PeerSchema(_Strict):
    id = fields.String(required=True, validate=validate.Length(1, 128))
    # sent as base64url after `<uuid>.`; the bearer grammar allows 1024 encoded characters
    tokens = fields.List(fields.String(validate=validate.Length(1, 512)), required=True)


class CertificateSchema(_Strict):
    certificate = fields.String(required=True, validate=PEM)
    private = fields.String(required=True, validate=PEM)
    public_parent = fields.String(required=True, validate=PEM)


class BundleSchema(_Strict):
    """The SYNC result, whole: nothing more, nothing less."""

    clients = fields.Dict(
        keys=fields.String(validate=UUID),
        values=fields.List(fields.String(validate=SHA256)),
        required=True,
        validate=validate.Length(max=MAX_ENTRIES),
    )
    peers = fields.Dict(
        keys=fields.String(validate=UUID),
        values=fields.Nested(PeerSchema),
        required=True,
        validate=validate.Length(max=MAX_ENTRIES),
    )
    current = fields.List(fields.Nested(CertificateSchema), required=True, validate=validate.Length(max=16))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(0, MAX_VERSION))


class ErrorSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    code = fields.Raw(load_default=None)
    message = fields.String(load_default="")


class AnswerSchema(Schema):
    """An answer's envelope; `result` is checked by the schema of its method."""

    class Meta:
        unknown = EXCLUDE  # JSON-RPC envelopes may carry more (jsonrpc, api); the result may not

    id = fields.Raw(required=True)
    method = fields.String(load_default=SYNC)
    error = fields.Raw(load_default=None, allow_none=True)
    result = fields.Raw(load_default=None, allow_none=True)


class NotifyParamsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    version = fields.Integer(strict=True, validate=validate.Range(0, MAX_VERSION))


class NotifySchema(Schema):
    """The NOTIFY call as the gateway accepts it."""

    class Meta:
        unknown = RAISE

    id = fields.Raw(required=True)
    api = fields.String(load_default=API)
    method = fields.String(required=True, validate=validate.Equal(NOTIFY))
    params = fields.Nested(NotifyParamsSchema, load_default=dict)
