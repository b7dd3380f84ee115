"""Argument values bound into steps, and the walk that checks them against the outlets."""

from __future__ import annotations

from collections.abc import Mapping

import scopes
from powerctl.scripts.functions import MAX_SECONDS, Function, FunctionError, Number, Ref, where

Bound = Mapping[str, int | None]  # argument values; None while not known (checking the config)


def value(item: Number, bound: Bound) -> int | float | None:
    """A literal as written, or the value bound to the argument it names."""
    return bound[item.name] if isinstance(item, Ref) else item


def _shown(item: Number, number: int | float) -> str:
    return f"{number} ({item})" if isinstance(item, Ref) else str(number)


def literal_indexes(path: scopes.Path) -> list[int]:
    """The outlet indexes a selector names outright (=1,3 or 3), none for all; or one;."""
    segment = path.segments[0]
    keys = (segment.key,) if isinstance(segment, scopes.Name) else getattr(segment, "keys", ())
    return [int(key) for key in keys]


def check(
    functions: Mapping[str, Function], name: str, values: tuple[int | None, ...], outlet_count: int
) -> None:
    """Raise FunctionError for any outlet or sleep that these argument values make impossible.

    With None for every value this checks the literals of a function as written; at start it
    checks the values given, through every call, before anything switches.
    """
    seen: set[tuple[str, tuple[int | None, ...]]] = set()
    last = outlet_count - 1

    def walk(function: Function, values: tuple[int | None, ...], trail: str) -> None:
        if (function.name, values) in seen:
            return
        seen.add((function.name, values))
        bound = dict(zip(function.args, values, strict=True))
        for number, step in enumerate(function.steps, start=1):
            here = where(function.name, number) + trail
            if step.action == "sleep":
                seconds = value(step.seconds, bound)
                if seconds is not None and not 0 <= seconds <= MAX_SECONDS:
                    raise FunctionError(
                        f"{here}: cannot sleep {_shown(step.seconds, seconds)} seconds (0 to {MAX_SECONDS})"
                    )
            elif step.action == "call":
                given = tuple(value(arg, bound) for arg in step.args)
                walk(functions[step.function], given, f" (called from {here})")  # type: ignore[arg-type]
            elif isinstance(step.outlets, scopes.Path):
                for index in literal_indexes(step.outlets):
                    if index > last:
                        raise FunctionError(f"{here}: there is no outlet {index} (outlets are 0-{last})")
            else:
                for item in step.outlets:
                    index = value(item, bound)
                    if index is not None and not 0 <= index <= last:
                        raise FunctionError(
                            f"{here}: there is no outlet {_shown(item, index)} (outlets are 0-{last})"
                        )

    function = functions[name]
    walk(function, values, "")


def reached(
    functions: Mapping[str, Function], name: str, values: tuple[int, ...], outlet_count: int
) -> frozenset[int]:
    """Every outlet a call may switch, through its calls: a selector that is not a list of
    indexes (all;locked=false) is read when the step runs, so it may reach any outlet."""
    every = frozenset(range(outlet_count))
    found: set[int] = set()
    seen: set[tuple[str, tuple[int | None, ...]]] = set()

    def walk(function: Function, values: tuple[int | None, ...]) -> None:
        if (function.name, values) in seen:
            return
        seen.add((function.name, values))
        bound = dict(zip(function.args, values, strict=True))
        for step in function.steps:
            if step.action == "call":
                walk(functions[step.function], tuple(value(arg, bound) for arg in step.args))  # type: ignore[misc]
            elif isinstance(step.outlets, scopes.Path):
                segment = step.outlets.segments[0]
                literal = isinstance(segment, scopes.Name | scopes.Keys)
                found.update(literal_indexes(step.outlets) if literal else every)
            else:
                for item in step.outlets:
                    index = value(item, bound)
                    found.update(every if index is None else {index})  # type: ignore[arg-type]

    function = functions.get(name)
    if function is not None and len(values) == len(function.args):
        walk(function, values)
    return frozenset(found)
