"""A client's scopes compiled into one trie per access word, queried per concrete leaf."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from .parse import parse_scope
from .path import Access, Attrs, Filter, Keys, Name, Scope, Segment, filters_match

_Suffixes = frozenset[tuple[Segment, ...]]


class _Node:
    """A trie node: keys under it match a literal child or any wild branch whose filters pass."""

    __slots__ = ("literal", "wild")

    def __init__(self, literal: dict[str, _Node], wild: tuple[tuple[frozenset[Filter], _Node], ...]) -> None:
        self.literal = literal
        self.wild = wild


# Where a scope path ends: it covers every leaf at or below. One shared, never-changed node,
# so "is anything covered here" is a cheap identity test on the current nodes.
_EVERYTHING = _Node({}, ())
_UNKNOWN = object()  # no answer remembered yet (None is an answer: every leaf allowed)


def _build(suffixes: _Suffixes, memo: dict[_Suffixes, _Node]) -> _Node:
    """The node matching what remains of these scope paths, shared by all equal remainders."""
    if () in suffixes:
        return _EVERYTHING  # a scope ending here already covers whatever the longer ones add
    # Sharing is what keeps "=a,b,c/=d,e,f/" from multiplying into one node per combination.
    node = memo.get(suffixes)
    if node is not None:
        return node
    by_key: dict[str, set[tuple[Segment, ...]]] = {}
    by_filters: dict[frozenset[Filter], set[tuple[Segment, ...]]] = {}
    for head, *rest in suffixes:
        if isinstance(head, Name):
            by_key.setdefault(head.key, set()).add(tuple(rest))
        elif isinstance(head, Keys):
            for key in head.keys:
                by_key.setdefault(key, set()).add(tuple(rest))
        else:
            by_filters.setdefault(frozenset(head.filters), set()).add(tuple(rest))
    literal = {key: _build(frozenset(rests), memo) for key, rests in by_key.items()}
    wild = tuple((filters, _build(frozenset(rests), memo)) for filters, rests in by_filters.items())
    node = _Node(literal, wild)
    memo[suffixes] = node
    return node


def _advance(
    nodes: Iterable[_Node], key: str | None, admit: Callable[[frozenset[Filter]], bool]
) -> list[_Node]:
    """Nodes reached by one more key: its literal child and every admitted wild branch."""
    reached: list[_Node] = []
    for node in nodes:
        child = node.literal.get(key) if key is not None else None
        if child is not None and child not in reached:
            reached.append(child)
        for filters, child in node.wild:
            if child not in reached and admit(filters):
                reached.append(child)
    return reached


def _admits(attrs: Attrs | None, prefix: tuple[str, ...], filters: frozenset[Filter]) -> bool:
    return not filters or (attrs is not None and filters_match(filters, attrs, prefix))


def segment_filters(segment: Segment) -> tuple[Filter, ...]:
    return getattr(segment, "filters", ())


def _unfiltered(filters: frozenset[Filter]) -> bool:
    return not filters


def _covers(
    nodes: list[_Node], segments: tuple[Segment, ...], memo: dict[tuple[frozenset[_Node], int], bool]
) -> bool:
    """Whether nodes together cover every leaf the pattern segments could ever name."""
    if _EVERYTHING in nodes:
        return True
    if not segments or not nodes:
        return False
    seen = (frozenset(nodes), len(segments))
    done = memo.get(seen)
    if done is not None:
        return done
    head, rest = segments[0], segments[1:]
    if isinstance(head, Name | Keys):
        keys = (head.key,) if isinstance(head, Name) else head.keys
        # filtered branches might not admit these keys, so only literal and plain all; count
        answer = all(_covers(_advance(nodes, key, _unfiltered), rest, memo) for key in keys)
    else:
        # all;/one; may reach any key: only branches admitting everything theirs admits count
        answer = _covers(_advance(nodes, None, frozenset(head.filters).issuperset), rest, memo)
    memo[seen] = answer
    return answer


class Grants(Protocol):
    """What a caller's grants answer: a GrantSet, or one narrowed to bounds (Narrowed)."""

    def allows(self, leaf: tuple[str, ...], access: str, attrs: Attrs | None = None) -> bool:
        """Whether leaf may be accessed with this access word."""
        ...

    def first_uncovered(
        self, leaves: Iterable[tuple[str, ...]], access: str, attrs: Attrs | None = None
    ) -> tuple[str, ...] | None:
        """The first leaf not allowed for access, or None when all are."""
        ...

    def covers_scope(self, other: Scope) -> bool:
        """Whether every leaf other could cover is allowed for each of its words (never wrongly True)."""
        ...

    def within(self, leaf: tuple[str, ...], access: str) -> bool:
        """Whether leaf lies inside the bounds these grants never pass, whatever their scopes."""
        ...


