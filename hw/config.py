"""The [hardware] table: the keys every board has here, each driver's own keys by its schema."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from . import registry
from .drivers import DEFAULT
from .errors import HardwareConfigError
from .settings import Array, Integer, Number, String, config_error, load, not_empty, positive


@dataclass(frozen=True)
class BoardConfig:
    """One [[hardware.boards]] entry, validated; settings is what its driver's schema loaded."""

    name: str
    driver: str = DEFAULT
    relays: int = 8
    settings: Any = None


@dataclass(frozen=True)
class HardwareConfig:
    """The whole [hardware] table, validated."""

    poll_interval: float = 1.0
    boards: tuple[BoardConfig, ...] = (BoardConfig("board0"),)


def _at_least_one(boards: list) -> None:
    if not boards:
        raise ValidationError("must list at least one board")


class _HardwareSchema(Schema):
    error_messages: ClassVar[dict[str, str]] = {"unknown": "unknown key"}

    poll_interval = Number(load_default=1.0, validate=positive)
    boards = Array(fields.Raw(), load_default=None, validate=_at_least_one)


class _BoardSchema(Schema):
    """The keys every board has; the others are its driver's."""

    name = String(load_default=None, validate=not_empty)
    driver = String(load_default=DEFAULT)
    relays = Integer(load_default=None)


# Schemas are reusable; making one deep-copies its fields, which costs more than a load.
_HARDWARE = _HardwareSchema()
_BOARD = _BoardSchema()
COMMON_KEYS = frozenset(_BOARD.fields)


def parse_config(table: Mapping[str, Any] | None, drivers: registry.Drivers | None = None) -> HardwareConfig:
    """Validate the parsed [hardware] table; None or {} means one default 8-relay board."""
    drivers = drivers or registry.Drivers()
    hardware = load(_HARDWARE, table or {}, "hardware")
    boards: list[BoardConfig] = []
    for index, entry in enumerate(hardware["boards"] or [{}]):
        board = parse_board(entry, index, drivers)
        if any(earlier.name == board.name for earlier in boards):
            message = f'hardware.boards[{index}].name: "{board.name}" is already used'
            raise HardwareConfigError(message, board.name)
        boards.append(board)
    return HardwareConfig(hardware["poll_interval"], tuple(boards))


def parse_board(entry: object, index: int, drivers: registry.Drivers) -> BoardConfig:
    """One [[hardware.boards]] table: the common keys, then the driver's own by its schema."""
    path = f"hardware.boards[{index}]"
    if not isinstance(entry, Mapping):
        raise HardwareConfigError(f"{path}: must be a table, got {entry!r}")
    try:
        common = _BOARD.load(entry, unknown=EXCLUDE)
    except ValidationError as exc:
        named = None if "name" in exc.messages else entry.get("name", f"board{index}")
        raise config_error(exc, path, named) from None
    name = common["name"] or f"board{index}"
    try:
        driver = drivers.lookup(common["driver"])
        registry.check_needs(common["driver"], driver)
    except registry.RegistryError as exc:
        raise HardwareConfigError(f"{path}.driver: {exc.message}", name) from exc
    relays = common["relays"] if common["relays"] is not None else driver.default_relays
    problem = "is required" if relays is None else driver.relays(relays)
    if problem:
        raise HardwareConfigError(f"{path}.relays: {problem}", name)
    own = {key: value for key, value in entry.items() if key not in COMMON_KEYS}
    settings, known = None, set()
    if driver.settings is not None:
        settings = load(driver.settings, own, path, name, unknown=EXCLUDE)
        known = {field.data_key or key for key, field in driver.settings.load_fields.items()}
    unknown = sorted(own.keys() - known)
    if unknown:
        message = f'{path}.{unknown[0]}: unknown key for driver "{common["driver"]}"'
        raise HardwareConfigError(message, name)
    return BoardConfig(name, common["driver"], relays, settings)
