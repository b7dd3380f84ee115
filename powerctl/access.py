"""The one access gate: authenticate a request, decide on its leaves, audit, allow or refuse.

Every surface (the /restapi/ tree, /metrics, the settings page, fleet notify) turns a request
into a Principal with `authenticate`, names the leaves it touches with an access word, and asks
here: all or nothing, the first uncovered leaf named, one audit line either way. No other module
reads grants or writes an "access allowed/denied" line for a principal.

A leaf that needs more than a scope on itself says so in its node's AccessPolicy, declared by
its resource next to the node (powerctl/resources/__init__.py shows how); the gate reads it
through the surface's `Policies` and nothing else. Nearly every node has OPEN: scopes decide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NoReturn, Protocol
from urllib.parse import quote

from flask import current_app, has_request_context, request

from powerctl.audit import Audit, audit
from powerctl.auth import Principal, authenticator
from powerctl.errors import Forbidden
from scopes import Access

Leaf = tuple[str, ...]
Grant = tuple[Leaf, Access]
# (leaf, request body, access word) -> other grants, any one of which authorises the leaf too
CoveredBy = Callable[[Leaf, object, Access], Iterable[Grant]]
ADMINS_ONLY = "this path is for admins only"
# app.extensions key of a surface's test for reads that are views of a page the caller has
# signed in to (the settings page): those are audited once, at the sign-in, not each.
PAGE_VIEWS = "powerctl.page_views"


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """What a node needs besides a scope on its leaves, for the whole subtree it roots.

    `admin_only`: for admins only; left out of clients' listings, and a path into it is refused
    before any key is looked up (auth/). `open_to_clients`: reopens a subtree inside an
    admin-only one (auth/sessions/): still left out of its parent's listings, but a path to it
    is judged by scopes alone. `admin_write`: only admins modify it, whatever the scopes
    (config/lockout_delay_minutes/). `covered_by`: other grants that authorise the node as well
    as a scope on it would, asked only for leaves no scope covers (POST script/start/ naming
    NAME is allowed by invoke on script/user_functions/NAME/).
    """

    admin_only: bool = False
    open_to_clients: bool = False
    admin_write: bool = False
    covered_by: CoveredBy | None = None

    def __post_init__(self) -> None:
        if self.admin_only and self.open_to_clients:
            raise ValueError("a node is admin-only or open to clients, not both")

    def closes(self, parent_closed: bool) -> bool:
        """Whether a path reaching this node is closed to clients, given whether its parent's is."""
        return self.admin_only or (parent_closed and not self.open_to_clients)


OPEN = AccessPolicy()


class Policies(Protocol):
    """What a surface tells the gate of the leaves it asks about (the /restapi/ request does)."""

    def policy(self, leaf: Leaf) -> AccessPolicy:
        """The policy of the node at leaf; OPEN for a key not there yet (a PUT creating it)."""
        ...

    def request_body(self) -> object:
        """The body a covered_by reads (script/start/ names its function); asked only then."""
        ...


def authenticate(target: str | None = None, environ: dict | None = None) -> Principal:
    """The caller of this request, or 401/403; a surface that has read the raw target and the
    WSGI environ already passes them (each lookup through Flask's `request` costs a microsecond)."""
    if environ is None:
        environ = request.environ
    return authenticator().authenticate(raw_target(environ) if target is None else target, environ)


def raw_target(environ: dict | None = None) -> str:
    """The request target as the client sent it: digest `uri` and matrix syntax need it raw."""
    if environ is None:
        environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        return raw
    path = quote(environ.get("PATH_INFO", "/").encode("latin-1"), safe="/;=,!:@$&+*'()~")
    query = environ.get("QUERY_STRING")
    return path + ("?" + query if query else "")


def where(leaf: Leaf) -> str:
    return "/" + "/".join(leaf) + "/"


def first_uncovered(
    principal: Principal,
    leaves: Sequence[Leaf],
    access: str,
    attrs: object = None,
    policies: Policies | None = None,
) -> Leaf | None:
    """The first leaf the principal may not `access`, or None (admins may do everything).

    Leaves a scope covers never reach their policy, so the common path costs one trie walk a
    leaf; the others are allowed when a grant their policy's `covered_by` names is held.
    """
    grants = principal.grants
    if grants is None:
        return None
    missing = grants.first_uncovered(leaves, access, attrs)
    if missing is None or policies is None:
        return missing
    for leaf in leaves[leaves.index(missing) :]:
        if grants.allows(leaf, access, attrs):
            continue
        covered_by = policies.policy(leaf).covered_by
        if covered_by is None:
            return leaf
        body = policies.request_body()
        if not any(grants.allows(other, word, attrs) for other, word in covered_by(leaf, body, access)):
            return leaf
    return None


