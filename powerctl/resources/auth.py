"""auth/: users and API clients, for admins only."""

from __future__ import annotations

from marshmallow import fields

from powerctl.resources.clients import clients_node
from powerctl.restapi.tree import Branch, Collection, Value
from powerctl.store import Database


def auth_node(db: Database, audit) -> Branch:
    user = Branch({
        "name": Value(fields.String(), read=lambda keys: keys[2]),
        "is_admin": Value(fields.Boolean(), read=lambda _keys: True),
    })
    return Branch({
        "users": Collection(keys=lambda _prefix: db.users(), item=user, array=False),
        "clients": clients_node(db, audit),
    }, admin_only=True)