class GrantSet:
    """The scopes of one client, compiled for fast "is this leaf covered" questions."""

    __slots__ = ("_batches", "_decisions", "_roots", "_scopes")

    _MAX_DECISIONS = 1024
    _MAX_BATCH = 64  # leaves of a list whose answer is remembered whole

    def __init__(self, scopes: tuple[Scope, ...], roots: dict[str, _Node]) -> None:
        self._scopes = scopes
        self._roots = roots
        # Without filters an answer depends only on (leaf, access), and the set never changes,
        # so answers can be remembered; with filters they depend on live attributes.
        filtered = any(segment_filters(s) for scope in scopes for s in scope.path.segments)
        self._decisions: dict[tuple[tuple[str, ...], Access], bool] | None = None if filtered else {}
        # and so are first_uncovered's answers for a whole list of leaves (a matrix's)
        self._batches: dict[tuple[tuple[tuple[str, ...], ...], Access], tuple[str, ...] | None] = {}

    @classmethod
    def compile(cls, scopes: Iterable[Scope | str]) -> GrantSet:
        """Compile scopes (parsed, or texts to parse) once; the result never changes."""
        unique = tuple(
            dict.fromkeys(parse_scope(scope) if isinstance(scope, str) else scope for scope in scopes)
        )
        memo: dict[_Suffixes, _Node] = {}
        roots = {
            word: _build(frozenset(s.path.segments for s in unique if word in s.access), memo)
            for word in Access
        }
        return cls(unique, roots)

    def _root(self, access: Access) -> _Node:
        try:
            return self._roots[access]
        except KeyError:
            raise ValueError(f"unknown access word {access!r}") from None

    def allows(self, leaf: tuple[str, ...], access: Access, attrs: Attrs | None = None) -> bool:
        """Whether some scope granting access matches leaf's leading keys."""
        decisions = self._decisions
        if decisions is None:
            return self._match(leaf, access, attrs)
        answer = decisions.get((leaf, access))
        if answer is None:
            answer = self._match(leaf, access, None)
            if len(decisions) >= self._MAX_DECISIONS:
                decisions.clear()
            decisions[(leaf, access)] = answer
        return answer

    def _match(self, leaf: tuple[str, ...], access: Access, attrs: Attrs | None) -> bool:
        nodes = [self._root(access)]
        for depth, key in enumerate(leaf):
            if _EVERYTHING in nodes:
                return True
            nodes = _advance(nodes, key, functools.partial(_admits, attrs, leaf[: depth + 1]))
            if not nodes:
                return False
        return _EVERYTHING in nodes

    def first_uncovered(
        self, leaves: Iterable[tuple[str, ...]], access: Access, attrs: Attrs | None = None
    ) -> tuple[str, ...] | None:
        """The first leaf not allowed for access, or None when all are."""
        leaves = tuple(leaves)
        if self._decisions is None or len(leaves) > self._MAX_BATCH:
            return self._first_uncovered(leaves, access, attrs)
        batches = self._batches
        answer = batches.get((leaves, access), _UNKNOWN)
        if answer is _UNKNOWN:
            answer = self._first_uncovered(leaves, access, None)
            if len(batches) >= self._MAX_DECISIONS:
                batches.clear()
            batches[(leaves, access)] = answer
        return answer  # type: ignore[return-value]

    def _first_uncovered(
        self, leaves: Iterable[tuple[str, ...]], access: Access, attrs: Attrs | None
    ) -> tuple[str, ...] | None:
        decisions = self._decisions
        for leaf in leaves:
            # allows(), with its remembered answers looked up here: a matrix asks for many leaves
            answer = None if decisions is None else decisions.get((leaf, access))
            if answer is None:
                answer = self.allows(leaf, access, attrs)
            if not answer:
                return leaf
        return None

    def covers_scope(self, other: Scope) -> bool:
        """Whether every leaf other could cover is covered here for each of its words.

        Conservative: filters we cannot compare make the answer False, never wrongly True.
        """
        return all(_covers([self._root(word)], other.path.segments, {}) for word in other.access)

    def within(self, leaf: tuple[str, ...], access: str) -> bool:
        """A grant set has no bounds of its own: what its scopes allow is all there is."""
        return True

    @property
    def scopes_text(self) -> tuple[str, ...]:
        """The source scope texts, sorted, for display."""
        return tuple(sorted(scope.text for scope in self._scopes))

    def __len__(self) -> int:
        return len(self._scopes)

    def __iter__(self) -> Iterator[Scope]:
        return iter(self._scopes)

    def __repr__(self) -> str:
        return f"<GrantSet of {len(self._scopes)} scopes>"


class Narrowed:
    """Grants cut down to bounds: a leaf is allowed only when both allow it (a session's outlets).

    The bounds are themselves grants, so the cut is expressed in scopes, not in tree positions.
    """

    __slots__ = ("_bounds", "_grants")

    def __init__(self, grants: Grants, bounds: Grants) -> None:
        self._grants = grants
        self._bounds = bounds

    def allows(self, leaf: tuple[str, ...], access: str, attrs: Attrs | None = None) -> bool:
        return self._bounds.allows(leaf, access, attrs) and self._grants.allows(leaf, access, attrs)

    def first_uncovered(
        self, leaves: Iterable[tuple[str, ...]], access: str, attrs: Attrs | None = None
    ) -> tuple[str, ...] | None:
        for leaf in leaves:
            if not self.allows(leaf, access, attrs):
                return leaf
        return None

    def covers_scope(self, other: Scope) -> bool:
        # whatever lies inside both sets lies inside their intersection
        return self._bounds.covers_scope(other) and self._grants.covers_scope(other)

    def within(self, leaf: tuple[str, ...], access: str) -> bool:
        return self._bounds.allows(leaf, access) and self._grants.within(leaf, access)