def covers(
    principal: Principal,
    leaves: Sequence[Leaf],
    access: str,
    attrs: object = None,
    policies: Policies | None = None,
) -> bool:
    """Whether every leaf is allowed, without an audit line: for what a surface only shows."""
    return first_uncovered(principal, leaves, access, attrs, policies) is None


def require(
    principal: Principal,
    leaves: Sequence[Leaf],
    access: str,
    attrs: object = None,
    policies: Policies | None = None,
) -> None:
    """Allow (audited) when every leaf is covered, else refuse naming the first that is not."""
    missing = first_uncovered(principal, leaves, access, attrs, policies)
    if missing is not None:
        deny(principal, f"no {access} scope covers {where(missing)}", insufficient=True)
    allow(principal)


def check(
    principal: Principal, leaves: Sequence[Leaf], access: str, attrs: object, trail: Audit
) -> str | None:
    """require() for a surface outside an HTTP request (MQTT, the pdudaemon listener): the same
    decision and audit line, written to `trail`; the refusal's reason, or None when allowed.

    The surface answers a refusal in its own protocol (a pdudaemon 403 line, a dropped MQTT
    command); nothing it asked for happens.
    """
    missing = first_uncovered(principal, leaves, access, attrs)
    if missing is not None:
        reason = f"no {access} scope covers {where(missing)}"
        trail.record(f"access denied for {principal.describe()}: {reason}")
        return reason
    trail.record(f"access allowed for {principal.describe()}")
    return None


def require_within(principal: Principal, leaves: Sequence[Leaf], access: str, what: str) -> None:
    """Refuse when a leaf lies outside the bounds of the principal's grants (a session's outlets).

    Bounds hold whatever the scopes say: a call that acts on leaves on the caller's behalf (a
    script switching outlets) is checked against them before anything runs.
    """
    grants = principal.grants
    if grants is None:
        return
    for leaf in leaves:
        if not grants.within(leaf, access):
            deny(principal, f"{what} reaches {where(leaf)}, outside this token's bounds", insufficient=True)


def require_policy(principal: Principal, leaf: Leaf, access: str, policy: AccessPolicy) -> None:
    """Refuse, whatever the scopes, what a node's policy keeps for admins: modifying an
    admin_write leaf. Asked for each node a request targets, before its scopes are."""
    if policy.admin_write and access == Access.MODIFY:
        require_admin(principal, f"only admins may change {where(leaf)}")


def require_admin(principal: Principal, reason: str = ADMINS_ONLY) -> None:
    """Refuse anyone but an admin, with the same answer wherever it is asked."""
    if not principal.is_admin:
        deny(principal, reason)


def require_scheme(principal: Principal, schemes: Sequence[str], reason: str, message: str) -> None:
    """Refuse a principal not authenticated by one of `schemes` (fleet notify: peers only)."""
    if principal.scheme not in schemes:
        deny(principal, reason, message=message)
    allow(principal)


def allow(principal: Principal, note: str = "") -> None:
    """Audit an allowed request, unless it is a read the PAGE_VIEWS test calls a page view."""
    extensions = current_app._get_current_object().extensions  # one context lookup, not two
    views = extensions.get(PAGE_VIEWS) if has_request_context() else None
    if views is not None and views(principal):
        return
    line = f"access allowed for {principal.describe()}" + (f": {note}" if note else "")
    extensions["powerctl.audit"].record(line)


def deny(
    principal: Principal, reason: str, insufficient: bool = False, message: str | None = None
) -> NoReturn:
    """Audit and refuse with 403; `insufficient` marks a missing scope for bearer clients."""
    audit().record(f"access denied for {principal.describe()}: {reason}")
    headers = {}
    if insufficient:
        headers["WWW-Authenticate"] = 'Bearer error="insufficient_scope"'
    if message is None:
        message = f"client {principal.client} may not do this: {reason}" if principal.client else reason
    raise Forbidden(message, headers=headers)


def refuse(addr: str, reason: str, message: str) -> NoReturn:
    """Audit and refuse with 403 a caller that is no principal (a certificate naming no peer)."""
    audit().record(f"access denied for {addr}: {reason}")
    raise Forbidden(message)
