"""The simulated board (`driver = "sim"`): instant, in process, with meters that follow the load."""

import dataclasses
import random
import time
from collections.abc import Callable, Sequence

from ..board import Board
from ..config import BoardConfig
from ..errors import BoardUnavailable
from ..meters import MeterReading
from ..registry import Driver, relay_range

VOLTS = 120.0
IDLE_AMPS = 0.05
AMPS_PER_OUTLET = 0.8
AMBIENT_KELVIN = 300.0
KELVIN_PER_OUTLET = 0.5
MAX_RELAYS = 64


class SimBoard(Board):
    """A relay board simulated in process; it fails only while fault is set."""

    url = "sim://"
    timeout = 2.0

    def __init__(
        self,
        name: str = "board0",
        relay_count: int = 8,
        bus: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
    ) -> None:
        self.name = name
        self.relay_count = relay_count
        self.bus = bus
        self.fault: str | None = None  # when set, every call raises BoardUnavailable(fault)
        self._relays = [False] * relay_count
        self._is_open = False
        self._clock = clock
        self._random = random.Random(seed)
        self._joules = 0.0
        self._since = clock()

    @property
    def relays(self) -> list[bool]:
        """The simulated relays, as a copy."""
        return list(self._relays)

    def open(self, deadline: float) -> None:
        self._check(opening=True)
        self._is_open = True

    def close(self) -> None:
        self._is_open = False

    def read_states(self, deadline: float) -> list[bool]:
        self._check()
        return list(self._relays)

    def write_states(self, states: Sequence[bool], deadline: float) -> None:
        self._check()
        self._integrate()
        self._relays = [bool(on) for on in states]

    def set_relay(self, index: int, on: bool, deadline: float) -> None:
        self._check()
        self._integrate()
        self._relays[index] = on

    def idle_meters(self) -> dict[str, MeterReading]:
        bus = self.bus
        return {
            f"bus.{bus}.voltage": MeterReading(f"Bus {bus} voltage", None, "V", bus, "voltage"),
            f"bus.{bus}.current": MeterReading(f"Bus {bus} current", None, "A", bus, "current"),
            f"bus.{bus}.power": MeterReading(f"Bus {bus} power", None, "W", bus, "power"),
            f"bus.{bus}.total_energy": MeterReading(f"Bus {bus} total energy", None, "J", bus, "energy"),
            f"temperature.{bus}": MeterReading(f"Temperature {bus}", None, "K", None, "temperature"),
        }

    def read_meters(self, deadline: float) -> dict[str, MeterReading]:
        self._check()
        self._integrate()
        on = sum(self._relays)
        noise = self._random.gauss
        volts = VOLTS + noise(0, 0.4)
        amps = max(0.0, IDLE_AMPS + AMPS_PER_OUTLET * on + noise(0, 0.01))
        kelvin = AMBIENT_KELVIN + KELVIN_PER_OUTLET * on + noise(0, 0.05)
        values = (volts, amps, volts * amps, self._joules, kelvin)
        return {
            meter_id: dataclasses.replace(idle, value=round(value, 3))
            for (meter_id, idle), value in zip(self.idle_meters().items(), values, strict=True)
        }

    def _integrate(self) -> None:
        """Add the energy drawn since the last change; the load is constant in between."""
        now = self._clock()
        watts = VOLTS * (IDLE_AMPS + AMPS_PER_OUTLET * sum(self._relays))
        self._joules += watts * (now - self._since)
        self._since = now

    def _check(self, opening: bool = False) -> None:
        if self.fault is not None:
            raise BoardUnavailable(self.fault, self.name, self.url)
        if not (self._is_open or opening):
            raise BoardUnavailable("port is closed", self.name, self.url)


def build(config: BoardConfig, ordinal: int) -> SimBoard:
    """The k-th sim board of a config is bus k, so meter ids never collide."""
    return SimBoard(config.name, config.relays, bus=ordinal)


DRIVER = Driver(
    summary="a relay board simulated in process, with bus meters",
    build=build,
    relays=relay_range(1, MAX_RELAYS),
)
