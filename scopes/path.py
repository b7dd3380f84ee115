"""Immutable parts of a parsed path or scope: filters, segments, Path and Scope."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import quote


class Access(enum.StrEnum):
    """An access word: what a request does to the leaves it touches; its value is the wire text."""

    GET = "get"
    MODIFY = "modify"
    INVOKE = "invoke"


# JSON number syntax, so "1_000", " 1" or "nan" (all accepted by float()) never match a number.
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?P<fraction>(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)")


def quote_key(key: str) -> str:
    """Render one concrete key as a path segment that parses back to that key."""
    if key in (".", ".."):
        return "!" + key
    if key == "all":
        return "%61ll"  # a bare "all" segment means every child
    return quote(key, safe="")


def format_keys(keys: Iterable[str]) -> str:
    """Render concrete keys as path text, such as "/relay/outlets/3/state/"."""
    return "/" + "".join(quote_key(key) + "/" for key in keys)


def _as_number(text: str) -> int | float | None:
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    # ints stay ints so large ids compare exactly instead of through a rounded float
    return float(text) if match["fraction"] else int(text)


@dataclass(frozen=True, slots=True)
class Filter:
    """An attr=value test on a child's field, compared through its JSON text."""

    attr: str
    value: str
    _number: int | float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_number", _as_number(self.value))

    def matches(self, actual: object) -> bool:
        """Whether a field holding `actual` satisfies this filter."""
        if isinstance(actual, bool):
            return self.value == ("true" if actual else "false")
        if actual is None:
            return self.value == "null"
        if isinstance(actual, str):
            return self.value == actual
        if isinstance(actual, int | float):
            return self.value == str(actual) or (self._number is not None and self._number == actual)
        return False

    def __str__(self) -> str:
        return f"{self.attr}={quote(self.value, safe='')}"


Attrs = Callable[[tuple[str, ...], str], object]


def filters_match(filters: Iterable[Filter], attrs: Attrs, prefix: tuple[str, ...]) -> bool:
    """Whether the node at prefix passes every filter; a missing field fails its filter."""
    for one in filters:
        try:
            actual = attrs(prefix, one.attr)
        except KeyError:
            return False
        if not one.matches(actual):
            return False
    return True


@dataclass(frozen=True, slots=True)
class Name:
    """One child by its key: outlets, 3, bus.0.voltage."""

    key: str
    column: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return quote_key(self.key)


@dataclass(frozen=True, slots=True)
class All:
    """Every child whose fields pass all filters ("all;" or the name=value shorthand)."""

    filters: tuple[Filter, ...] = ()
    column: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return "all;" + ";".join(map(str, self.filters))


@dataclass(frozen=True, slots=True)
class One:
    """The single child whose fields pass all filters."""

    filters: tuple[Filter, ...]
    column: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return "one;" + ";".join(map(str, self.filters))


@dataclass(frozen=True, slots=True)
class Keys:
    """The listed children, in the order given: =1,3,5 or =name,state."""

    keys: tuple[str, ...]
    column: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return "=" + ",".join(quote(key, safe="") for key in self.keys)


Segment = Name | All | One | Keys


@dataclass(frozen=True, slots=True)
class Path:
    """A parsed path relative to /restapi; text is exactly what was parsed."""

    segments: tuple[Segment, ...]
    text: str
    # Whether the path may name several targets (One always names exactly one); set once,
    # since dispatch asks on every request.
    is_matrix: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        matrix = any(isinstance(segment, All | Keys) for segment in self.segments)
        object.__setattr__(self, "is_matrix", matrix)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Scope:
    """A path pattern and the access words it grants."""

    path: Path
    access: frozenset[Access]  # every word when the text has no ?access=, later ones too
    text: str

    def __str__(self) -> str:
        return self.text
