"""auth/clients/<client>/: API client registrations (admins only), and the scope validation."""

from __future__ import annotations

import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

import scopes
from powerctl.audit import counted
from powerctl.restapi.tree import Collection, KeyPath, Value, member
from powerctl.store import ClientRecord, Database
from powerctl.store.credentials import MAX_USE_COUNT, denial

CLIENT_ID = re.compile(r"[A-Za-z0-9]{1,64}")
MAX_SCOPES = 4096
MAX_TOKENS = 10_000


def check_scopes(value: dict) -> None:
    """Validate `{scope text: true}`; errors are keyed by scope text and name the column."""
    if len(value) > MAX_SCOPES:
        raise ValidationError(f"at most {MAX_SCOPES} scopes")
    problems = {}
    for text, flag in value.items():
        if flag is not True:
            problems[text] = ["a scope's value must be true"]
            continue
        try:
            scopes.parse_scope(text)
        except scopes.ScopeError as err:
            problems[text] = [str(err)]
    if problems:
        raise ValidationError(problems)


class TokenLimits(Schema):
    class Meta:
        unknown = RAISE

    remaining_use_count = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_USE_COUNT))


class ClientSchema(Schema):
    """A registration as DLI sends it: name, redirect_urls, scopes, refresh_tokens, access_tokens."""

    class Meta:
        unknown = RAISE

    name = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9]{1,64}$", error="must be 1-64 letters and digits, no spaces"),
    )
    redirect_urls = fields.Dict(load_default=dict)
    scopes = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True, validate=check_scopes)
    refresh_tokens = fields.Dict(load_default=dict)
    access_tokens = fields.Dict(
        keys=fields.String(
            validate=validate.Regexp(
                r"^[0-9a-f]{64}$", error="token keys are sha256 hashes: 64 lowercase hex digits"
            )
        ),
        values=fields.Nested(TokenLimits),
        required=True,
    )

    @validates("access_tokens")
    def _tokens(self, value: dict, **_kwargs) -> None:
        if len(value) > MAX_TOKENS:
            raise ValidationError(f"at most {MAX_TOKENS} tokens per client")


class ClientField(fields.Field):
    """A whole registration as one value of the tree."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("a client registration is a JSON object")
        return ClientSchema().load(value)


def as_json(record: ClientRecord) -> dict:
    return {
        "name": record.name,
        "redirect_urls": record.redirect_urls,
        "scopes": dict.fromkeys(record.scopes, True),
        "refresh_tokens": record.refresh_tokens,
        "access_tokens": record.access_tokens,
    }


def clients_node(db: Database, audit) -> Collection:
    def read(keys: KeyPath) -> dict | None:
        record = db.client(member(keys))
        return None if record is None else as_json(record)

    def write(keys: KeyPath, value: dict, who) -> None:
        record = ClientRecord(
            member(keys),
            value["name"],
            tuple(value["scopes"]),
            value["redirect_urls"],
            value["refresh_tokens"],
            value["access_tokens"],
            0,
        )
        denied = " (denied: its tokens stay refused until an admin lifts the denial)"
        with audit.change() as lines:
            db.put_client(record)
            lines.append(
                f"Client {member(keys)} registered by {who.actor()}"
                f" ({counted(len(record.scopes), 'scope')}, {counted(len(record.access_tokens), 'token')})"
                + (denied if denial(db, member(keys)) else "")
            )

    def delete(keys: KeyPath, who) -> None:
        with audit.change(f"Client {member(keys)} deleted with its tokens and denied by {who.actor()}"):
            db.delete_client(member(keys), who.actor())

    return Collection(
        keys=lambda _prefix: db.client_ids(),
        item=Value(ClientField(), read=read, write=write, delete=delete),
        array=False,
        creatable=lambda key: CLIENT_ID.fullmatch(key) is not None,
    )
