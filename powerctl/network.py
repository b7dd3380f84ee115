"""The [network] section and the network driver it selects."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates, validates_schema

from hw.network import CommandNetwork, Network, SimNetwork, command_problem


class NetworkSection(Schema):
    class Meta:
        unknown = RAISE

    driver = fields.String(load_default="sim", validate=validate.OneOf(["sim", "command"]))
    timeout = fields.Float(load_default=5.0, validate=validate.Range(0.1, 120))
    commands = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict)

    @validates("commands")
    def _commands(self, value: dict, **_kwargs) -> None:
        problems = {}
        for key, argv in value.items():
            problem = command_problem(key, argv if isinstance(argv, list) else [])
            if problem:
                problems[key] = [problem]
        if problems:
            raise ValidationError(problems)

    @validates_schema(skip_on_field_errors=True)
    def _driver_uses_commands(self, data: dict, **_kwargs) -> None:
        if data["commands"] and data["driver"] != "command":
            raise ValidationError('commands apply only to driver = "command"', "commands")


def build_network(section: dict) -> Network:
    """The driver for a loaded [network] section."""
    if section["driver"] == "command":
        return CommandNetwork(section["commands"], section["timeout"])
    return SimNetwork()
