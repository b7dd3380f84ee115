"""The sync answer (contract.SYNC) validated at the edge into a Bundle."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from marshmallow import ValidationError

from powerctl.errors import describe_validation
from powerctl.fleet import certs, contract
from powerctl.fleet.errors import BundleRefused, RemoteError


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
        envelope = contract.AnswerSchema().load(answer if isinstance(answer, dict) else {})
    except ValidationError as err:
        raise BundleRefused(f"not a JSON-RPC answer: {_problems(err)}") from None
    if envelope["error"] is not None:
        error = envelope["error"]
        detail = (
            contract.ErrorSchema().load(error)
            if isinstance(error, dict)
            else {"code": None, "message": str(error)}
        )
        raise RemoteError(f"fleet server refused the sync: {detail['message'][:300]} (code {detail['code']})")
    if envelope["id"] != request_id or envelope["method"] != contract.SYNC:
        raise BundleRefused("the answer does not match the request (id or method differ)")
    return parse_result(envelope["result"], now)


def parse_result(result: object, now: datetime.datetime | None = None) -> Bundle:
    """Validate a result object whole, certificates included; BundleRefused names the problem."""
    if not isinstance(result, dict):
        raise BundleRefused("malformed bundle: result is not a JSON object")
    try:
        value = contract.BundleSchema().load(result)
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
