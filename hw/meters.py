"""Meter values and how a board's ADC channels map to them."""

from dataclasses import dataclass
from typing import Any, ClassVar

from marshmallow import post_load

from .settings import Array, Integer, Number, Settings, String, Table, not_empty, not_negative, unique


@dataclass(frozen=True)
class MeterReading:
    """One meter as meter/values/<id>/ shows it; value is None when it cannot be read."""

    name: str
    value: float | None
    unit: str
    bus: int | None
    quantity: str


@dataclass(frozen=True)
class AdcMeter:
    """One ADC channel mapped to a meter: value = raw * scale + offset."""

    id: str
    channel: int
    scale: float = 1.0
    offset: float = 0.0
    unit: str = ""
    quantity: str = ""
    bus: int | None = None
    name: str = ""

    def reading(self, raw: int | None) -> MeterReading:
        """The meter for a raw ADC count, or without a value if there is none."""
        # Rounding keeps float noise such as 51.300000000000004 out of JSON bodies.
        value = None if raw is None else round(raw * self.scale + self.offset, 6)
        return MeterReading(self.name or self.id, value, self.unit, self.bus, self.quantity)


@dataclass(frozen=True)
class ReportedMeter:
    """A number a device reports itself (a plug's power), in the meter's unit: value = raw x factor."""

    suffix: str  # of the meter id: `plug.power`
    unit: str
    quantity: str
    factor: float = 1.0

    def reading(self, name: str, raw: object = None) -> MeterReading:
        """The meter for a reported value, or without one if it is no number (or not read)."""
        value = round(raw * self.factor, 6) if isinstance(raw, int | float) else None
        return MeterReading(name, value, self.unit, None, self.quantity)


class MeterSchema(Settings):
    """The keys of one [[hardware.boards.meters]] table; a driver adds where the value comes from."""

    error_messages: ClassVar[dict[str, str]] = {"unknown": "unknown key for a meter"}

    id = String(required=True, validate=not_empty)
    scale = Number(load_default=1.0)
    offset = Number(load_default=0.0)
    unit = String(load_default="")
    quantity = String(load_default="")
    bus = Integer(load_default=None, validate=not_negative)
    name = String(load_default=None)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: object) -> Any:
        return super()._make({**data, "name": data["name"] or data["id"]}, **kwargs)


def meter_list(schema: type[MeterSchema]) -> Array:
    """The `meters` key: an array of meter tables with unique ids."""
    return Array(Table(schema), load_default=list, validate=unique("id"))
