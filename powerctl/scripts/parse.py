"""Parse the [scripts.functions] table into Functions; errors name the function and step."""

from __future__ import annotations

import re
from collections.abc import Mapping

import scopes
from powerctl.scripts.functions import (
    ACTIONS,
    MAX_SECONDS,
    OUTLET_FIELDS,
    SWITCH,
    Function,
    FunctionError,
    Number,
    Ref,
    Step,
    where,
)

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
INDEX = re.compile(r"0|[1-9][0-9]{0,5}")
KEYS = {**dict.fromkeys(SWITCH, ("outlets",)), "sleep": ("seconds",), "call": ("function", "args")}
MAX_STEPS = 256


def parse_functions(table: object) -> dict[str, Function]:
    """Every function of the table, checked alone and then against each other."""
    if not isinstance(table, Mapping):
        raise FunctionError("must be a table of functions")
    functions = {}
    for name, body in table.items():
        if not NAME.fullmatch(name):
            raise FunctionError(
                f'function name "{name}" must be 1-64 letters, digits or _, not starting with a digit'
            )
        functions[name] = _function(name, body)
    for function in functions.values():
        for number, step in enumerate(function.steps, start=1):
            if step.action != "call":
                continue
            callee = functions.get(step.function)
            if callee is None:
                raise FunctionError(
                    f'{where(function.name, number)}: calls "{step.function}", which is not defined'
                )
            if len(step.args) != len(callee.args):
                raise FunctionError(
                    f'{where(function.name, number)}: "{callee.name}" takes'
                    f" {len(callee.args)} arguments, not {len(step.args)}"
                )
    _refuse_cycles(functions)
    return functions


def _function(name: str, body: object) -> Function:
    if not isinstance(body, Mapping):
        raise FunctionError(f"{where(name)}: must be a table with steps")
    extra = sorted(set(body) - {"args", "steps"})
    if extra:
        raise FunctionError(f'{where(name)}: unknown key "{extra[0]}" (a function has args and steps)')
    args = body.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) and NAME.fullmatch(a) for a in args):
        raise FunctionError(f'{where(name)}: args must be a list of names such as ["outlet", "seconds"]')
    if len(set(args)) != len(args):
        raise FunctionError(f"{where(name)}: args are not unique")
    steps = body.get("steps")
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        raise FunctionError(f"{where(name)}: steps must be a list of 1 to {MAX_STEPS} tables")
    parsed = tuple(_step(name, number, step, args) for number, step in enumerate(steps, start=1))
    return Function(name, tuple(args), parsed)


def _step(name: str, number: int, table: object, args: list[str]) -> Step:
    here = where(name, number)
    if not isinstance(table, Mapping):
        raise FunctionError(f'{here}: must be a table such as {{action = "on", outlets = [0]}}')
    action = table.get("action")
    if action not in ACTIONS:
        shown = "missing" if action is None else f'"{action}" is unknown'
        raise FunctionError(f"{here}: action {shown} (use one of {', '.join(ACTIONS)})")
    extra = sorted(set(table) - {"action", *KEYS[action]})
    if extra:
        raise FunctionError(
            f'{here}: unknown key "{extra[0]}" for action "{action}" (it takes {", ".join(KEYS[action])})'
        )
    required = KEYS[action][0]
    if required not in table:
        raise FunctionError(f'{here}: action "{action}" needs {required}')
    if action == "sleep":
        return Step(action, seconds=_seconds(here, table["seconds"], args))
    if action == "call":
        values = table.get("args", [])
        if not isinstance(table["function"], str) or not isinstance(values, list):
            raise FunctionError(f'{here}: call takes function = "name" and args = [...]')
        return Step(
            action, function=table["function"], args=tuple(_integer(here, value, args) for value in values)
        )
    return Step(action, outlets=_outlets(here, table["outlets"], args))


def _ref(here: str, text: str, args: list[str]) -> Ref:
    if text[1:] not in args:
        raise FunctionError(f'{here}: "{text}" names no argument of this function')
    return Ref(text[1:])


def _integer(here: str, value: object, args: list[str]) -> int | Ref:
    if isinstance(value, str) and value.startswith("$"):
        return _ref(here, value, args)
    if not isinstance(value, int) or isinstance(value, bool):
        raise FunctionError(f'{here}: {value!r} is neither an integer nor an argument ("$name")')
    return value


def _seconds(here: str, value: object, args: list[str]) -> Number:
    if isinstance(value, str) and value.startswith("$"):
        return _ref(here, value, args)
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= MAX_SECONDS:
        raise FunctionError(
            f"{here}: seconds must be a number from 0 to {MAX_SECONDS} or an argument, not {value!r}"
        )
    return value


def _outlets(here: str, value: object, args: list[str]) -> tuple[int | Ref, ...] | scopes.Path:
    if isinstance(value, str) and value.startswith("$"):
        return (_ref(here, value, args),)
    if isinstance(value, list):
        if not value:
            raise FunctionError(f"{here}: outlets must not be empty")
        indexes = tuple(_integer(here, item, args) for item in value)
        if any(isinstance(i, int) and i < 0 for i in indexes):
            raise FunctionError(f"{here}: outlet indexes start at 0")
        return indexes
    if not isinstance(value, str):
        raise FunctionError(
            f'{here}: outlets must be a list of indexes, a selector such as "all;"'
            f" or an argument, not {value!r}"
        )
    try:
        path = scopes.parse_path(f"/{value}/")
    except scopes.ScopeError as err:
        raise FunctionError(f'{here}: outlets "{value}": {err.message} at column {err.column - 1}') from None
    if len(path.segments) != 1:
        raise FunctionError(
            f'{here}: outlets "{value}" must be one selector below /relay/outlets/, such as "all;" or "=1,3"'
        )
    segment = path.segments[0]
    keys = (segment.key,) if isinstance(segment, scopes.Name) else getattr(segment, "keys", ())
    bad = [key for key in keys if not INDEX.fullmatch(key)]
    if bad:
        raise FunctionError(
            f'{here}: outlets "{value}": "{bad[0]}" is not an outlet index (use "all;" for every outlet)'
        )
    for one in getattr(segment, "filters", ()):
        if one.attr not in OUTLET_FIELDS:
            raise FunctionError(
                f'{here}: outlets "{value}": outlets have no field "{one.attr}"'
                f" (filter on {', '.join(OUTLET_FIELDS)})"
            )
    return path


def _refuse_cycles(functions: dict[str, Function]) -> None:
    """A function may not call itself, directly or through others."""
    done: set[str] = set()

    def visit(name: str, chain: list[tuple[str, int]]) -> None:
        names = [caller for caller, _ in chain]
        if name in names:
            loop = " -> ".join([*names[names.index(name) :], name])
            raise FunctionError(f"{where(*chain[-1])}: calls form a loop: {loop}")
        if name in done:
            return
        for number, step in enumerate(functions[name].steps, start=1):
            if step.action == "call":
                visit(step.function, [*chain, (name, number)])
        done.add(name)

    for name in functions:
        visit(name, [])
