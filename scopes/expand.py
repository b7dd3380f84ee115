"""Resolve a parsed request path against a resource tree into concrete targets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .errors import AmbiguousPath, NoSuchPath
from .path import All, Keys, Name, One, Path, Segment, filters_match, format_keys, quote_key


class TreeView(Protocol):
    """What expand needs to know about the resource tree."""

    def children(self, prefix: tuple[str, ...]) -> Sequence[str] | None:
        """Ordered child keys of the node at prefix, None for a leaf; KeyError if absent."""
        ...

    def attr(self, prefix: tuple[str, ...], name: str) -> object:
        """Value of field `name` of the node at prefix; KeyError if absent."""
        ...


def expand(path: Path, tree: TreeView) -> list[tuple[str, ...]]:
    """Concrete targets named by path, item-major: each child's targets before the next's."""
    targets: list[tuple[str, ...]] = [()]
    for segment in path.segments:
        targets = [(*prefix, key) for prefix in targets for key in _select(segment, prefix, tree, path)]
    return targets


def _select(segment: Segment, prefix: tuple[str, ...], tree: TreeView, path: Path) -> list[str]:
    def fail(cls: type[NoSuchPath | AmbiguousPath], message: str):
        return cls(message, path.text, segment.column, prefix)

    try:
        children = tree.children(prefix)
    except KeyError:
        # the tree changed under us since the parent was listed
        raise fail(NoSuchPath, f"no {format_keys(prefix)}") from None
    if children is None:
        raise fail(NoSuchPath, f"{format_keys(prefix)} is a value, not a collection")
    match segment:
        case Name(key=key):
            if key not in children:
                raise fail(NoSuchPath, f'no "{quote_key(key)}" under {format_keys(prefix)}')
            return [key]
        case Keys(keys=keys):
            wanted = list(dict.fromkeys(keys))
        case All(filters=filters) | One(filters=filters):
            found = [key for key in children if filters_match(filters, tree.attr, (*prefix, key))]
            if isinstance(segment, All):
                return found
            if len(found) == 1:
                return found
            if not found:
                raise fail(NoSuchPath, f"nothing under {format_keys(prefix)} matches {segment}")
            raise fail(AmbiguousPath, f"{len(found)} children of {format_keys(prefix)} match {segment}")
    present = set(children)
    for key in wanted:
        if key not in present:
            raise fail(NoSuchPath, f'no "{quote_key(key)}" under {format_keys(prefix)}')
    return wanted
