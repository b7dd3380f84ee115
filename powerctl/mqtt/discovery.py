"""Home Assistant MQTT discovery: topics and payloads for outlets (switches) and meters (sensors).

Pure functions of the device and its outlets and meters, so what Home Assistant sees is tested
without a broker. Keys follow Home Assistant's MQTT discovery documentation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# meter unit -> (device_class, state_class, unit shown, conversion); DLI reports J and K
_SENSORS = {
    "V": ("voltage", "measurement", "V", lambda v: v),
    "A": ("current", "measurement", "A", lambda v: v),
    "W": ("power", "measurement", "W", lambda v: v),
    "J": ("energy", "total_increasing", "kWh", lambda v: round(v / 3_600_000, 6)),
    "K": ("temperature", "measurement", "°C", lambda v: round(v - 273.15, 2)),
}


@dataclass(frozen=True)
class Device:
    node_id: str
    serial: str
    name: str
    model: str
    sw_version: str
    configuration_url: str | None
    discovery_prefix: str
    base: str  # topic prefix of this node's state and command topics

    @property
    def status_topic(self) -> str:
        return f"{self.base}/status"

    def block(self) -> dict:
        device = {
            "identifiers": [self.serial],
            "name": self.name,
            "manufacturer": "powerctl",
            "model": self.model,
            "sw_version": self.sw_version,
        }
        if self.configuration_url:
            device["configuration_url"] = self.configuration_url
        return device


def slug(text: str) -> str:
    """An id Home Assistant accepts in topics and entity ids: [a-z0-9_]."""
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "x"


def outlet_topics(device: Device, index: int) -> dict[str, str]:
    base = f"{device.base}/outlet/{index}"
    return {"state": f"{base}/state", "command": f"{base}/set", "availability": f"{base}/availability"}


def switch_config(device: Device, index: int, name: str) -> tuple[str, dict]:
    """The retained discovery message of outlet `index` (zero-based, as on /restapi/)."""
    object_id = f"outlet_{index}"
    topics = outlet_topics(device, index)
    payload = {
        "name": name,
        "unique_id": f"{device.node_id}_{object_id}",
        "default_entity_id": f"switch.{device.node_id}_{object_id}",
        "device_class": "outlet",
        "command_topic": topics["command"],
        "state_topic": topics["state"],
        "payload_on": "ON",
        "payload_off": "OFF",
        "state_on": "ON",
        "state_off": "OFF",
        "optimistic": False,
        "retain": False,
        "availability": [
            {"topic": device.status_topic},
            {"topic": topics["availability"]},
        ],
        "availability_mode": "all",
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": device.block(),
    }
    return f"{device.discovery_prefix}/switch/{device.node_id}/{object_id}/config", payload


def meter_state_topic(device: Device, meter_id: str) -> str:
    return f"{device.base}/meter/{slug(meter_id)}/state"


def sensor_config(device: Device, meter_id: str, name: str, unit: str) -> tuple[str, dict]:
    object_id = f"meter_{slug(meter_id)}"
    kind = _SENSORS.get(unit)
    payload: dict = {
        "name": name,
        "unique_id": f"{device.node_id}_{object_id}",
        "default_entity_id": f"sensor.{device.node_id}_{object_id}",
        "state_topic": meter_state_topic(device, meter_id),
        "availability_topic": device.status_topic,
        "payload_available": "online",
        "payload_not_available": "offline",
        "state_class": "measurement",
        "device": device.block(),
    }
    if kind is not None:
        payload.update(device_class=kind[0], state_class=kind[1], unit_of_measurement=kind[2])
    elif unit:
        payload["unit_of_measurement"] = unit
    return f"{device.discovery_prefix}/sensor/{device.node_id}/{object_id}/config", payload


def sensor_value(unit: str, value: float) -> float:
    """A meter's value in the unit its discovery message announces (kWh, degrees Celsius)."""
    kind = _SENSORS.get(unit)
    return kind[3](value) if kind else value
