"""The [hardware] table: defaults, a full example, and one refusal per kind of mistake."""

import pytest

from hw import AdcMeter, HardwareConfigError, HardwareError, build_controller
from hw.config import BoardConfig, HardwareConfig, parse_config
from hw.drivers.numato import NumatoSettings

NUMATO = {"name": "left", "driver": "numato", "url": "/dev/ttyACM0"}


def test_empty_config_means_one_simulated_8_relay_board():
    assert parse_config(None) == parse_config({}) == HardwareConfig(1.0, (BoardConfig("board0"),))
    assert parse_config({"poll_interval": 2}) == HardwareConfig(2.0, (BoardConfig("board0"),))


def test_full_numato_board():
    config = {
        "poll_interval": 0.5,
        "boards": [
            {"driver": "sim", "relays": 2},
            {
                **NUMATO,
                "relays": 16,
                "timeout": 1,
                "retries": 0,
                "baudrate": 9600,
                "meters": [
                    {
                        "id": "bus.0.voltage",
                        "channel": 1,
                        "scale": 0.1,
                        "offset": 0,
                        "unit": "V",
                        "quantity": "voltage",
                        "bus": 0,
                        "name": "Bus 0 voltage",
                    },
                    {"id": "raw", "channel": 2},
                ],
            },
        ],
    }
    assert parse_config(config) == HardwareConfig(
        0.5,
        (
            BoardConfig("board0", "sim", relays=2),
            BoardConfig(
                "left",
                "numato",
                16,
                NumatoSettings(
                    "/dev/ttyACM0",
                    1.0,
                    0,
                    9600,
                    (
                        AdcMeter("bus.0.voltage", 1, 0.1, 0.0, "V", "voltage", 0, "Bus 0 voltage"),
                        AdcMeter("raw", 2, name="raw"),
                    ),
                ),
            ),
        ),
    )


def test_build_controller_concatenates_boards_in_config_order():
    control = build_controller({"boards": [{"relays": 2}, {**NUMATO, "relays": 32}]})
    assert [(b.name, b.outlets) for b in control.boards] == [
        ("board0", range(2)),
        ("left", range(2, 34)),
    ]
    control.close()


def board(**changes):
    return {"boards": [{**NUMATO, **changes}]}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"colour": "red"}, "hardware.colour: unknown key"),
        ({"poll_interval": 0}, "hardware.poll_interval: must be positive, got 0"),
        ({"poll_interval": "1s"}, "hardware.poll_interval: must be a number, got '1s'"),
        ({"boards": []}, "hardware.boards: must list at least one board"),
        ({"boards": {"name": "x"}}, "hardware.boards: must be an array"),
        ({"boards": ["x"]}, "hardware.boards[0]: must be a table, got 'x'"),
        ({"boards": [{"driver": "x10"}]}, 'board "board0": hardware.boards[0].driver: "x10" is'),
        ({"boards": [{"name": ""}]}, "hardware.boards[0].name: must not be empty"),
        ({"boards": [{"name": 7}]}, "hardware.boards[0].name: must be a string, got 7"),
        ({"boards": [{"name": "a"}, {"name": "a"}]}, 'hardware.boards[1].name: "a" is already used'),
        ({"boards": [{"url": "/dev/x"}]}, 'hardware.boards[0].url: unknown key for driver "sim"'),
        ({"boards": [{"relays": 0}]}, "hardware.boards[0].relays: must be 1 to 64, got 0"),
        (board(relays=3), 'board "left": hardware.boards[0].relays: Numato modules have 1, 2, 4'),
        (board(relays=True), "hardware.boards[0].relays: must be an integer, got True"),
        (board(relays=8.0), "hardware.boards[0].relays: must be an integer, got 8.0"),
        (board(url=""), "hardware.boards[0].url: must not be empty"),
        ({"boards": [{"driver": "numato"}]}, "hardware.boards[0].url: is required"),
        (board(url="x10://a"), "hardware.boards[0].url: invalid URL, protocol 'x10' not known"),
        (board(timeout=-1), "hardware.boards[0].timeout: must be positive, got -1.0"),
        (board(retries="2"), "hardware.boards[0].retries: must be an integer, got '2'"),
        (board(retries=11), "hardware.boards[0].retries: must be 0 to 10, got 11"),
        (board(baudrate=0), "hardware.boards[0].baudrate: must be positive, got 0"),
        (board(speed=1), 'hardware.boards[0].speed: unknown key for driver "numato"'),
        (board(meters=[{"id": "v"}]), "hardware.boards[0].meters[0].channel: is required"),
        (board(meters=[{"id": "v", "channel": 10}]), "meters[0].channel: must be 0 to 9, got 10"),
        (board(meters=[{"id": "v", "channel": 1, "bus": -1}]), "meters[0].bus: must not be neg"),
        (board(meters=[{"id": "", "channel": 1}]), "meters[0].id: must not be empty"),
        (board(meters=[{"id": "v", "channel": 1, "gain": 2}]), "meters[0].gain: unknown key"),
        (
            board(meters=[{"id": "v", "channel": 1}, {"id": "v", "channel": 2}]),
            'hardware.boards[0].meters[1].id: "v" is already used',
        ),
        (
            {"boards": [{"name": "sim"}, {**NUMATO, "meters": [{"id": "bus.0.power", "channel": 1}]}]},
            'board "left": hardware.boards[1].meters: id "bus.0.power" is already used by board "sim"',
        ),
    ],
)
def test_invalid_config_is_refused_naming_board_and_key(config, message):
    with pytest.raises(HardwareConfigError) as caught:
        build_controller(config)
    assert message in str(caught.value)
    assert isinstance(caught.value, HardwareError)
