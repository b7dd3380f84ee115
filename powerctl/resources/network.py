"""network/: the wired and wireless settings the network driver exposes."""

from __future__ import annotations

from marshmallow import fields, validate

from hw.network import Network
from powerctl.resources.values import Flag
from powerctl.restapi.tree import Branch, Value

FIELDS = {
    "wired.protocol": fields.String(validate=validate.OneOf(["dhcp", "static"])),
    "wired.ip_address": fields.String(allow_none=True),
    "wired.netmask": fields.String(allow_none=True),
    "wired.gateway": fields.String(allow_none=True),
    "wired.mac_address": fields.String(allow_none=True),
    "wireless.enabled": Flag(),
    "wireless.ssid": fields.String(allow_none=True),
}


def _setting(driver: Network, setting: str, audit) -> Value:
    write = None
    if driver.writable(setting):

        def write(_keys, value, who) -> None:
            driver.set(setting, value)
            shown = ("true" if value else "false") if isinstance(value, bool) else value
            audit.changed(
                f"Network: {setting.replace('.', ' ').replace('_', ' ')} set to {shown} by {who.actor()}"
            )

    return Value(FIELDS[setting], read=lambda _keys: driver.get(setting), write=write)


def network_node(driver: Network, audit) -> Branch:
    branches: dict[str, dict] = {}
    for setting in FIELDS:
        interface, name = setting.split(".")
        branches.setdefault(interface, {})[name] = _setting(driver, setting, audit)
    return Branch({interface: Branch(children) for interface, children in branches.items()})
