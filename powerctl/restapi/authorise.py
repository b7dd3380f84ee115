"""Authorisation of a request: every leaf covered by a scope or a `covered_by` grant, audited."""

from __future__ import annotations

from typing import NoReturn

import scopes
from powerctl.audit import audit
from powerctl.auth import Principal
from powerctl.errors import Forbidden
from powerctl.restapi.body import Body
from powerctl.restapi.tree import Keys
from powerctl.restapi.view import TreeView


def deny(principal: Principal, reason: str, insufficient: bool = False) -> NoReturn:
    """Audit and refuse with 403; `insufficient` marks a missing scope for bearer clients."""
    audit().record(f"access denied for {principal.describe()}: {reason}")
    headers = {}
    if insufficient:
        headers["WWW-Authenticate"] = 'Bearer error="insufficient_scope"'
    raise Forbidden(
        f"client {principal.client} may not do this: {reason}" if principal.client else reason,
        headers=headers,
    )


class Authorisation:
    """The authorisation half of dispatch.Request, which provides these attributes and `body`.

    A base class rather than a helper object so that a request allocates nothing more.
    """

    principal: Principal
    view: TreeView
    path: scopes.Path
    access: scopes.Access
    body: Body

    def leaves(self, targets: list[tuple[Keys, object]]) -> list[Keys]:
        if not targets:
            # A matrix that selected nothing is checked as the collection it selected from,
            # so an empty answer is no more than the caller could read there.
            return [self.selected_from()]
        if self.access != scopes.Access.GET:
            return [keys for keys, _ in targets]
        # An empty container is checked as itself, so no one reads structure without a scope.
        return [leaf for keys, node in targets for leaf in (self.view.leaves(keys, node) or [keys])]

    def selected_from(self) -> Keys:
        """The keys named before the first selector of this request's path."""
        named = []
        for segment in self.path.segments:
            if not isinstance(segment, scopes.Name):
                break
            named.append(segment.key)
        return tuple(named)

    def authorise(self, targets: list[tuple[Keys, object]]) -> None:
        grants = self.principal.grants
        if grants is not None:
            missing = self.first_uncovered(self.leaves(targets), self.access)
            if missing is not None:
                where = "/" + "/".join(missing) + "/"
                self.deny(f"no {self.access} scope covers {where}", insufficient=True)
        audit().record(f"access allowed for {self.principal.describe()}")

    def deny(self, reason: str, insufficient: bool = False) -> NoReturn:
        deny(self.principal, reason, insufficient)

    def may_read(self, keys_list: list[Keys]) -> bool:
        return self.first_uncovered(keys_list, scopes.Access.GET) is None

    def first_uncovered(self, leaves: list[Keys], access: scopes.Access) -> Keys | None:
        """The first leaf the caller may not `access`, or None.

        A leaf no scope covers is still allowed when its node's `covered_by` names another
        grant the caller holds: (leaf, access word) pairs, any one suffices. So invoke on
        script/user_functions/NAME/ lets a client start NAME through script/start/, whose body
        names it. Leaves a scope covers never reach the hook, so the common path is unchanged.
        """
        grants = self.principal.grants
        if grants is None:
            return None
        missing = grants.first_uncovered(leaves, access, self.view.field)
        if missing is None:
            return None
        for leaf in leaves[leaves.index(missing) :]:
            if not (grants.allows(leaf, access, self.view.field) or self.covered(leaf, access)):
                return leaf
        return None

    def covered(self, leaf: Keys, access: scopes.Access) -> bool:
        try:
            hook = self.view.node(leaf).covered_by
        except KeyError:  # a key a PUT is about to create
            return False
        if hook is None:
            return False
        body = Body("empty") if self.access == scopes.Access.GET else self.body
        return any(
            self.principal.grants.allows(other, word, self.view.field)  # type: ignore[union-attr]
            for other, word in hook(leaf, body, access)
        )
