"""Shelly Gen2+ plugs and relays (`driver = "shelly"`): JSON-RPC `POST /rpc` with Switch.Set and
Switch.GetStatus; digest authentication (SHA-256, user `admin`) when a password is set.

Each switch's `apower`, `voltage`, `current` and `aenergy.total` become meters (W, V, A, J).
The emulator is shelly_emulator.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..board import Board
from ..config import BoardConfig
from ..errors import BoardProtocolError
from ..meters import MeterReading, ReportedMeter
from ..registry import Driver, relay_range
from ..settings import Boolean, Hidden, Number, Secret, Settings, String, positive
from .http_transport import EXTRA, HttpTransport
from .tasmota import _http_url

# Switch.GetStatus key -> the meter it is (aenergy is an object whose `total` counts)
METERS = {
    "apower": ReportedMeter("power", "W", "power"),
    "voltage": ReportedMeter("voltage", "V", "voltage"),
    "current": ReportedMeter("current", "A", "current"),
    "aenergy": ReportedMeter("total_energy", "J", "total_energy", 3600.0),  # Wh -> J
}


@dataclass(frozen=True)
class ShellySettings:
    url: str
    password: Hidden | None = None
    timeout: float = 3.0
    meters: bool = False


class ShellySchema(Settings):
    model = ShellySettings

    url = String(required=True, validate=_http_url)
    password = Secret(load_default=None)
    timeout = Number(load_default=3.0, validate=positive)
    meters = Boolean(load_default=False)


class ShellyBoard(Board):
    def __init__(self, name: str, relays: int, settings: ShellySettings, transport: HttpTransport) -> None:
        self.name = name
        self.url = settings.url
        self.relay_count = relays
        self.timeout = settings.timeout
        self._meters = settings.meters
        self._http = transport
        self._ids = 0

    def _call(self, method: str, params: dict, deadline: float) -> dict:
        self._ids += 1
        reply = self._http.json(
            "POST", "/rpc", deadline, json={"id": self._ids, "method": method, "params": params}
        )
        if not isinstance(reply, dict) or "result" not in reply:
            error = reply.get("error", {}) if isinstance(reply, dict) else {}
            raise BoardProtocolError(
                f"{method}: {error.get('message', 'no result')} (code {error.get('code')})",
                self.name,
                self.url,
            )
        return reply["result"]

    def _status(self, index: int, deadline: float) -> dict:
        status = self._call("Switch.GetStatus", {"id": index}, deadline)
        if not isinstance(status.get("output"), bool):
            raise BoardProtocolError(
                f"switch {index} status has no output: {str(status)[:80]}", self.name, self.url
            )
        return status

    def open(self, deadline: float) -> None:
        self._http.open()
        self.read_states(deadline)

    def close(self) -> None:
        self._http.close()

    def read_states(self, deadline: float) -> list[bool]:
        return [self._status(i, deadline)["output"] for i in range(self.relay_count)]

    def write_states(self, states: Sequence[bool], deadline: float) -> None:
        for index, on in enumerate(states):
            self.set_relay(index, on, deadline)

    def set_relay(self, index: int, on: bool, deadline: float) -> None:
        self._call("Switch.Set", {"id": index, "on": on}, deadline)
        if self._status(index, deadline)["output"] is not on:  # read back: Switch.Set says only was_on
            raise BoardProtocolError(f"switch {index} did not switch", self.name, self.url)

    def read_meters(self, deadline: float) -> dict[str, MeterReading]:
        if not self._meters:
            return {}
        readings = {}
        for index in range(self.relay_count):
            readings.update(self._readings(index, self._status(index, deadline)))
        return readings

    def idle_meters(self) -> dict[str, MeterReading]:
        if not self._meters:
            return {}
        return {
            meter_id: reading
            for index in range(self.relay_count)
            for meter_id, reading in self._readings(index, {}).items()
        }

    def _readings(self, index: int, status: dict) -> dict[str, MeterReading]:
        readings = {}
        for key, meter in METERS.items():
            raw = status.get(key)
            if isinstance(raw, dict):
                raw = raw.get("total")
            readings[self._id(index, meter.suffix)] = meter.reading(self._label(index, meter.quantity), raw)
        return readings

    def _id(self, index: int, suffix: str) -> str:
        return f"{self.name}.{index}.{suffix}" if self.relay_count > 1 else f"{self.name}.{suffix}"

    def _label(self, index: int, quantity: str) -> str:
        return f"{self.name} switch {index} {quantity}" if self.relay_count > 1 else f"{self.name} {quantity}"


def build(config: BoardConfig, _ordinal: int) -> ShellyBoard:
    settings: ShellySettings = config.settings
    auth = None
    if settings.password is not None:
        from requests.auth import HTTPDigestAuth

        auth = HTTPDigestAuth("admin", str(settings.password))  # Shelly's one user; SHA-256
    return ShellyBoard(
        config.name, config.relays, settings, HttpTransport(config.name, settings.url, auth=auth)
    )


DRIVER = Driver(
    summary="Shelly Gen2+ plugs and relays over JSON-RPC",
    build=build,
    relays=relay_range(1, 4),
    settings=ShellySchema(),
    default_relays=1,
    emulator="hw.drivers.shelly_emulator:main",
    needs={"requests": EXTRA},
)
