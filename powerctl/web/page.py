"""What the settings page shows, read from the store, the relay and the audit trail."""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass

import scopes
from powerctl.relay import Relay
from powerctl.store import ClientRecord, Database
from powerctl.store import fleet as fleet_store
from powerctl.store import roles as role_store
from powerctl.store import sessions as session_store
from powerctl.store import users as user_store
from powerctl.store.credentials import denial, denied_ids

AUDIT_LINES = 30
# The page's sections in order: templates/section-NAME.html each, with static/section-NAME.js
# for those that act (files stay flat for package_data): a new concern is one more entry.
SECTIONS = (
    "outlets",
    "meters",
    "autoping",
    "users",
    "clients",
    "roles",
    "sessions",
    "denied",
    "fleet",
    "audit",
)
# (label, scope text) offered as one-click starting points on the page
PRESETS = [
    ("read all", "/?access=get"),
    ("switch outlets 1,3,5", "/relay/outlets/=1,3,5/=state,transient_state/?access=modify,get"),
    ("read meters", "/meter/values/all;/=name,value,unit/?access=get"),
    ("make session tokens", "/auth/sessions/"),
]


@dataclass(frozen=True)
class Token:
    hash: str
    uses: str


@dataclass(frozen=True)
class Client:
    id: str
    name: str
    scopes: tuple[str, ...]
    tokens: list[Token]
    denied: bool


def uses_text(limits: dict) -> str:
    left = limits.get("remaining_use_count")
    return "unlimited" if left is None else f"{left} uses left"


def when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def clients(db: Database) -> list[Client]:
    out = []
    for client_id in db.client_ids():
        record = db.client(client_id)
        if record is not None:
            tokens = [Token(h, uses_text(limits)) for h, limits in record.access_tokens.items()]
            out.append(
                Client(client_id, record.name, record.scopes, tokens, denial(db, client_id) is not None)
            )
    return out


def outlets(relay: Relay) -> list[dict]:
    return [
        {
            "index": i,
            "name": relay.outlet(i).name,
            "on": relay.transient(i),
            "physical": relay.physical(i),
            "locked": relay.outlet(i).locked,
        }
        for i in range(relay.count)
    ]


def denied(db: Database) -> list[dict]:
    out = []
    for client_id in denied_ids(db):
        found = denial(db, client_id)
        if found is not None:
            out.append({"id": client_id, "at": when(found[0]), "by": found[1]})
    return out


def sessions(db: Database, now: float) -> list[dict]:
    out = []
    for jti in session_store.live_sessions(db, int(now)):
        record = session_store.session(db, jti)
        if record is not None:
            out.append(
                {
                    "jti": jti,
                    "whoami": record.sub,
                    "role": record.role,
                    "outlets": record.outlets,
                    "creator": record.creator,
                    "expires": when(record.expires),
                }
            )
    return out


def users(db: Database, outlet_count: int) -> list[dict]:
    """Each user with its outlet_access padded to the outlets there are."""
    out = []
    for record in user_store.all_users(db):
        allowed = list(record.outlet_access[:outlet_count])
        allowed += [False] * (outlet_count - len(allowed))
        out.append({"name": record.name, "is_admin": record.is_admin, "outlets": allowed})
    return out


def fleet(db: Database, configured: bool) -> dict:
    status = fleet_store.status(db)
    synced = status["last_sync"]
    return {**status, "configured": configured, "synced": None if synced is None else when(synced)}


def roles(db: Database) -> list[role_store.RoleRecord]:
    found = (role_store.role(db, name) for name in role_store.role_names(db))
    return [record for record in found if record is not None]


def curl_line(token: str, record: ClientRecord, host_url: str, secure: bool) -> str:
    """A command that uses the token on the first path its scopes let it read."""
    path = "/relay/outlets/all;/state/"
    for text in record.scopes:
        scope = scopes.parse_scope(text)
        if scopes.Access.GET in scope.access:
            path = scope.path.text
            break
    url = host_url.rstrip("/") + "/restapi" + path
    insecure = "-k " if secure else ""
    return f"curl {insecure}-H {shlex.quote('Authorization: Bearer ' + token)} {shlex.quote(url)}"
