"""The /restapi/ resource tree as data: each node knows its children, value type and I/O."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from marshmallow import fields

import scopes

Keys = tuple[str, ...]  # a concrete path from the root, e.g. ("relay", "outlets", "3", "state")
# (target keys, request body, access word) -> (leaf, access word) pairs; any one authorises
CoveredBy = Callable[[Keys, object, str], Iterable[tuple[Keys, str]]]


class Node:
    """Base of every node; `admin_only` hides a subtree from API clients.

    `open_to_clients` reopens a subtree inside an admin-only one (auth/sessions/): it is still
    left out of listings of its admin-only parent, but a path to it is judged by scopes alone.
    `covered_by` names other grants that authorise the node as well as a scope on it would
    (see authorise.Authorisation.first_uncovered).
    """

    admin_only: bool = False
    open_to_clients: bool = False
    covered_by: CoveredBy | None = None


@dataclass(eq=False)
class Value(Node):
    """A leaf holding one value; writable when it has `write` (or `write_many`)."""

    field: fields.Field
    read: Callable[[Keys], object]
    read_many: Callable[[list[Keys]], list] | None = None  # the same leaf of many outlets at once
    write: Callable[[Keys, object, object], None] | None = None
    write_many: Callable[[list[Keys], object, object], None] | None = None
    check: Callable[[list[Keys], object], None] | None = None  # refuse a write before any starts
    delete: Callable[[Keys, object], None] | None = None
    admin_write: bool = False
    admin_only: bool = False
    covered_by: CoveredBy | None = None

    @property
    def writable(self) -> bool:
        return self.write is not None or self.write_many is not None


@dataclass(eq=False)
class Call(Node):
    """A function invoked with POST, such as an outlet's `cycle/`."""

    invoke: Callable[[Keys, object, object], object]
    # several targets of one matrix POST at once, all or none (cycling outlets 0-7, one locked)
    invoke_many: Callable[[list[Keys], object, object], list] | None = None
    admin_only: bool = False
    covered_by: CoveredBy | None = None


@dataclass(eq=False)
class Branch(Node):
    """An object with a fixed set of children."""

    children: dict[str, Node]
    admin_only: bool = False


@dataclass(eq=False)
class Collection(Node):
    """Children computed at request time: an array (outlets) or a map (meter values)."""

    keys: Callable[[Keys], Sequence[str]]
    item: Node
    array: bool = True
    creatable: Callable[[str], bool] | None = None  # PUT may add a key that passes this check
    stable: bool = False  # keys never change while the app runs (outlets), so paths may be cached
    admin_only: bool = False
    open_to_clients: bool = False
    invoke: Callable[[Keys, object, object], object] | None = None  # POST to the collection
    # Members belong to clients: a non-admin caller sees only the keys this returns for its
    # client id (None for a caller that is no client), as if the others did not exist.
    owned_keys: Callable[[Keys, str | None], Sequence[str]] | None = None
    covered_by: CoveredBy | None = None


class FilterForbidden(Exception):
    """A request filters on a field its caller may not read."""

    def __init__(self, leaf: Keys):
        super().__init__(leaf)
        self.leaf = leaf


def child(node: Node, prefix: Keys, key: str) -> Node:
    """One step down the tree from `node` at `prefix`; KeyError when there is no such child."""
    if isinstance(node, Branch):
        return node.children[key]
    if isinstance(node, Collection) and key in node.keys(prefix):
        return node.item
    raise KeyError(key)


