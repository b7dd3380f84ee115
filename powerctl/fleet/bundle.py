"""The sync answer (cloud.access_keys_controller_sync) validated at the edge into a Bundle."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from powerctl.errors import describe_validation
from powerctl.fleet import certs
from powerctl.fleet.errors import BundleRefused, RemoteError

METHOD = "cloud.access_keys_controller_sync"
UUID = validate.Regexp(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}"
    r"-[0-9a-fA-F]{12}$",
    error="must be a UUID",
)
SHA256 = validate.Regexp(r"^[0-9a-fA-F]{64}$", error="must be a SHA-256 hex digest")
PEM = validate.Length(1, 64 * 1024)
MAX_ENTRIES = 1_000_000


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


class ResultSchema(_Strict):
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
    version = fields.Integer(required=True, strict=True, validate=validate.Range(0, 2**62))


class ErrorSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    code = fields.Raw(load_default=None)
    message = fields.String(load_default="")


class AnswerSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # JSON-RPC envelopes may carry more (jsonrpc, api); the result may not

    id = fields.Raw(required=True)
    method = fields.String(load_default=METHOD)
    error = fields.Raw(load_default=None, allow_none=True)
    result = fields.Raw(load_default=None, allow_none=True)


@dataclass(frozen=True)
class Bundle:
    version: int
    clients: dict[str, list[str]]
    peers: dict[str, tuple[str, list[str]]]
    current: list[tuple[str, str, str]]


def _problems(err: ValidationError) -> str:
    return "; ".join(describe_validation(err.messages))[:500]


def parse_answer(answer: object, request_id: str, now: datetime.datetime | None = None) -> Bundle:
    """The Bundle in a JSON-RPC answer; RemoteError for an error answer, else BundleRefused."""
    try:
        envelope = AnswerSchema().load(answer if isinstance(answer, dict) else {})
    except ValidationError as err:
        raise BundleRefused(f"not a JSON-RPC answer: {_problems(err)}") from None
    if envelope["error"] is not None:
        error = envelope["error"]
        detail = (
            ErrorSchema().load(error) if isinstance(error, dict) else {"code": None, "message": str(error)}
        )
        raise RemoteError(f"fleet server refused the sync: {detail['message'][:300]} (code {detail['code']})")
    if envelope["id"] != request_id or envelope["method"] != METHOD:
        raise BundleRefused("the answer does not match the request (id or method differ)")
    return parse_result(envelope["result"], now)


def parse_result(result: object, now: datetime.datetime | None = None) -> Bundle:
    """Validate a result object whole, certificates included; BundleRefused names the problem."""
    if not isinstance(result, dict):
        raise BundleRefused("malformed bundle: result is not a JSON object")
    try:
        value = ResultSchema().load(result)
    except ValidationError as err:
        raise BundleRefused(f"malformed bundle: {_problems(err)}") from None
    current = [(c["certificate"], c["private"], c["public_parent"]) for c in value["current"]]
    moment = now or datetime.datetime.now(datetime.UTC)
    for position, entry in enumerate(current):
        certs.check(entry, position, moment)
    return Bundle(
        version=value["version"],
        clients={uuid: [d.lower() for d in digests] for uuid, digests in value["clients"].items()},
        peers={uuid: (peer["id"], peer["tokens"]) for uuid, peer in value["peers"].items()},
        current=current,
    )
