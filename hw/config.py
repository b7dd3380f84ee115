"""The [hardware] table: strict validation into typed settings."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .drivers.numato import NUMATO_MODELS
from .errors import HardwareConfigError
from .meters import AdcMeter

DRIVERS = ("sim", "numato")
SIM_MAX_RELAYS = 64
ADC_CHANNELS = range(10)  # single-digit channel numbers, as 'adc read N' takes them
_REQUIRED: Any = object()
_KINDS = {str: "a string", int: "an integer", float: "a number", list: "an array"}


@dataclass(frozen=True)
class BoardConfig:
    """One [[hardware.boards]] entry, validated."""

    name: str
    driver: str = "sim"
    url: str = ""
    relays: int = 8
    timeout: float = 2.0
    retries: int = 2
    baudrate: int = 19200
    meters: tuple[AdcMeter, ...] = ()


@dataclass(frozen=True)
class HardwareConfig:
    """The whole [hardware] table, validated."""

    poll_interval: float = 1.0
    boards: tuple[BoardConfig, ...] = field(default_factory=lambda: (BoardConfig("board0"),))


class _Table:
    """Takes typed keys out of one TOML table; every error names the table and the key."""

    def __init__(self, table: object, path: str, board: str | None = None) -> None:
        self.path = path
        self.board = board
        if not isinstance(table, Mapping):
            raise HardwareConfigError(f"{path}: must be a table, got {table!r}", board)
        self._left = dict(table)

    def error(self, key: str, problem: str) -> HardwareConfigError:
        return HardwareConfigError(f"{self.path}.{key}: {problem}", self.board)

    def take(self, key: str, kind: type, default: Any = _REQUIRED) -> Any:
        if key not in self._left:
            if default is _REQUIRED:
                raise self.error(key, "is required")
            return default
        value = self._left.pop(key)
        # TOML writes 2 for 2.0; bool is an int subclass but never a valid count.
        if kind is float and type(value) is int:
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise self.error(key, f"must be {_KINDS[kind]}, got {value!r}")
        return value

    def finish(self, context: str = "") -> None:
        """Refuse whatever keys were not taken."""
        if self._left:
            raise self.error(sorted(self._left)[0], f"unknown key{context}")


def parse_config(table: Mapping[str, Any] | None) -> HardwareConfig:
    """Validate the parsed [hardware] table; None or {} means one simulated 8-relay board."""
    hardware = _Table(table or {}, "hardware")
    poll_interval = hardware.take("poll_interval", float, 1.0)
    if poll_interval <= 0:
        raise hardware.error("poll_interval", f"must be positive, got {poll_interval}")
    entries = hardware.take("boards", list, None)
    hardware.finish()
    if entries is None:
        return HardwareConfig(poll_interval)
    if not entries:
        raise hardware.error("boards", "must list at least one board")
    boards: list[BoardConfig] = []
    for index, entry in enumerate(entries):
        board = _parse_board(entry, index)
        for earlier in boards:
            if earlier.name == board.name:
                message = f'hardware.boards[{index}].name: "{board.name}" is already used'
                raise HardwareConfigError(message, board.name)
        boards.append(board)
    return HardwareConfig(poll_interval, tuple(boards))


def _parse_board(entry: object, index: int) -> BoardConfig:
    table = _Table(entry, f"hardware.boards[{index}]")
    name = table.take("name", str, f"board{index}")
    if not name.strip():
        raise table.error("name", "must not be empty")
    table.board = name
    driver = table.take("driver", str, "sim")
    if driver not in DRIVERS:
        raise table.error("driver", f'"{driver}" is not one of {", ".join(DRIVERS)}')
    relays = table.take("relays", int, 8)
    if driver == "sim":
        if not 1 <= relays <= SIM_MAX_RELAYS:
            raise table.error("relays", f"must be 1 to {SIM_MAX_RELAYS}, got {relays}")
        table.finish(' for driver "sim"')
        return BoardConfig(name, driver, relays=relays)
    if relays not in NUMATO_MODELS:
        sizes = ", ".join(map(str, NUMATO_MODELS))
        raise table.error("relays", f"Numato modules have {sizes} relays, not {relays}")
    url = table.take("url", str)
    timeout = table.take("timeout", float, 2.0)
    retries = table.take("retries", int, 2)
    baudrate = table.take("baudrate", int, 19200)
    meters = table.take("meters", list, [])
    if not url:
        raise table.error("url", "must not be empty")
    if timeout <= 0:
        raise table.error("timeout", f"must be positive, got {timeout}")
    if not 0 <= retries <= 10:
        raise table.error("retries", f"must be 0 to 10, got {retries}")
    if baudrate <= 0:
        raise table.error("baudrate", f"must be positive, got {baudrate}")
    table.finish(' for driver "numato"')
    adc: list[AdcMeter] = []
    for i, entry in enumerate(meters):
        meter = _parse_meter(entry, f"{table.path}.meters[{i}]", name)
        if any(earlier.id == meter.id for earlier in adc):
            message = f'{table.path}.meters[{i}].id: "{meter.id}" is already used'
            raise HardwareConfigError(message, name)
        adc.append(meter)
    return BoardConfig(name, driver, url, relays, timeout, retries, baudrate, tuple(adc))


def _parse_meter(entry: object, path: str, board: str) -> AdcMeter:
    table = _Table(entry, path, board)
    meter_id = table.take("id", str)
    channel = table.take("channel", int)
    scale = table.take("scale", float, 1.0)
    offset = table.take("offset", float, 0.0)
    unit = table.take("unit", str, "")
    quantity = table.take("quantity", str, "")
    bus = table.take("bus", int, None)
    name = table.take("name", str, meter_id)
    table.finish(" for a meter")
    if not meter_id:
        raise table.error("id", "must not be empty")
    if channel not in ADC_CHANNELS:
        raise table.error("channel", f"must be 0 to {ADC_CHANNELS[-1]}, got {channel}")
    if bus is not None and bus < 0:
        raise table.error("bus", f"must not be negative, got {bus}")
    return AdcMeter(meter_id, channel, scale, offset, unit, quantity, bus, name)
