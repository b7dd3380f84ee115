"""The driver registry: built-in drivers, third-party drivers through entry points, and their errors.

A plugin is a *.dist-info directory (METADATA, entry_points.txt) and a module written into a tmp
dir put on sys.path of a subprocess, which importlib.metadata finds as an installed distribution;
nothing is installed into the venv and nothing leaks between tests.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hw import HardwareConfigError, build_controller
from hw.config import parse_config
from hw.drivers import BUILTIN
from hw.registry import Driver, MissingExtra, import_extra, lookup, names

ROOT = Path(__file__).resolve().parents[2]

BUILT_IN = [entry.name for entry in BUILTIN]  # every built-in driver, in registration order
KNOWN = ", ".join(BUILT_IN)
EMULATED = [name for name in BUILT_IN if lookup(name).emulator is not None]

# A tiny in-memory relay board with one setting of its own, and an emulator that says hello.
ACME = """
from dataclasses import dataclass

from hw.board import Board
from hw.meters import MeterReading
from hw.registry import Driver, relay_range
from hw.settings import Settings, String, not_empty


@dataclass(frozen=True)
class AcmeSettings:
    colour: str = "red"


class AcmeSchema(Settings):
    model = AcmeSettings

    colour = String(load_default="red", validate=not_empty)


class AcmeBoard(Board):
    timeout = 1.0

    def __init__(self, name, relays, colour):
        self.name, self.relay_count, self.colour = name, relays, colour
        self.url = f"acme://{colour}"
        self.relays = [False] * relays

    def open(self, deadline):
        pass

    def close(self):
        pass

    def read_states(self, deadline):
        return list(self.relays)

    def write_states(self, states, deadline):
        self.relays = list(states)

    def set_relay(self, index, on, deadline):
        self.relays[index] = on

    def read_meters(self, deadline):
        return {}

    def idle_meters(self):
        return {}


def emulate(argv, prog):
    print(f"{prog}: acme emulator {argv}")
    return 0


DRIVER = Driver(
    summary="Acme relay boards",
    build=lambda config, ordinal: AcmeBoard(config.name, config.relays, config.settings.colour),
    relays=relay_range(1, 4),
    settings=AcmeSchema(),
    default_relays=4,
    emulator="acme_relay:emulate",
)
NEEDY = Driver(
    summary="needs a package nobody has",
    build=DRIVER.build,
    relays=DRIVER.relays,
    needs={"acme_fast_io": "acme-relay[fast]"},
)
NOT_A_DRIVER = "acme"
"""


@pytest.fixture
def site(tmp_path):
    """A directory holding the acme-relay distribution and its entry points."""
    site = tmp_path / "site"
    info = site / "acme_relay-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-relay\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[powerctl.boards]\n"
        "acme = acme_relay:DRIVER\n"
        "broken = acme_missing:DRIVER\n"
        "needy = acme_relay:NEEDY\n"
        "wrong = acme_relay:NOT_A_DRIVER\n"
    )
    (site / "acme_relay.py").write_text(ACME)
    return site


def run(site: Path, code: str = "", *args: str) -> subprocess.CompletedProcess:
    """Run Python code (or python -m with args) with the plugin's site dir first on sys.path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    command = [sys.executable, *(args or ("-c", textwrap.dedent(code)))]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=30, check=False)


def test_built_in_drivers_are_registered():
    assert BUILT_IN[:2] == ["sim", "numato"]
    assert names()[: len(BUILT_IN)] == BUILT_IN
    assert all(isinstance(lookup(name), Driver) for name in BUILT_IN)


def test_unknown_driver_is_a_config_error_naming_the_known_ones():
    with pytest.raises(HardwareConfigError) as caught:
        parse_config({"boards": [{"driver": "x10"}]})
    assert str(caught.value) == f'board "board0": hardware.boards[0].driver: "x10" is not one of {KNOWN}'


def test_config_naming_a_plugin_driver_builds_a_working_board(site):
    result = run(
        site,
        """
        import json
        from hw import build_controller

        shelf = {"name": "shelf", "driver": "acme", "relays": 3, "colour": "blue"}
        config = {"boards": [{"relays": 2}, shelf]}
        with build_controller(config) as control:
            control.start([False] * 5)
            control.set_outlet(3, True)
            board = control.board_of(3)
            print(json.dumps([board.name, board.board.url, list(board.outlets), control.physical_states()]))
        """,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        "shelf",
        "acme://blue",
        [2, 3, 4],
        [False, False, False, True, False],
    ]


