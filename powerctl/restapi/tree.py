"""The /restapi/ resource tree as data: each node knows its children, value type and I/O.

What a node needs besides a scope on its leaves is its `policy` (access.AccessPolicy); what it
does for many members at once is its `batch`. Both are declared by its resource, next to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING

from marshmallow import fields

import scopes
from powerctl.access import OPEN, AccessPolicy

if TYPE_CHECKING:
    from powerctl.auth import Principal
    from powerctl.restapi.view import CallerView

KeyPath = tuple[str, ...]  # a concrete path from the root, e.g. ("relay", "outlets", "3", "state")


@dataclass(frozen=True, slots=True)
class Batch:
    """The same leaf of many members in one call, for a matrix request that names them all.

    `read` answers them together (every outlet's physical_state from one board read); `write`
    sets one value on all, so they can be sequenced (outlets switching on one after another);
    `invoke` runs them all or none (cycling outlets 0-7 with one locked). A Value may have
    `read` and `write`, a Call `invoke`; a node without a batch is asked member by member.
    """

    read: Callable[[list[KeyPath]], list] | None = None
    write: Callable[[list[KeyPath], object, object], None] | None = None
    invoke: Callable[[list[KeyPath], object, object], list] | None = None


ONE_BY_ONE = Batch()


class Node:
    """Base of every node: its access `policy` (OPEN unless its resource declares one) and
    its `batch` (ONE_BY_ONE unless it declares one). A node not `listed` (a meter's history/)
    is reached by its name only: its parent's listings, renderings and leaves leave it out.
    Nodes compare by identity (every kind is `eq=False`): a request counts its nodes so."""

    policy: AccessPolicy = OPEN
    batch: Batch = ONE_BY_ONE
    listed: bool = True


@dataclass(eq=False)
class Value(Node):
    """A leaf holding one value; writable when it has `write` (or a batch write)."""

    field: fields.Field
    read: Callable[[KeyPath], object]
    write: Callable[[KeyPath, object, object], None] | None = None
    check: Callable[[list[KeyPath], object], None] | None = None  # refuse a write before any starts
    delete: Callable[[KeyPath, object], None] | None = None
    policy: AccessPolicy = OPEN
    batch: Batch = ONE_BY_ONE
    listed: bool = True

    def __post_init__(self) -> None:
        if self.batch.invoke is not None:
            raise TypeError("a Value is not invoked: give its batch read or write")

    @property
    def writable(self) -> bool:
        return self.write is not None or self.batch.write is not None


@dataclass(eq=False)
class Call(Node):
    """A function invoked with POST, such as an outlet's `cycle/`."""

    invoke: Callable[[KeyPath, object, object], object]
    policy: AccessPolicy = OPEN
    batch: Batch = ONE_BY_ONE

    def __post_init__(self) -> None:
        if self.batch.read is not None or self.batch.write is not None:
            raise TypeError("a Call is only invoked: give its batch invoke")


@dataclass(eq=False)
class Branch(Node):
    """An object with a fixed set of children."""

    children: dict[str, Node]
    policy: AccessPolicy = OPEN

    def __post_init__(self) -> None:
        self.listing = Listing(self.children)


class Listing(list):
    """A branch's listed child names; `in` also finds the ones reached by name only."""

    def __init__(self, children: dict[str, Node]):
        super().__init__(key for key, node in children.items() if node.listed)
        self._names = children.keys()

    def __contains__(self, key: object) -> bool:
        return key in self._names


@dataclass(eq=False)
class Collection(Node):
    """Children computed at request time: an array (outlets) or a map (meter values)."""

    keys: Callable[[KeyPath], Sequence[str]]
    item: Node
    array: bool = True
    creatable: Callable[[str], bool] | None = None  # PUT may add a key that passes this check
    stable: bool = False  # keys never change while the app runs (outlets), so paths may be cached
    invoke: Callable[[KeyPath, object, object], object] | None = None  # POST to the collection
    # Members belong to callers: a non-admin sees only the keys this returns for it (the
    # principal is passed in), as if the others did not exist.
    owned_keys: Callable[[KeyPath, Principal], Sequence[str]] | None = None
    policy: AccessPolicy = OPEN


def member(keys: KeyPath) -> str:
    """The collection key a member node is called for: <id> of auth/clients/<id>/.

    Keys count from the node itself, never from the root, so a resource does not depend on
    where its branch is mounted.
    """
    return keys[-1]


def owner(keys: KeyPath) -> str:
    """The collection key of the member a field belongs to: <i> of relay/outlets/<i>/name/."""
    return keys[-2]


_OWNER = itemgetter(-2)


def owners(keys_list: Iterable[KeyPath]) -> list[str]:
    """owner() of each, without a Python step for each (a matrix names many members)."""
    return list(map(_OWNER, keys_list))


def child(node: Node, prefix: KeyPath, key: str) -> Node:
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
    _resolved: dict[str, list[tuple[KeyPath, Node]]] = field(default_factory=dict)
    _closed: dict[str, bool] = field(default_factory=dict)

    MAX_RESOLVED = 1024

    def resolve(self, path: scopes.Path, view: CallerView) -> list[tuple[KeyPath, Node]]:
        """The targets a path names, with their nodes, item-major.

        A path without filters that only lists Branches and stable Collections always names
        the same targets, so those answers are remembered.
        """
        cached = self._resolved.get(path.text)
        if cached is not None:
            return cached
        targets = [(keys, view.node(keys)) for keys in scopes.expand(path, view)]
        if self.stable(path):
            if len(self._resolved) >= self.MAX_RESOLVED:
                self._resolved.clear()
            self._resolved[path.text] = targets
        return targets

    def node(self, keys: KeyPath) -> Node:
        """The node at a concrete path; KeyError when there is none."""
        node: Node = self.root
        for depth, key in enumerate(keys):
            node = child(node, keys[:depth], key)
        return node

    def stable(self, path: scopes.Path) -> bool:
        """Whether a path names the same targets for every caller while the app runs: it has
        no filters and lists keys only of Branches and stable Collections (outlets)."""
        reached: list[Node] = [self.root]
        for segment in path.segments:
            if getattr(segment, "filters", ()):
                return False
            if any(isinstance(node, Collection) and not node.stable for node in reached):
                return False
            reached = [below for node in reached for below in _members(node, segment)]
        return True

    def closed_to_clients(self, path: scopes.Path) -> bool:
        """Whether a path reaches into an admin-only subtree, judged on the tree's shape alone.

        Keys are not looked up, so a client learns nothing of which ids exist there: every
        path under auth/clients/ is closed alike. The deepest node on the way that says so
        decides (auth/sessions/ is open to clients inside admin-only auth/); a name the tree
        does not have is closed if its parent is. The answer depends on the path alone, so
        it is remembered.
        """
        known = self._closed.get(path.text)
        if known is None:
            if len(self._closed) >= self.MAX_RESOLVED:
                self._closed.clear()
            known = self._closed[path.text] = self._closed_to_clients(path)
        return known

    def _closed_to_clients(self, path: scopes.Path) -> bool:
        reached: list[tuple[Node, bool]] = [(self.root, self.root.policy.closes(False))]
        for segment in path.segments:
            step: list[tuple[Node, bool]] = []
            for node, closed in reached:
                for below in _members(node, segment):
                    step.append((below, below.policy.closes(closed)))
            if not step:
                # nothing there: a 404 in the open tree tells no more than its listings do
                return any(closed for _, closed in reached)
            reached = step
        return any(closed for _, closed in reached)


def _members(node: Node, segment: scopes.Segment) -> list[Node]:
    """The nodes a segment may select below `node`, whatever keys exist."""
    if isinstance(node, Collection):
        return [node.item]
    if not isinstance(node, Branch):
        return []
    if isinstance(segment, scopes.Name):
        below = node.children.get(segment.key)
        return [] if below is None else [below]
    if isinstance(segment, scopes.Keys):
        return [node.children[key] for key in segment.keys if key in node.children]
    return list(node.children.values())
