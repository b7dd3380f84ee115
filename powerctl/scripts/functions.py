"""User functions as immutable values: named lists of steps with integer arguments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import scopes

SWITCH = ("on", "off", "cycle", "toggle")
ACTIONS = (*SWITCH, "sleep", "call")
OUTLET_FIELDS = ("name", "state", "transient_state", "physical_state", "locked", "critical", "cycle_delay")
MAX_SECONDS = 86_400


class FunctionError(ValueError):
    """A user function is malformed; the message names the function, the step and the problem."""


@dataclass(frozen=True, slots=True)
class Ref:
    """A use of one of the function's integer arguments, written "$name"."""

    name: str

    def __str__(self) -> str:
        return "$" + self.name


Number = int | float | Ref


@dataclass(frozen=True, slots=True)
class Step:
    """One step: switch outlets, sleep, or call another function."""

    action: str
    outlets: tuple[int | Ref, ...] | scopes.Path = ()  # indexes, or a selector below /relay/outlets/
    seconds: Number = 0.0
    function: str = ""
    args: tuple[int | Ref, ...] = ()

    def describe(self, bound: Mapping[str, int] | None = None) -> str:
        """The step for labels and the audit, arguments filled in: `off 0,1`, `sleep 5`."""

        def show(item: Number) -> str:
            return str(bound[item.name]) if isinstance(item, Ref) and bound else str(item)

        if self.action == "sleep":
            return f"sleep {show(self.seconds)}"
        if self.action == "call":
            return f"call {self.function}({','.join(map(show, self.args))})"
        if isinstance(self.outlets, scopes.Path):
            return f"{self.action} {self.outlets.text.strip('/')}"
        return f"{self.action} {','.join(map(show, self.outlets))}"


@dataclass(frozen=True, slots=True)
class Function:
    """A named list of steps with optional integer arguments."""

    name: str
    args: tuple[str, ...]
    steps: tuple[Step, ...]


def where(function: str, step: int | None = None) -> str:
    """How errors name a place: `function "f" step 2` (steps count from 1)."""
    return f'function "{function}"' + ("" if step is None else f" step {step}")
