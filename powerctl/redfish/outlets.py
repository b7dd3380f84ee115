"""RackPDUs/1/Outlets: each outlet as a Redfish `Outlet`, mapped onto its relay/outlets/ leaves.

Outlet ids are 1..N, the front panel's numbering: Outlets/1 is relay/outlets/0/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from powerctl.redfish.service import PDU, SCHEMAS
from powerctl.redfish.wire import collection, odata
from powerctl.relay import Relay

OUTLETS = f"{PDU}/Outlets"
POWER_CONTROL = "Outlet.PowerControl"
POWER_STATES = ("On", "Off", "PowerCycle")


def outlet_path(index: int) -> str:
    return f"{OUTLETS}/{index + 1}"


def leaf(index: int, name: str) -> tuple[str, ...]:
    return ("relay", "outlets", str(index), name)


class PropertyError(ValueError):
    """A PATCH body names a property wrongly; `message_id` is its Base registry message."""

    def __init__(self, message: str, message_id: str):
        super().__init__(message)
        self.message_id = message_id


@dataclass(frozen=True)
class Writable:
    """A property a PATCH may set: the leaf it writes, how its value is checked, how it is set."""

    leaf: Callable[[int], tuple[str, ...]]
    check: Callable[[object], object]
    apply: Callable[[Relay, int, object, str], None]


def _label(value: object) -> object:
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise ValueError("a string of 1 to 64 characters")
    return value


def _flag(value: object) -> object:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _seconds(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
        raise ValueError("a number of seconds from 0 to 3600")
    return float(value)


WRITABLE = {
    "UserLabel": Writable(
        lambda i: leaf(i, "name"), _label, lambda relay, i, v, who: relay.set_field([i], "name", v, who)
    ),
    "PowerControlLocked": Writable(
        lambda i: leaf(i, "locked"), _flag, lambda relay, i, v, who: relay.set_field([i], "locked", v, who)
    ),
    "PowerCycleDelaySeconds": Writable(
        lambda i: leaf(i, "cycle_delay"),
        _seconds,
        lambda relay, i, v, who: relay.set_field([i], "cycle_delay", v, who),
    ),
    # The sequence delay is the relay's, shared by every outlet: setting it here sets it for all.
    "PowerOnDelaySeconds": Writable(
        lambda _i: ("relay", "sequence_delay"),
        _seconds,
        lambda relay, _i, v, who: relay.set_setting("sequence_delay", v, who),
    ),
}

# What a GET reads: each property and the leaf that must be readable for it to be shown.
READABLE = {
    "PowerState": lambda i: leaf(i, "physical_state"),
    "PowerStateInTransition": lambda i: leaf(i, "transient_state"),
    "UserLabel": lambda i: leaf(i, "name"),
    "PowerControlLocked": lambda i: leaf(i, "locked"),
    "PowerCycleDelaySeconds": lambda i: leaf(i, "cycle_delay"),
    "PowerOnDelaySeconds": lambda _i: ("relay", "sequence_delay"),
}
# Reading an outlet at all takes its state.
REQUIRED = "PowerState"


def index_of(relay: Relay, outlet_id: str) -> int | None:
    """The zero-based outlet for a Redfish id, or None when there is no such outlet."""
    if not outlet_id.isdigit() or outlet_id.startswith("0"):
        return None
    index = int(outlet_id) - 1
    return index if index < relay.count else None


def outlets(members: list[int]) -> dict:
    return collection(OUTLETS, "OutletCollection", "Outlets", [outlet_path(i) for i in members])


def outlet(relay: Relay, index: int, shown: set[str]) -> dict:
    """The Outlet resource with the properties in `shown` (those the caller may read)."""
    record = relay.outlet(index)
    physical = relay.physical(index)
    values: dict[str, object] = {}
    if "PowerState" in shown:
        values["PowerState"] = None if physical is None else ("On" if physical else "Off")
    if "PowerStateInTransition" in shown:
        values["PowerStateInTransition"] = physical is not None and relay.transient(index) != physical
    if "UserLabel" in shown:
        values["UserLabel"] = record.name
    if "PowerControlLocked" in shown:
        values["PowerControlLocked"] = record.locked
    if "PowerCycleDelaySeconds" in shown:
        delay = record.cycle_delay
        values["PowerCycleDelaySeconds"] = float(relay.setting("cycle_delay") if delay is None else delay)
    if "PowerOnDelaySeconds" in shown:
        values["PowerOnDelaySeconds"] = float(relay.setting("sequence_delay"))
    online = relay.board_online(index)
    path = outlet_path(index)
    return odata(
        path,
        f"#Outlet.{SCHEMAS['Outlet']}.Outlet",
        Id=str(index + 1),
        Name=f"Outlet {index + 1}",
        Status={
            "State": "Enabled" if online else "UnavailableOffline",
            "Health": "OK" if online else "Critical",
        },
        **values,
        Actions={
            f"#{POWER_CONTROL}": {
                "target": f"{path}/Actions/{POWER_CONTROL}",
                "PowerState@Redfish.AllowableValues": list(POWER_STATES),
            }
        },
    )


def patch_plan(body: object, index: int) -> list[tuple[Writable, object]]:
    """Check a whole PATCH body before anything is written: every property known and valid."""
    if not isinstance(body, dict) or not body:
        raise PropertyError("the body must be a JSON object naming properties to change", "MalformedJSON")
    plan = []
    for name, value in body.items():
        if name.startswith("@"):
            continue  # annotations such as @odata.etag
        writable = WRITABLE.get(name)
        if writable is None:
            if name in READABLE or name in ("Id", "Name", "Status", "Actions"):
                raise PropertyError(f"the property {name} is read-only", "PropertyNotWritable")
            raise PropertyError(f"the property {name} is not a property of an Outlet", "PropertyUnknown")
        try:
            plan.append((writable, writable.check(value)))
        except ValueError as err:
            raise PropertyError(f"the value of {name} must be {err}", "PropertyValueTypeError") from None
    if not plan:
        raise PropertyError("the body changes no property", "NoOperation")
    return plan


def power_control_plan(body: object) -> str:
    if not isinstance(body, dict) or "PowerState" not in body:
        raise PropertyError("PowerControl needs a PowerState parameter", "ActionParameterMissing")
    state = body["PowerState"]
    if state not in POWER_STATES:
        raise PropertyError(
            f"PowerState must be one of {', '.join(POWER_STATES)}", "ActionParameterValueNotInList"
        )
    unknown = sorted(set(body) - {"PowerState"})
    if unknown:
        raise PropertyError(f"PowerControl takes no parameter {unknown[0]}", "ActionParameterUnknown")
    return state
