"""auth/roles/<name>/: named scope sets for session tokens (admins only)."""

from __future__ import annotations

import re

from marshmallow import RAISE, Schema, ValidationError, fields

from powerctl.resources.clients import check_scopes
from powerctl.resources.values import label
from powerctl.restapi.tree import Collection, KeyPath, Value, member
from powerctl.store import Database
from powerctl.store import roles as store

ROLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class RoleSchema(Schema):
    """A role: the same `{scope: true}` map as a client registration, and a description."""

    class Meta:
        unknown = RAISE

    scopes = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True, validate=check_scopes)
    description = label(200, min_length=0, load_default="")  # GET shows "" for none: PUT it back


class RoleField(fields.Field):
    """A whole role as one value of the tree."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("a role is a JSON object")
        return RoleSchema().load(value)


def as_json(record: store.RoleRecord) -> dict:
    return {"scopes": dict.fromkeys(record.scopes, True), "description": record.description}


def roles_node(db: Database, audit) -> Collection:
    def read(keys: KeyPath) -> dict | None:
        record = store.role(db, member(keys))
        return None if record is None else as_json(record)

    def write(keys: KeyPath, value: dict, who) -> None:
        with audit.change(
            f"Role {member(keys)} set by {who.actor()} ({len(value['scopes'])} scopes);"
            " its sessions follow it from the next request"
        ):
            store.put_role(db, member(keys), tuple(value["scopes"]), value["description"])

    def delete(keys: KeyPath, who) -> None:
        with audit.change(f"Role {member(keys)} deleted by {who.actor()}; its sessions are revoked"):
            store.delete_role(db, member(keys))

    return Collection(
        keys=lambda _prefix: store.role_names(db),
        item=Value(RoleField(), read=read, write=write, delete=delete),
        array=False,
        creatable=lambda key: ROLE_NAME.fullmatch(key) is not None,
    )