MISTAKES = [
    ({"driver": "acme", "colour": 5}, 'board "board0": hardware.boards[0].colour: must be a string, got 5'),
    ({"driver": "acme", "colour": ""}, "hardware.boards[0].colour: must not be empty"),
    ({"driver": "acme", "url": "x"}, 'hardware.boards[0].url: unknown key for driver "acme"'),
    ({"driver": "acme", "relays": 8}, "hardware.boards[0].relays: must be 1 to 4, got 8"),
    (
        {"driver": "x10"},
        f'hardware.boards[0].driver: "x10" is not one of {KNOWN}, acme, broken, needy, wrong',
    ),
    (
        {"driver": "broken"},
        'hardware.boards[0].driver: driver "broken" (acme_missing:DRIVER from acme-relay 1.0) cannot be'
        " loaded: ModuleNotFoundError: No module named 'acme_missing'",
    ),
    (
        {"driver": "wrong"},
        "hardware.boards[0].driver: driver \"wrong\" (acme_relay:NOT_A_DRIVER from acme-relay 1.0) is 'acme',"
        " not a hw.registry.Driver",
    ),
    (
        {"driver": "needy"},
        'hardware.boards[0].driver: driver "needy" needs acme_fast_io, which is not installed:'
        " pip install 'acme-relay[fast]'",
    ),
]


def refusals(site: Path, boards: list[dict]) -> list[str]:
    """The HardwareConfigError message for a config of each board, from one subprocess."""
    result = run(
        site,
        f"""
        import json
        from hw import HardwareConfigError, build_controller

        messages = []
        for board in {boards!r}:
            try:
                build_controller({{"boards": [board]}}).close()
                messages.append("built")
            except HardwareConfigError as exc:
                messages.append(str(exc))
        print(json.dumps(messages))
        """,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_plugin_mistakes_are_config_errors_naming_the_plugin(site):
    got = refusals(site, [board for board, _ in MISTAKES])
    for (board, message), refusal in zip(MISTAKES, got, strict=True):
        assert message in refusal, board


def test_a_name_registered_twice_is_refused_naming_both(site):
    rogue = site / "rogue-2.0.dist-info"
    rogue.mkdir()
    (rogue / "METADATA").write_text("Metadata-Version: 2.1\nName: rogue\nVersion: 2.0\n")
    (rogue / "entry_points.txt").write_text("[powerctl.boards]\nsim = acme_relay:DRIVER\n")
    assert refusals(site, [{"driver": "sim"}, {"driver": "acme"}]) == [
        'board "board0": hardware.boards[0].driver: driver "sim" is registered more than once:'
        " hw.drivers.sim:DRIVER, built in; acme_relay:DRIVER from rogue 2.0",
        "built",
    ]


def test_a_broken_plugin_stops_only_the_configs_that_name_it(site):
    assert refusals(site, [{"driver": "numato", "url": "loop://"}, {}]) == ["built", "built"]


def test_emulator_lists_and_runs_the_emulators_of_plugins_too(site):
    listed = run(site, "", "-m", "hw.emulator", "--list")
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [*EMULATED, "acme"]
    assert 'driver "broken"' in listed.stderr  # a broken plugin is named, and listing goes on
    ran = run(site, "", "-m", "hw.emulator", "acme", "--fast")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "python -m hw.emulator acme: acme emulator ['--fast']\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("sim",), f'driver "sim" has no emulator (drivers with one: {", ".join(EMULATED)})'),
        (("x10",), f'unknown driver "x10" (known: {KNOWN})'),
    ],
)
def test_emulator_refuses_drivers_without_one(args, message):
    result = subprocess.run(
        [sys.executable, "-m", "hw.emulator", *args], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_emulator_without_arguments_lists_the_built_in_ones():
    result = subprocess.run(
        [sys.executable, "-m", "hw.emulator"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == EMULATED


def test_import_extra_names_what_to_install():
    assert import_extra("sim", "json", "powerctl[json]") is json
    with pytest.raises(
        MissingExtra, match=r"driver \"snmp\" needs pysnmp_x, .* pip install 'powerctl\[snmp\]'"
    ):
        import_extra("snmp", "pysnmp_x", "powerctl[snmp]")


def test_build_errors_name_the_setting():
    with pytest.raises(HardwareConfigError, match=r"hardware\.boards\[0\]\.url: invalid URL"):
        build_controller({"boards": [{"driver": "numato", "url": "x10://a"}]})
