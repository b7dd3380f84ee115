"""auth/: users, API clients, roles and the denied list, for admins only; sessions/ for clients too."""

from __future__ import annotations

import re

from marshmallow import fields

from powerctl.access import AccessPolicy
from powerctl.errors import BadRequest
from powerctl.resources.clients import clients_node
from powerctl.resources.roles import roles_node
from powerctl.resources.users import users_node
from powerctl.restapi.tree import Branch, Collection, Node, Value, member
from powerctl.store import Database
from powerctl.store.credentials import denied_ids, deny, lift_denial

# A local client id or the UUID of a client synced from the fleet server.
DENIABLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


def denied_node(db: Database, audit) -> Collection:
    """auth/denied/: ids whose tokens are refused. Deleting a client adds its id; PUT of the id
    itself adds any id (a synced UUID, which no local DELETE can reach); DELETE lifts one."""

    def check(keys_list, value) -> None:
        for keys in keys_list:
            if value != member(keys):
                raise BadRequest(
                    f"the value of auth/denied/{member(keys)}/ is the id itself",
                    errors={"value": f"must be {member(keys)!r}"},
                )

    def add(keys, _value, who) -> None:
        with audit.change(f"Client {member(keys)} denied by {who.actor()}"):
            deny(db, member(keys), who.actor())

    def lift(keys, who) -> None:
        with audit.change(f"Client {member(keys)} denial lifted by {who.actor()}"):
            lift_denial(db, member(keys))

    return Collection(
        keys=lambda _prefix: denied_ids(db),
        item=Value(fields.String(), read=lambda keys: member(keys), write=add, check=check, delete=lift),
        creatable=lambda key: DENIABLE_ID.fullmatch(key) is not None,
    )


def auth_node(db: Database, audit, sessions: Node, fleet: Node | None = None) -> Branch:
    return Branch(
        {
            "users": users_node(db, audit),  # open to clients: a user sees itself there
            "clients": clients_node(db, audit),
            "roles": roles_node(db, audit),
            "denied": denied_node(db, audit),
            "sessions": sessions,  # open to clients: reachable by clients through their scopes
            **({"fleet": fleet} if fleet is not None else {}),
        },
        policy=AccessPolicy(admin_only=True),
    )
