"""The tree as one caller sees it: visible nodes, listings, rendering, fields filters read."""

from __future__ import annotations

from collections.abc import Sequence

import scopes
from powerctl import access
from powerctl.auth import Principal
from powerctl.restapi.tree import Branch, Call, Collection, KeyPath, Node, Tree, Value, child


class CallerView:
    """The tree as one caller sees it; implements scopes.TreeView for expanding requests."""

    def __init__(self, tree: Tree, principal: Principal, covered: access.Extra | None = None):
        self.tree = tree
        self.principal = principal
        self.admin = principal.is_admin
        self.covered = covered  # the grants the tree's covered_by names, asked for filter fields
        self._nodes: dict[KeyPath, Node] = {}

    def node(self, keys: KeyPath) -> Node:
        """Tree.node, remembered for the rest of this request."""
        node = self._nodes.get(keys)
        if node is None:
            node = self.tree.root if not keys else child(self.node(keys[:-1]), keys[:-1], keys[-1])
            self._nodes[keys] = node
        return node

    def visible(self, node: Node) -> bool:
        return self.admin or not node.admin_only

    def children(self, prefix: KeyPath) -> Sequence[str] | None:
        node = self.node(prefix)
        if isinstance(node, Branch):
            return node.listing
        if isinstance(node, Collection):
            return self._keys(prefix, node)
        return None

    def _keys(self, prefix: KeyPath, node: Collection) -> Sequence[str]:
        if node.owned_keys is not None and not self.admin:
            return node.owned_keys(prefix, self.principal)
        return node.keys(prefix)

    def attr(self, prefix: KeyPath, name: str) -> object:
        """A field a request filters on: the caller must be allowed to read it."""
        leaf = (*prefix, name)
        if not access.covers(self.principal, [leaf], scopes.Access.GET, self.field, self.covered):
            access.deny(
                self.principal, f"filtering on {access.where(leaf)} needs get access to it", insufficient=True
            )
        return self.field(prefix, name)

    def field(self, prefix: KeyPath, name: str) -> object:
        """A field's value as the server sees it, e.g. for a scope's own filters."""
        node = self.node(prefix)
        if isinstance(node, Branch):
            member = node.children.get(name)
            if isinstance(member, Value):
                return member.read((*prefix, name))
        elif isinstance(node, Value):  # a member held as one object (a user): its field
            value = node.read(prefix)
            if isinstance(value, dict) and name in value:
                return value[name]
        raise KeyError(name)

    def leaves(self, keys: KeyPath, node: Node) -> list[KeyPath]:
        """Every readable leaf at or under `keys` that this caller can see."""
        if isinstance(node, Value):
            return [keys]
        out: list[KeyPath] = []
        for key, member in self.items(keys, node):
            if isinstance(member, Value | Branch | Collection) and member.listed and self.visible(member):
                out += self.leaves((*keys, key), member)
        return out

    def items(self, keys: KeyPath, node: Node) -> list[tuple[str, Node]]:
        if isinstance(node, Branch):
            return list(node.children.items())
        if isinstance(node, Collection):
            return [(key, node.item) for key in self._keys(keys, node)]
        return []

    def render(self, keys: KeyPath, node: Node, depth: int | None, base: int) -> object:
        """The JSON value of a node; containers deeper than `depth` become {"$ref": ...}."""
        if isinstance(node, Value):
            return node.read(keys)
        if depth is not None and len(keys) - base >= depth:
            return {"$ref": "/".join(keys[base:]) + "/"}
        parts = [
            (key, self.render((*keys, key), member, depth, base))
            for key, member in self.items(keys, node)
            if not isinstance(member, Call) and member.listed and self.visible(member)
        ]
        if isinstance(node, Collection) and node.array and depth is None:
            return [value for _, value in parts]
        # A depth-limited array is keyed by index: its members' $refs need their keys.
        return dict(parts)
