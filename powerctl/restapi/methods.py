"""Which methods a node answers: the access word of each, the 405 checks, and Allow."""

from __future__ import annotations

import collections.abc

from powerctl.access import require_policy
from powerctl.auth import Principal
from powerctl.errors import MethodNotAllowed
from powerctl.restapi.tree import Call, Collection, KeyPath, Value
from scopes import Access

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
ACCESS = {
    "GET": Access.GET,
    "HEAD": Access.GET,
    "PUT": Access.MODIFY,
    "PATCH": Access.MODIFY,
    "DELETE": Access.MODIFY,
    "POST": Access.INVOKE,
    "OPTIONS": Access.GET,
}


def check_methods(
    principal: Principal,
    method: str,
    access: Access,
    unique: collections.abc.Collection[tuple[KeyPath, object]],
) -> None:
    """Refuse (403 or 405) a method some target does not answer, or not for this caller.

    `unique`: each node the request targets once, with the keys of one of its targets (a node
    object sits at one place in the tree, so one check per node covers its targets).
    """
    for keys, node in unique:
        if access == Access.GET and not isinstance(node, Call):
            # a read of a value or a container: only its policy is asked (the common case)
            require_policy(principal, keys, access, node.policy)  # type: ignore[attr-defined]
            continue
        where = "/" + "/".join(keys) + "/"
        if access == Access.GET:
            raise MethodNotAllowed(f"{where} is a function: POST to it", ["POST"])
        if access == Access.INVOKE and not invocable(node):
            raise MethodNotAllowed(f"{where} cannot be invoked with POST", allowed(node))
        if method in ("PUT", "PATCH") and not writable(node):
            raise MethodNotAllowed(f"{where} is read-only", allowed(node))
        if method == "DELETE" and not (isinstance(node, Value) and node.delete):
            raise MethodNotAllowed(f"{where} cannot be deleted", allowed(node))
        require_policy(principal, keys, access, node.policy)  # type: ignore[attr-defined]
    if method == "OPTIONS":
        # After authentication, so that Allow tells nothing about paths to strangers.
        answered = [m for m in METHODS if all(m in allowed(node) for _, node in unique)]
        raise MethodNotAllowed("OPTIONS (CORS preflight) is not served", answered)


def writable(node: object) -> bool:
    return isinstance(node, Value) and node.writable


def invocable(node: object) -> bool:
    return isinstance(node, Call) or (isinstance(node, Collection) and node.invoke is not None)


def allowed(node: object) -> list[str]:
    """The methods a node answers, for Allow; PATCH, an alias of PUT, is advertised only where
    it takes a form of named fields (a user's password change)."""
    if isinstance(node, Call):
        return ["POST"]
    methods = ["GET", "HEAD"]
    if writable(node):
        methods.append("PUT")
        if getattr(node.field, "takes_forms", False):  # type: ignore[union-attr]
            methods.append("PATCH")
    if isinstance(node, Value) and node.delete:
        methods.append("DELETE")
    if invocable(node):
        methods.append("POST")
    return methods
