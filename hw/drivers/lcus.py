"""LCUS / CH340 USB relay modules (`driver = "lcus"`): 1, 2, 4 or 8 relays, write-only.

9600 8N1, four-byte frames `A0 ch op sum`: ch is the relay (1-based), op 01 on / 00 off, and
sum = (A0 + ch + op) & FF. Most of these modules answer nothing and have no status query, so
the driver cannot read a relay: it remembers what it last commanded and reports that as the
relay's state (`physical_state` is what it last commanded). The controller writes every
configured state again whenever the port comes back. The emulator is lcus_emulator.py.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from ..board import Board
from ..config import BoardConfig
from ..meters import MeterReading
from ..registry import Driver, relay_sizes
from ..settings import Number, Settings, String, not_empty, positive
from .binary import FramedPort, frame_transport

SIZES = (1, 2, 4, 8)
START = 0xA0


def frame(relay: int, on: bool) -> bytes:
    """The frame that switches relay (1-based)."""
    op = 0x01 if on else 0x00
    return bytes([START, relay, op, (START + relay + op) & 0xFF])


class LcusBoard(Board):
    """An LCUS relay module: what it reports is what the driver last wrote to it."""

    def __init__(self, port: FramedPort, relay_count: int) -> None:
        if relay_count not in SIZES:
            raise ValueError(f"LCUS modules have 1, 2, 4, 8 relays, not {relay_count}")
        self.name = port.name
        self.url = port.url
        self.timeout = port.timeout
        self.relay_count = relay_count
        self._port = port
        # Until the first write the driver knows nothing; the controller writes its targets
        # right after every open, so these are never reported for long.
        self._commanded = [False] * relay_count

    @property
    def commanded(self) -> list[bool]:
        """What the driver last wrote to each relay."""
        return list(self._commanded)

    def open(self, deadline: float) -> None:
        # Nothing to ask the module: an open port is all the proof there is.
        self._port.open()
        self._port.check_alive()
        # The port goes away only with the module's USB power, and it powers up with every relay
        # off: so the controller's rewrite of the targets is reported (and audited) as a change.
        self._commanded = [False] * self.relay_count

    def close(self) -> None:
        self._port.close()

    def read_states(self, deadline: float) -> list[bool]:
        # No status query: check that the port is still there (an unplugged module fails here)
        # and report what was last commanded.
        self._port.check_alive()
        return list(self._commanded)

    def write_states(self, states: Sequence[bool], deadline: float) -> None:
        for index, on in enumerate(states):
            self._write(index, bool(on), deadline)

    def set_relay(self, index: int, on: bool, deadline: float) -> None:
        if not 0 <= index < self.relay_count:
            raise IndexError(f"relay index {index} out of range")
        self._write(index, on, deadline)

    def _write(self, index: int, on: bool, deadline: float) -> None:
        self._port.send(frame(index + 1, on), deadline)
        # Only after the write returned: a failed write leaves the old value, and the
        # controller's next round writes the target again (the frame is idempotent).
        self._commanded[index] = on

    def read_meters(self, deadline: float) -> dict[str, MeterReading]:
        return {}

    def idle_meters(self) -> dict[str, MeterReading]:
        return {}


@dataclass(frozen=True)
class LcusSettings:
    url: str
    timeout: float = 1.0


class LcusSchema(Settings):
    model = LcusSettings

    url = String(required=True, validate=not_empty)
    timeout = Number(load_default=1.0, validate=positive)


def build(config: BoardConfig, ordinal: int) -> LcusBoard:
    """A module on config.settings.url; nothing is opened yet."""
    settings: LcusSettings = config.settings
    transport = frame_transport(settings.url, settings.timeout)
    return LcusBoard(FramedPort(transport, config.name, settings.timeout), config.relays)


DRIVER = Driver(
    summary="LCUS / CH340 USB relay modules, 1, 2, 4 or 8 relays, write-only, on any pyserial URL",
    build=build,
    relays=relay_sizes(SIZES, "LCUS modules"),
    settings=LcusSchema(),
    emulator="hw.drivers.lcus_emulator:main",
)
