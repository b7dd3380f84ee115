"""auth/: users, API clients, roles and the denied list, for admins only; sessions/ for clients too."""

from __future__ import annotations

from marshmallow import fields

from powerctl.resources.clients import clients_node
from powerctl.resources.roles import roles_node
from powerctl.restapi.tree import Branch, Collection, Node, Value
from powerctl.store import Database
from powerctl.store.credentials import denied_ids, lift_denial


def denied_node(db: Database, audit) -> Collection:
    """auth/denied/: ids of deleted clients whose tokens stay refused; DELETE lifts one."""

    def lift(keys, who) -> None:
        lift_denial(db, keys[2])
        audit.record(f"Client {keys[2]} denial lifted by {who.actor()}")

    return Collection(
        keys=lambda _prefix: denied_ids(db),
        item=Value(fields.String(), read=lambda keys: keys[2], delete=lift),
    )


def auth_node(db: Database, audit, sessions: Node, fleet: Node | None = None) -> Branch:
    user = Branch({
        "name": Value(fields.String(), read=lambda keys: keys[2]),
        "is_admin": Value(fields.Boolean(), read=lambda _keys: True),
    })
    return Branch({
        "users": Collection(keys=lambda _prefix: db.users(), item=user, array=False),
        "clients": clients_node(db, audit),
        "roles": roles_node(db, audit),
        "denied": denied_node(db, audit),
        "sessions": sessions,  # open_to_clients: reachable by clients through their scopes
        **({"fleet": fleet} if fleet is not None else {}),
    }, admin_only=True)
