"""The building blocks of driver settings schemas, as a network driver would use them."""

from dataclasses import dataclass

import pytest

from hw import HardwareConfigError
from hw.settings import Boolean, Hidden, Integer, Secret, Settings, String, between, load, one_of


@dataclass(frozen=True)
class Agent:
    host: str
    port: int = 161
    version: str = "2c"
    verify: bool = True
    community: str = "public"


class AgentSchema(Settings):
    model = Agent

    host = String(required=True)
    port = Integer(load_default=161, validate=between(1, 65535))
    version = String(load_default="2c", validate=one_of(("2c", "3")))
    verify = Boolean(load_default=True)
    community = Secret(load_default="public")


def test_a_schema_loads_into_its_dataclass():
    agent = load(AgentSchema(), {"host": "pdu", "community": "s3cret"}, "hardware.boards[0]")
    assert agent == Agent("pdu", community="s3cret")
    assert "s3cret" not in repr(agent)
    assert isinstance(agent.community, Hidden)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({}, "hardware.boards[0].host: is required"),
        ({"host": "pdu", "port": 0}, "hardware.boards[0].port: must be 1 to 65535, got 0"),
        ({"host": "pdu", "version": "1"}, "hardware.boards[0].version: must be one of 2c, 3, got '1'"),
        ({"host": "pdu", "verify": 1}, "hardware.boards[0].verify: must be true or false, got 1"),
        ({"host": "pdu", "community": 12345}, "hardware.boards[0].community: must be a string"),
        ({"host": "pdu", "colour": "red"}, "hardware.boards[0].colour: unknown key"),
    ],
)
def test_refusals_name_the_key_and_never_show_a_secret(table, message):
    with pytest.raises(HardwareConfigError) as caught:
        load(AgentSchema(), table, "hardware.boards[0]", "pdu")
    assert str(caught.value) == f'board "pdu": {message}'
    assert "12345" not in str(caught.value)
