"""Meter values and how a board's ADC channels map to them."""

from dataclasses import dataclass


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
