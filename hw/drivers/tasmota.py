"""Tasmota plugs and relays (`driver = "tasmota"`): `GET /cm?cmnd=Power<N> On|Off` over HTTP.

States are read with `State` (POWER1..N, or POWER on a one-relay device) and energy with
`Status 8`, whose ENERGY block becomes meters (power W, voltage V, current A, total energy J,
as DLI counts it). The emulator is tasmota_emulator.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from marshmallow import ValidationError, validates_schema

from ..board import Board
from ..config import BoardConfig
from ..errors import BoardProtocolError, BoardUnavailable
from ..meters import MeterReading, ReportedMeter
from ..registry import Driver, relay_range
from ..settings import Boolean, Hidden, Number, Secret, Settings, String, positive
from .http_transport import EXTRA, HttpTransport

# ENERGY key -> the meter it is (DLI counts energy in joules)
ENERGY = {
    "Power": ReportedMeter("power", "W", "power"),
    "Voltage": ReportedMeter("voltage", "V", "voltage"),
    "Current": ReportedMeter("current", "A", "current"),
    "Total": ReportedMeter("total_energy", "J", "total_energy", 3_600_000.0),  # kWh -> J
}


def _http_url(value: str) -> None:
    if not value.startswith(("http://", "https://")) or "@" in value or "?" in value:
        raise ValidationError("must be http://HOST[:PORT] (credentials go in user and password)")


@dataclass(frozen=True)
class TasmotaSettings:
    url: str
    user: str | None = None
    password: Hidden | None = None
    timeout: float = 3.0
    meters: bool = False


class TasmotaSchema(Settings):
    model = TasmotaSettings

    url = String(required=True, validate=_http_url)
    user = String(load_default=None)
    password = Secret(load_default=None)
    timeout = Number(load_default=3.0, validate=positive)
    meters = Boolean(load_default=False)

    @validates_schema
    def _pair(self, data: dict, **_kwargs) -> None:
        if (data.get("user") is None) != (data.get("password") is None):
            raise ValidationError("user and password go together", "password")


class TasmotaBoard(Board):
    def __init__(self, name: str, relays: int, settings: TasmotaSettings, transport: HttpTransport) -> None:
        self.name = name
        self.url = settings.url
        self.relay_count = relays
        self.timeout = settings.timeout
        self._meters = settings.meters
        self._credentials = ""
        if settings.user is not None:
            self._credentials = f"&user={quote(settings.user)}&password={quote(str(settings.password))}"
        self._http = transport

    def _command(self, command: str, deadline: float) -> dict:
        path = f"/cm?cmnd={quote(command)}"
        reply = self._http.json("GET", path + self._credentials, deadline, shown=path)
        if not isinstance(reply, dict):
            raise BoardProtocolError(f"{command}: the answer is not an object", self.name, self.url)
        if "WARNING" in reply:  # Tasmota's answer to missing or wrong credentials
            raise BoardUnavailable(f"{command}: refused (check user and password)", self.name, self.url)
        return reply

    def _power(self, reply: dict, index: int) -> bool:
        value = reply.get(f"POWER{index + 1}")
        if value is None and self.relay_count == 1:
            value = reply.get("POWER")
        if value not in ("ON", "OFF"):
            raise BoardProtocolError(
                f"no POWER{index + 1} ON or OFF in {str(reply)[:80]}", self.name, self.url
            )
        return value == "ON"

    def open(self, deadline: float) -> None:
        self._http.open()
        self.read_states(deadline)

    def close(self) -> None:
        self._http.close()

    def read_states(self, deadline: float) -> list[bool]:
        reply = self._command("State", deadline)
        return [self._power(reply, i) for i in range(self.relay_count)]

    def write_states(self, states: Sequence[bool], deadline: float) -> None:
        for index, on in enumerate(states):
            self.set_relay(index, on, deadline)

    def set_relay(self, index: int, on: bool, deadline: float) -> None:
        # On and Off are idempotent; the reply states the relay as it is now
        reply = self._command(f"Power{index + 1} {'On' if on else 'Off'}", deadline)
        if self._power(reply, index) is not on:
            raise BoardProtocolError(f"relay {index + 1} did not switch", self.name, self.url)

    def read_meters(self, deadline: float) -> dict[str, MeterReading]:
        if not self._meters:
            return {}
        return self._readings(self._command("Status 8", deadline).get("StatusSNS", {}).get("ENERGY", {}))

    def idle_meters(self) -> dict[str, MeterReading]:
        return self._readings({}) if self._meters else {}

    def _readings(self, energy: dict) -> dict[str, MeterReading]:
        return {
            f"{self.name}.{meter.suffix}": meter.reading(f"{self.name} {meter.quantity}", energy.get(key))
            for key, meter in ENERGY.items()
        }


def build(config: BoardConfig, _ordinal: int) -> TasmotaBoard:
    settings: TasmotaSettings = config.settings
    return TasmotaBoard(config.name, config.relays, settings, HttpTransport(config.name, settings.url))


DRIVER = Driver(
    summary="Tasmota plugs and relay boards over HTTP",
    build=build,
    relays=relay_range(1, 8),
    settings=TasmotaSchema(),
    default_relays=1,
    emulator="hw.drivers.tasmota_emulator:main",
    needs={"requests": EXTRA},
)
