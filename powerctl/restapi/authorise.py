"""What a /restapi/ request asks the access gate: its leaves, and the policies of their nodes."""

from __future__ import annotations

from typing import NoReturn

import scopes
from powerctl import access
from powerctl.access import OPEN, AccessPolicy
from powerctl.auth import Principal
from powerctl.restapi.body import Body
from powerctl.restapi.tree import KeyPath, Value
from powerctl.restapi.view import CallerView


class Authorisation:
    """The authorisation half of dispatch.Request, which provides these attributes and `body`.

    It is the request's access.Policies: the gate asks it for a node's policy and for the body
    a covered_by reads. A base class rather than a helper object so that a request allocates
    nothing more.
    """

    principal: Principal
    nodes: dict[int, tuple[KeyPath, object]]  # each targeted node once (dispatch.Request.run)
    keys_list: list[KeyPath]  # the keys of each target, in order
    view: CallerView
    path: scopes.Path
    access: scopes.Access
    body: Body

    def leaves(self, targets: list[tuple[KeyPath, object]]) -> list[KeyPath]:
        if not targets:
            # A matrix that selected nothing is checked as the collection it selected from,
            # so an empty answer is no more than the caller could read there.
            return [self.selected_from()]
        if self.access != scopes.Access.GET:
            return self.keys_list
        if len(self.nodes) == 1 and isinstance(targets[0][1], Value):
            return self.keys_list  # one field of many members: each is a leaf
        # An empty container is checked as itself, so no one reads structure without a scope.
        out: list[KeyPath] = []
        for keys, node in targets:
            if isinstance(node, Value):  # a leaf itself (outlets' states): nothing to walk
                out.append(keys)
            else:
                out += self.view.leaves(keys, node) or [keys]
        return out

    def selected_from(self) -> KeyPath:
        """The keys named before the first selector of this request's path."""
        named = []
        for segment in self.path.segments:
            if not isinstance(segment, scopes.Name):
                break
            named.append(segment.key)
        return tuple(named)

    def authorise(self, targets: list[tuple[KeyPath, object]]) -> None:
        leaves = [] if self.principal.is_admin else self.leaves(targets)
        access.require(self.principal, leaves, self.access, self.view.field, self)

    def deny(self, reason: str, insufficient: bool = False) -> NoReturn:
        access.deny(self.principal, reason, insufficient)

    def may_read(self, keys_list: list[KeyPath]) -> bool:
        return access.covers(self.principal, keys_list, scopes.Access.GET, self.view.field, self)

    def policy(self, leaf: KeyPath) -> AccessPolicy:
        try:
            return self.view.node(leaf).policy
        except KeyError:  # a key a PUT is about to create
            return OPEN

    def request_body(self) -> Body:
        """A GET's covered_by reads no body, whatever was sent."""
        return Body("empty") if self.access == scopes.Access.GET else self.body