@dataclass(eq=False)
class Tree:
    """The root plus lookups that walk it."""

    root: Branch
    _resolved: dict[str, list[tuple[Keys, Node]]] = field(default_factory=dict)

    MAX_RESOLVED = 1024

    def resolve(self, path: scopes.Path, view: TreeView) -> list[tuple[Keys, Node]]:
        """The targets a path names, with their nodes, item-major.

        A path without filters that only lists Branches and stable Collections always names
        the same targets, so those answers are remembered.
        """
        cached = self._resolved.get(path.text)
        if cached is not None:
            return cached
        view.volatile = False
        targets = [(keys, view.node(keys)) for keys in scopes.expand(path, view)]
        filtered = any(getattr(segment, "filters", ()) for segment in path.segments)
        if not view.volatile and not filtered:
            if len(self._resolved) >= self.MAX_RESOLVED:
                self._resolved.clear()
            self._resolved[path.text] = targets
        return targets

    def node(self, keys: Keys) -> Node:
        """The node at a concrete path; KeyError when there is none."""
        node: Node = self.root
        for depth, key in enumerate(keys):
            node = child(node, keys[:depth], key)
        return node

    def admin_only(self, keys: Keys) -> bool:
        """Whether the deepest node on the path that says so closes it to API clients."""
        node: Node = self.root
        closed = node.admin_only
        for key in keys:
            node = node.children[key] if isinstance(node, Branch) else node.item  # type: ignore[union-attr]
            if node.admin_only:
                closed = True
            elif node.open_to_clients:
                closed = False
        return closed


class TreeView:
    """The tree as one caller sees it; implements scopes.TreeView for expanding requests."""

    def __init__(self, tree: Tree, grants: scopes.GrantSet | None, client: str | None = None):
        self.tree = tree
        self.grants = grants  # None for admins
        self.admin = grants is None
        self.client = client
        self.volatile = False  # set when a listing came from a collection whose keys may change
        self._nodes: dict[Keys, Node] = {}
        self.opened: set[Keys] = set()  # fields a `covered_by` grant lets this caller filter on

    def node(self, keys: Keys) -> Node:
        """Tree.node, remembered for the rest of this request."""
        node = self._nodes.get(keys)
        if node is None:
            node = self.tree.root if not keys else child(self.node(keys[:-1]), keys[:-1], keys[-1])
            self._nodes[keys] = node
        return node

    def visible(self, node: Node) -> bool:
        return self.admin or not node.admin_only

    def children(self, prefix: Keys) -> Sequence[str] | None:
        node = self.node(prefix)
        if isinstance(node, Branch):
            return node.children.keys()  # type: ignore[return-value]
        if isinstance(node, Collection):
            self.volatile = self.volatile or not node.stable
            return self._keys(prefix, node)
        return None

    def _keys(self, prefix: Keys, node: Collection) -> Sequence[str]:
        if node.owned_keys is not None and not self.admin:
            return node.owned_keys(prefix, self.client)
        return node.keys(prefix)

    def attr(self, prefix: Keys, name: str) -> object:
        """A field a request filters on: the caller must be allowed to read it."""
        leaf = (*prefix, name)
        if (self.grants is not None and leaf not in self.opened
                and not self.grants.allows(leaf, "get", self.field)):
            raise FilterForbidden(leaf)
        return self.field(prefix, name)

    def field(self, prefix: Keys, name: str) -> object:
        """A field's value as the server sees it, e.g. for a scope's own filters."""
        node = self.node(prefix)
        if isinstance(node, Branch):
            child = node.children.get(name)
            if isinstance(child, Value):
                return child.read((*prefix, name))
        raise KeyError(name)

    def leaves(self, keys: Keys, node: Node) -> list[Keys]:
        """Every readable leaf at or under `keys` that this caller can see."""
        if isinstance(node, Value):
            return [keys]
        out: list[Keys] = []
        for key, child in self.items(keys, node):
            if isinstance(child, Value | Branch | Collection) and self.visible(child):
                out += self.leaves((*keys, key), child)
        return out

    def items(self, keys: Keys, node: Node) -> list[tuple[str, Node]]:
        if isinstance(node, Branch):
            return list(node.children.items())
        if isinstance(node, Collection):
            return [(key, node.item) for key in self._keys(keys, node)]
        return []

    def render(self, keys: Keys, node: Node, depth: int | None, base: int) -> object:
        """The JSON value of a node; containers deeper than `depth` become {"$ref": ...}."""
        if isinstance(node, Value):
            return node.read(keys)
        if depth is not None and len(keys) - base >= depth:
            return {"$ref": "/".join(keys[base:]) + "/"}
        parts = [
            (key, self.render((*keys, key), child, depth, base))
            for key, child in self.items(keys, node)
            if not isinstance(child, Call) and self.visible(child)
        ]
        if isinstance(node, Collection) and node.array and depth is None:
            return [value for _, value in parts]
        # A depth-limited array is keyed by index: its members' $refs need their keys.
        return dict(parts)
