"""meter/values/: readings keyed by id such as bus.0.voltage."""

from __future__ import annotations

import threading
import time

from marshmallow import fields

import hw
from powerctl.history import History
from powerctl.resources.history import meter_history
from powerctl.restapi.tree import Branch, Collection, KeyPath, Value, owner

FIELDS = {
    "name": fields.String(),
    "value": fields.Float(allow_none=True),
    "unit": fields.String(),
    "bus": fields.Integer(allow_none=True),
    "quantity": fields.String(),
}


class Readings:
    """Meter readings shared by the leaves of one request (and briefly after)."""

    def __init__(self, controller: hw.Controller, max_age: float = 0.25):
        self._controller = controller
        self._max_age = max_age
        self._lock = threading.Lock()
        self._at = 0.0
        self._values: dict[str, hw.MeterReading] = {}

    def current(self) -> dict[str, hw.MeterReading]:
        with self._lock:
            if time.monotonic() - self._at > self._max_age:
                self._values = self._controller.read_meters()
                self._at = time.monotonic()
            return self._values

    def field(self, keys: KeyPath, name: str) -> object:
        reading = self.current().get(owner(keys))
        return None if reading is None else getattr(reading, name)


def meter_node(controller: hw.Controller, history: History) -> Branch:
    readings = Readings(controller)
    item = Branch(
        {
            **{
                name: Value(field, read=lambda keys, name=name: readings.field(keys, name))
                for name, field in FIELDS.items()
            },
            "history": meter_history(history, unit=lambda keys: readings.field(keys, "unit")),
        }
    )
    values = Collection(keys=lambda _prefix: list(readings.current()), item=item, array=False)

    def buses(_prefix) -> list[str]:
        found = {r.bus for r in readings.current().values() if r.bus is not None}
        return [str(bus) for bus in sorted(found)]

    bus = Branch({"name": Value(fields.String(), read=lambda keys: f"Bus {owner(keys)}")})
    return Branch({"values": values, "buses": Collection(keys=buses, item=bus)})
