"""What a switching step does: find its outlets, then switch them through the Relay."""

from __future__ import annotations

import scopes
from powerctl.relay import Actor, Relay
from powerctl.scripts import binding
from powerctl.scripts.functions import OUTLET_FIELDS, Step


class OutletView:
    """The outlets as scopes.expand sees them, for selectors such as all;locked=false."""

    def __init__(self, relay: Relay):
        self.relay = relay

    def children(self, prefix: tuple[str, ...]) -> list[str] | None:
        return None if prefix else [str(i) for i in range(self.relay.count)]

    def attr(self, prefix: tuple[str, ...], name: str) -> object:
        index = int(prefix[0])
        if name == "transient_state":
            return self.relay.transient(index)
        if name == "physical_state":
            return self.relay.physical(index)
        if name in OUTLET_FIELDS:
            return getattr(self.relay.outlet(index), name)
        raise KeyError(name)


def outlets(relay: Relay, step: Step, bound: binding.Bound) -> list[int]:
    """The outlets a step names now: a selector is matched when the step runs."""
    if isinstance(step.outlets, scopes.Path):
        found = scopes.expand(step.outlets, OutletView(relay))
        return list(dict.fromkeys(int(keys[0]) for keys in found))
    return list(dict.fromkeys(int(binding.value(item, bound)) for item in step.outlets))  # type: ignore[arg-type]


def switch(relay: Relay, step: Step, indexes: list[int], actor: str | Actor) -> None:
    """Switch, cycle or toggle outlets; a locked or offline one refuses before any switches."""
    if not indexes:
        return
    if step.action in ("on", "off"):
        relay.set_state(indexes, step.action == "on", actor)
        return
    # One check for the whole step, held until its last switch: a lock arriving meanwhile waits.
    with relay.checked(indexes):
        if step.action == "cycle":
            for index in indexes:
                relay.cycle(index, actor)
            return
        heading = [relay.transient(index) for index in indexes]
        off = [index for index, on in zip(indexes, heading, strict=True) if on]
        on = [index for index, on in zip(indexes, heading, strict=True) if not on]
        for group, state in ((off, False), (on, True)):
            if group:
                relay.set_state(group, state, actor)
