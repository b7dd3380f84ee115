"""Value types shared by resources, with the leniency DLI clients need for text bodies."""

from __future__ import annotations

from marshmallow import fields, validate


class Flag(fields.Boolean):
    """true/false, also from form text such as value=true, value=1 or value=on."""

    truthy = {True, "true", "1", "on"}
    falsy = {False, "false", "0", "off"}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip().lower()
        elif isinstance(value, float) and value in (0.0, 1.0):
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


def label(max_length: int = 64, min_length: int = 1, **kwargs) -> fields.String:
    """A display name: printable text, no control characters."""
    return fields.String(
        **kwargs,
        validate=[
            validate.Length(min_length, max_length),
            validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="must not contain control characters"),
        ],
    )


def seconds(allow_none: bool = False) -> fields.Float:
    return fields.Float(
        allow_none=allow_none,
        allow_nan=False,
        validate=validate.Range(0, 3600, error="must be between 0 and 3600 s"),
    )
