"""The [scripts] section: the user functions and how many of them may run at once."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from hw.config import parse_config
from hw.errors import HardwareError
from powerctl.scripts import binding
from powerctl.scripts.functions import FunctionError
from powerctl.scripts.parse import parse_functions


class FunctionsField(fields.Field):
    """The [scripts.functions] table as Function objects; errors name the function and step."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_functions(value)
        except FunctionError as err:
            raise ValidationError(str(err)) from None


class ScriptsSection(Schema):
    class Meta:
        unknown = RAISE

    max_threads = fields.Integer(load_default=4, strict=True, validate=validate.Range(1, 64))
    functions = FunctionsField(load_default=dict)


def outlet_count(hardware: object) -> int | None:
    """How many outlets the [hardware] boards have; None when that section is wrong (the app
    reports the problem itself when it builds the boards)."""
    try:
        return sum(board.relays for board in parse_config(hardware).boards)  # type: ignore[arg-type]
    except HardwareError:
        return None


def check_outlets(scripts: dict, hardware: object) -> None:
    """Refuse functions that name outlets the [hardware] boards do not have."""
    count = outlet_count(hardware)
    if count is None:
        return
    functions = scripts["functions"]
    try:
        for name, function in functions.items():
            binding.check(functions, name, (None,) * len(function.args), count)
    except FunctionError as err:
        raise ValidationError({"functions": [str(err)]}, field_name="scripts") from None
