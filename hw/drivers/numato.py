"""Numato Lab USB relay modules (`driver = "numato"`): settings, and the device layer over
NumatoProtocol, one subclass per size. The emulator is numato_emulator.py."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from marshmallow import ValidationError

from ..board import Board
from ..config import BoardConfig
from ..errors import BoardProtocolError
from ..meters import AdcMeter, MeterReading, MeterSchema, meter_list
from ..registry import Driver, relay_sizes
from ..settings import Integer, Number, Settings, String, between, not_empty, positive
from ..transport import SerialTransport
from .numato_protocol import NumatoProtocol, Protocol

# Numato names relays with one character: 0-9, then upper-case A-V on 16 and 32 relay modules.
RELAY_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
ADC_MAX = 1023
ADC_CHANNELS = range(10)  # single-digit channel numbers, as 'adc read N' takes them


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


@dataclass(frozen=True)
class NumatoSettings:
    """A Numato board's own keys, validated."""

    url: str
    timeout: float = 2.0
    retries: int = 2
    baudrate: int = 19200
    meters: tuple[AdcMeter, ...] = ()


class NumatoMeterSchema(MeterSchema):
    model = AdcMeter

    channel = Integer(required=True, validate=between(ADC_CHANNELS[0], ADC_CHANNELS[-1]))


class NumatoSchema(Settings):
    model = NumatoSettings

    url = String(required=True, validate=not_empty)
    timeout = Number(load_default=2.0, validate=positive)
    retries = Integer(load_default=2, validate=between(0, 10))
    baudrate = Integer(load_default=19200, validate=positive)
    meters = meter_list(NumatoMeterSchema)


def build(config: BoardConfig, ordinal: int) -> NumatoBoard:
    """The model for config.relays on config.settings.url; nothing is opened yet."""
    settings: NumatoSettings = config.settings
    try:
        return NUMATO_MODELS[config.relays].from_url(
            settings.url,
            name=config.name,
            timeout=settings.timeout,
            retries=settings.retries,
            baudrate=settings.baudrate,
            meters=settings.meters,
        )
    except ValueError as exc:  # pyserial: unknown URL scheme or unusable port settings
        raise ValidationError({"url": [str(exc)]}) from exc


DRIVER = Driver(
    summary="Numato Lab USB relay modules, 1 to 32 relays, on any pyserial URL",
    build=build,
    relays=relay_sizes(NUMATO_MODELS, "Numato modules"),
    settings=NumatoSchema(),
    emulator="hw.drivers.numato_emulator:main",
)
