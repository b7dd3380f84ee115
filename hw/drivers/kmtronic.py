"""KMTronic USB relay boards (`driver = "kmtronic"`): 1, 2, 4 or 8 relays on an FTDI serial port.

9600 8N1, three-byte frames: `FF nn 01` switches relay nn (1-based) on, `FF nn 00` off, with no
acknowledgement, so every switch is confirmed by a status read. Status: `FF nn 03` answers
`FF nn xx` on 1 and 2 relay boards; `FF 09 00` answers one `00`/`01` byte per relay on 4 and 8
relay boards. The emulator is kmtronic_emulator.py.
"""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ..board import Board
from ..config import BoardConfig
from ..errors import BoardProtocolError
from ..meters import MeterReading
from ..registry import Driver, relay_sizes
from ..settings import Integer, Number, Settings, String, between, not_empty, positive
from .binary import FramedPort, frame_transport

log = logging.getLogger("hw")

SIZES = (1, 2, 4, 8)
START = 0xFF
ON, OFF, STATUS = 0x01, 0x00, 0x03
ALL_STATUS = bytes([START, 0x09, 0x00])  # 4 and 8 relay boards


def switch_frame(relay: int, on: bool) -> bytes:
    """The frame that switches relay (1-based)."""
    return bytes([START, relay, ON if on else OFF])


def parse_state(value: int) -> bool:
    if value not in (0, 1):
        raise ValueError(f"expected 00 or 01, got {value:02x}")
    return value == 1


class KmtronicBoard(Board):
    """A KMTronic USB relay board of 1, 2, 4 or 8 relays."""

    def __init__(self, port: FramedPort, relay_count: int, retries: int = 2) -> None:
        if relay_count not in SIZES:
            raise ValueError(f"KMTronic boards have 1, 2, 4, 8 relays, not {relay_count}")
        self.name = port.name
        self.url = port.url
        self.timeout = port.timeout
        self.relay_count = relay_count
        self.retries = retries
        self._port = port

    def open(self, deadline: float) -> None:
        self._port.open()
        self.read_states(deadline)  # the board has no greeting: a status read proves it answers

    def close(self) -> None:
        self._port.close()

    def read_states(self, deadline: float) -> list[bool]:
        # A status read is idempotent: a garbled answer is asked again, within the same deadline.
        for attempt in range(1, self.retries + 2):
            try:
                return self._read_once(deadline)
            except ValueError as exc:
                failure = exc
                log.debug('board "%s": status read attempt %d: %s', self.name, attempt, exc)
                if time.monotonic() >= deadline:
                    break
        message = f"unexpected status reply after {attempt} attempts: {failure}"
        raise BoardProtocolError(message, self.name, self.url) from failure

    def _read_once(self, deadline: float) -> list[bool]:
        if self.relay_count > 2:
            reply = self._port.exchange(ALL_STATUS, self.relay_count, deadline)
            return [parse_state(value) for value in reply]
        states = []
        for relay in range(1, self.relay_count + 1):
            reply = self._port.exchange(bytes([START, relay, STATUS]), 3, deadline)
            if reply[:2] != bytes([START, relay]):
                raise ValueError(f"expected ff {relay:02x} xx, got {reply.hex(' ')}")
            states.append(parse_state(reply[2]))
        return states

    def write_states(self, states: Sequence[bool], deadline: float) -> None:
        for index, on in enumerate(states):
            self._port.send(switch_frame(index + 1, on), deadline)
        self._confirm(list(states), deadline, "writing every relay")

    def set_relay(self, index: int, on: bool, deadline: float) -> None:
        if not 0 <= index < self.relay_count:
            raise IndexError(f"relay index {index} out of range")
        self._port.send(switch_frame(index + 1, on), deadline)
        # No acknowledgement: read back, and report a board that ignored the command, never resend.
        if self.read_states(deadline)[index] != on:
            message = f"relay {index + 1} did not switch after {switch_frame(index + 1, on).hex(' ')}"
            raise BoardProtocolError(message, self.name, self.url)

    def _confirm(self, wanted: list[bool], deadline: float, what: str) -> None:
        found = self.read_states(deadline)
        if found != wanted:
            differ = ", ".join(str(i + 1) for i, on in enumerate(wanted) if found[i] != on)
            raise BoardProtocolError(f"relays {differ} did not switch after {what}", self.name, self.url)

    def read_meters(self, deadline: float) -> dict[str, MeterReading]:
        return {}

    def idle_meters(self) -> dict[str, MeterReading]:
        return {}


@dataclass(frozen=True)
class KmtronicSettings:
    url: str
    timeout: float = 1.0
    retries: int = 2


class KmtronicSchema(Settings):
    model = KmtronicSettings

    url = String(required=True, validate=not_empty)
    timeout = Number(load_default=1.0, validate=positive)
    retries = Integer(load_default=2, validate=between(0, 10))


def build(config: BoardConfig, ordinal: int) -> KmtronicBoard:
    """A board on config.settings.url; nothing is opened yet."""
    settings: KmtronicSettings = config.settings
    transport = frame_transport(settings.url, settings.timeout)
    return KmtronicBoard(
        FramedPort(transport, config.name, settings.timeout), config.relays, settings.retries
    )


DRIVER = Driver(
    summary="KMTronic USB relay boards, 1, 2, 4 or 8 relays, on any pyserial URL",
    build=build,
    relays=relay_sizes(SIZES, "KMTronic boards"),
    settings=KmtronicSchema(),
    emulator="hw.drivers.kmtronic_emulator:main",
)
