"""The settings page's scope checker: parse as the API does, and warn of names nothing has.

A scope may name what does not exist yet (a client or user added later), so a missing name is
a warning, never a refusal: `/relay/outlets/=9,x/state/` on an 8-outlet board parses and is
stored, but it will never cover anything there.
"""

from __future__ import annotations

import scopes
from powerctl.auth import Principal
from powerctl.restapi.tree import Tree
from powerctl.restapi.view import CallerView

SAMPLES = 16  # members of a collection followed below an all;/one; segment
SHOWN = 8  # existing keys named in a warning


def check(text: str, tree: Tree, principal: Principal) -> dict:
    """`{"scope", "ok"}` plus `message` and `column` when it does not parse, else `warnings`."""
    try:
        scope = scopes.parse_scope(text)
    except scopes.ScopeError as err:
        return {"scope": text, "ok": False, "message": err.message, "column": err.column}
    return {"scope": text, "ok": True, "warnings": missing(scope.path, CallerView(tree, principal))}


def missing(path: scopes.Path, view: CallerView) -> list[str]:
    """A line for each name or listed key of `path` that no node at its place has."""
    warnings: list[str] = []
    # (keys from the root, the place as the scope writes it: "all;" stands for its members)
    reached: list[tuple[tuple[str, ...], str]] = [((), "/")]
    for segment in path.segments:
        step: list[tuple[tuple[str, ...], str]] = []
        for prefix, where in reached:
            children = view.children(prefix)
            if children is None:
                _add(warnings, f"{where} is a value: nothing lies below it")
                continue
            present = list(children)
            if isinstance(segment, scopes.Name | scopes.Keys):
                wanted = [segment.key] if isinstance(segment, scopes.Name) else list(segment.keys)
                # `in` asks the listing itself: it also knows names reached only by name (history/)
                absent = [key for key in wanted if key not in children]
                if absent:
                    _add(warnings, _no(absent, where, present))
                step += [
                    ((*prefix, key), f"{where}{scopes.format_keys([key])[1:]}")
                    for key in wanted
                    if key in children
                ]
            else:
                # members of one collection share a shape: the first few stand for all of them
                step += [((*prefix, key), f"{where}{segment}/") for key in present[:SAMPLES]]
        reached = list(dict.fromkeys(step))[:SAMPLES]
        if not reached:
            break
    return warnings


def _no(absent: list[str], where: str, present: list[str]) -> str:
    names = ", ".join(f'"{key}"' for key in absent)
    if not present:
        return f"no {names} under {where}: it is empty now"
    has = ", ".join(present[:SHOWN]) + (", ..." if len(present) > SHOWN else "")
    them = "them" if len(absent) > 1 else "it"
    return f"no {names} under {where} (it has {has}); the scope never covers {them}"


def _add(warnings: list[str], line: str) -> None:
    if line not in warnings:
        warnings.append(line)
