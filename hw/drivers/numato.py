"""Numato Lab USB relay modules: the device layer over NumatoProtocol, one subclass per size."""

import re
from collections.abc import Sequence
from typing import ClassVar

from ..board import Board
from ..errors import BoardProtocolError
from ..meters import AdcMeter, MeterReading
from ..protocol import NumatoProtocol, Protocol
from ..transport import SerialTransport

# Numato names relays with one character: 0-9, then upper-case A-V on 16 and 32 relay modules.
RELAY_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
ADC_MAX = 1023


def relay_digit(index: int) -> str:
    """The character a Numato module uses for relay index (zero-based)."""
    if not 0 <= index < len(RELAY_DIGITS):
        raise IndexError(f"relay index {index} out of range")
    return RELAY_DIGITS[index]


def parse_on_off(reply: str | None) -> bool:
    """The reply to 'relay read N'."""
    if reply not in ("on", "off"):
        raise ValueError(f"expected on or off, got {reply!r}")
    return reply == "on"


def parse_adc(reply: str | None) -> int:
    """The reply to 'adc read N': a 10-bit count."""
    if reply is None or not reply.isdigit() or int(reply) > ADC_MAX:
        raise ValueError(f"expected 0..{ADC_MAX}, got {reply!r}")
    return int(reply)


def parse_text(reply: str | None) -> str:
    """The reply to 'ver' or 'id get'."""
    if not reply:
        raise ValueError("expected a reply line")
    return reply


class NumatoBoard(Board):
    """A Numato Lab USB relay module; use the subclass for its relay count."""

    relay_count: ClassVar[int]
    mask_digits: ClassVar[int] = 2  # hex digits in readall/writeall masks

    def __init__(self, protocol: Protocol, meters: Sequence[AdcMeter] = ()) -> None:
        self.name = protocol.name
        self.url = protocol.url
        self.timeout = protocol.timeout
        self.meters = tuple(meters)
        self._protocol = protocol
        self._mask = re.compile(f"[0-9A-Fa-f]{{{self.mask_digits}}}")

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        name: str,
        timeout: float = 2.0,
        retries: int = 2,
        baudrate: int = 19200,
        meters: Sequence[AdcMeter] = (),
    ) -> "NumatoBoard":
        """A board on a pyserial URL; nothing is opened yet."""
        transport = SerialTransport(url, baudrate=baudrate, write_timeout=timeout)
        protocol = NumatoProtocol(transport, name=name, timeout=timeout, retries=retries)
        return cls(protocol, meters)

    def open(self, deadline: float) -> None:
        self._protocol.open(deadline)

    def close(self) -> None:
        self._protocol.close()

    def read_states(self, deadline: float) -> list[bool]:
        mask = self._protocol.query("relay readall", deadline, self._parse_mask)
        return [bool(mask >> i & 1) for i in range(self.relay_count)]

    def write_states(self, states: Sequence[bool], deadline: float) -> None:
        mask = sum(1 << i for i, on in enumerate(states) if on)
        self._protocol.query(f"relay writeall {mask:0{self.mask_digits}x}", deadline)

    def set_relay(self, index: int, on: bool, deadline: float) -> None:
        digit = relay_digit(index)
        command = f"relay {'on' if on else 'off'} {digit}"
        self._protocol.query(command, deadline)
        # Read back: a module that ignored the command still answers with its prompt.
        if self._protocol.query(f"relay read {digit}", deadline, parse_on_off) != on:
            message = f'relay {digit} did not switch after "{command}"'
            raise BoardProtocolError(message, self.name, self.url)

    def read_meters(self, deadline: float) -> dict[str, MeterReading]:
        return {
            meter.id: meter.reading(self._protocol.query(f"adc read {meter.channel}", deadline, parse_adc))
            for meter in self.meters
        }

    def idle_meters(self) -> dict[str, MeterReading]:
        return {meter.id: meter.reading(None) for meter in self.meters}

    def version(self, deadline: float) -> str:
        """The firmware version, as 'ver' reports it."""
        return self._protocol.query("ver", deadline, parse_text)

    def board_id(self, deadline: float) -> str:
        """The module id, as 'id get' reports it."""
        return self._protocol.query("id get", deadline, parse_text)

    def _parse_mask(self, reply: str | None) -> int:
        if reply is None or not self._mask.fullmatch(reply):
            raise ValueError(f"expected {self.mask_digits} hex digits, got {reply!r}")
        return int(reply, 16)


class NumatoUsbRelay1(NumatoBoard):
    """Numato Lab 1 channel USB relay module."""

    relay_count = 1


class NumatoUsbRelay2(NumatoBoard):
    """Numato Lab 2 channel USB relay module."""

    relay_count = 2


class NumatoUsbRelay4(NumatoBoard):
    """Numato Lab 4 channel USB relay module."""

    relay_count = 4


class NumatoUsbRelay8(NumatoBoard):
    """Numato Lab 8 channel USB relay module."""

    relay_count = 8


class NumatoUsbRelay16(NumatoBoard):
    """Numato Lab 16 channel USB relay module."""

    relay_count = 16
    mask_digits = 4


class NumatoUsbRelay32(NumatoBoard):
    """Numato Lab 32 channel USB relay module."""

    relay_count = 32
    mask_digits = 8


NUMATO_MODELS: dict[int, type[NumatoBoard]] = {
    model.relay_count: model
    for model in (
        NumatoUsbRelay1,
        NumatoUsbRelay2,
        NumatoUsbRelay4,
        NumatoUsbRelay8,
        NumatoUsbRelay16,
        NumatoUsbRelay32,
    )
}
