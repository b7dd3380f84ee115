"""The SNMP driver against a real agent: snmpsim on loopback, serving each profile's data file."""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest

from hw import BoardUnavailable, HardwareConfigError, build_controller
from hw.config import parse_config
from hw.drivers.snmp_emulator import SnmpAgent
from hw.registry import MissingExtra
from tests.support import wait_for

TIMEOUT = 3.0  # generous: snmpsim and pysnmp share two loaded cores with the rest of the suite
POLL = 0.1
APC_COMMAND = "1.3.6.1.4.1.318.1.1.12.3.3.1.1.4"
SPDU_COMMAND = "1.3.6.1.4.1.318.1.1.4.4.2.1.3"
RARITAN_COMMAND = "1.3.6.1.4.1.13742.6.4.1.2.1.2.1"
# What each profile writes to switch outlet n on and off, from the MIBs, not from the driver.
COMMANDS = {
    "apc-rpdu": (APC_COMMAND, 1, 2),
    "apc-spdu": (SPDU_COMMAND, 1, 2),
    "raritan-pdu2": (RARITAN_COMMAND, 1, 0),
}
NAMES = ["web-1", "web-2", "db-1", "db-2", "switch", "router", "console", "spare"]
V3_AUTH = "auth-key-of-the-pdu"
V3_PRIV = "priv-key-of-the-pdu"


def entry(agent: SnmpAgent, name: str = "pdu", **settings) -> dict:
    """A [[hardware.boards]] table for the agent."""
    board = {
        "name": name,
        "driver": "snmp",
        "host": "127.0.0.1",
        "port": agent.port,
        "profile": agent.profile,
    }
    return {**board, "relays": 8, "timeout": TIMEOUT, **settings}


@pytest.fixture
def agent(stack):
    """Start snmpsim agents: agent(profile, **options); each is stopped and removed after the test."""
    return lambda profile="apc-rpdu", **options: stack.enter_context(SnmpAgent(profile, **options))


@pytest.fixture
def boards(stack):
    """Build and start a Controller of these board tables: boards(tables, targets)."""

    def make(boards: list[dict], targets: list[bool]):
        built = stack.enter_context(build_controller({"poll_interval": POLL, "boards": boards}))
        built.start(targets)
        return built

    return make


def outlet_values(agent: SnmpAgent, profile: str) -> list[bool | None]:
    """Each outlet as the agent holds it: True on, False off, None never set."""
    column, on, off = COMMANDS[profile]
    cells = agent.cells()
    return [{on: True, off: False}.get(cells.get(f"{column}.{n}")) for n in range(1, 9)]


@pytest.mark.parametrize("profile", sorted(COMMANDS))
def test_each_profile_applies_targets_switches_and_reads_back(profile, agent, boards):
    pdu = agent(profile)
    targets = [True, False] * 4
    hw = boards([entry(pdu)], targets)
    # online after the first round, or, on a loaded machine, after the next
    assert wait_for(lambda: hw.board_of(0).status == "online", TIMEOUT * 4)
    # outlets already off (the data files start off) get no SET
    assert outlet_values(pdu, profile) == [True, None] * 4
    assert hw.physical_states() == targets
    hw.set_outlet(3, True)
    hw.set_outlet(0, False)
    assert outlet_values(pdu, profile)[:4] == [False, None, True, True]
    assert hw.physical_states()[:4] == [False, False, True, True]
    board = hw.board_of(0).board
    assert board.outlet_names(time.monotonic() + TIMEOUT) == NAMES


def test_meters_come_with_units_and_the_mib_scaling(agent, boards):
    rpdu, raritan = agent("apc-rpdu"), agent("raritan-pdu2")
    hw = boards([entry(rpdu, "apc"), entry(raritan, "px")], [False] * 16)
    assert wait_for(lambda: all(m.value is not None for m in hw.read_meters().values()), TIMEOUT * 4)
    values = {key: (meter.value, meter.unit, meter.quantity) for key, meter in hw.read_meters().items()}
    assert values == {
        "pdu.0.current": (1.2, "A", "current"),  # rPDULoadStatusLoad 12, tenths of amps
        "pdu.0.power": (276.0, "W", "power"),
        "pdu.1.current": (1.2, "A", "current"),  # 12 with inletSensorDecimalDigits 1
        "pdu.1.voltage": (230.0, "V", "voltage"),
        "pdu.1.power": (276.0, "W", "power"),
        "pdu.1.total_energy": (193359 * 3600.0, "J", "energy"),  # Wh as DLI's joules
    }


def test_a_stopped_agent_is_503_material_within_the_timeout_and_comes_back_with_its_targets(
    agent, boards, caplog
):
    pdu = agent("apc-rpdu")
    hw = boards([entry(pdu), {"name": "side", "driver": "sim", "relays": 2}], [False] * 10)
    caplog.set_level(logging.INFO, logger="hw")
    pdu.stop()
    started = time.monotonic()
    with pytest.raises(BoardUnavailable):
        hw.set_outlet(2, True)  # the first failure is the command's own: it times out
    assert time.monotonic() - started < 2 * TIMEOUT + 0.5
    assert wait_for(lambda: hw.board_of(0).status == "offline", TIMEOUT * 3)
    started = time.monotonic()
    # offline: at once, or "busy" if a reopen attempt holds the lock (it waits one request)
    with pytest.raises(BoardUnavailable, match=r"offline|busy"):
        hw.set_outlet(5, True)
    assert time.monotonic() - started < TIMEOUT + 0.5
    hw.set_outlet(8, True)  # the sim board is not held up
    pdu.start()
    assert wait_for(lambda: hw.board_of(0).status == "online", 10)
    # the switches refused while it was away are not carried out now (docs/hardware.md)
    assert outlet_values(pdu, "apc-rpdu")[2] is not True and outlet_values(pdu, "apc-rpdu")[5] is not True
    assert hw.physical_states()[:8] == [False] * 8
    messages = [record.getMessage() for record in caplog.records]
    assert 'board "pdu" back online; re-applied configured states' in messages
    assert not any(m.startswith(("Outlet 3:", "Outlet 6:")) for m in messages)


class DropFirstSetReply:
    """A UDP relay between driver and agent that loses the agent's answer to the first SET."""

    def __init__(self, agent_port: int) -> None:
        from pysnmp.proto import api

        self._api = api
        self.agent = ("127.0.0.1", agent_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.upstream.settimeout(0.1)
        self.sets = 0
        self.dropped = 0
        self._client = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, daemon=True)
        self._thread.start()

    def _is_set(self, data: bytes) -> bool:
        from pyasn1.codec.ber import decoder

        message, _ = decoder.decode(data, asn1Spec=self._api.v2c.Message())
        pdu = self._api.v2c.apiMessage.get_pdu(message)
        return pdu.tagSet == self._api.v2c.SetRequestPDU.tagSet

    def _relay(self) -> None:
        drop_next_reply = False
        while not self._stop.is_set():
            try:
                data, self._client = self.sock.recvfrom(65535)
                if self._is_set(data):
                    self.sets += 1
                    drop_next_reply = self.sets == 1
                self.upstream.sendto(data, self.agent)
            except TimeoutError:
                pass
            try:
                reply, _ = self.upstream.recvfrom(65535)
            except TimeoutError:
                continue
            if drop_next_reply:
                drop_next_reply = False
                self.dropped += 1
                continue
            self.sock.sendto(reply, self._client)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
        self.upstream.close()


def test_a_set_whose_answer_is_lost_is_read_back_not_sent_again(agent, boards, stack):
    pdu = agent("apc-rpdu")
    relay = DropFirstSetReply(pdu.port)
    stack.callback(relay.close)
    # each of the three attempts waits a third of the timeout: 2 s, for a loaded machine
    hw = boards([{**entry(pdu), "port": relay.port, "timeout": 6.0}], [False] * 8)
    # a loaded machine's agent may miss the first open, as in the tests above
    assert wait_for(lambda: hw.board_of(0).status == "online", TIMEOUT * 4)
    hw.set_outlet(4, True)
    assert relay.dropped == 1
    assert relay.sets == 1  # the GET after the lost answer showed it had been applied
    assert [oid for _, oid, _ in pdu.sets()] == [f"{APC_COMMAND}.5"]
    assert outlet_values(pdu, "apc-rpdu")[4] is True
    assert hw.physical_states()[4] is True


def test_v3_with_keys_switches_and_keys_never_show(agent, boards):
    pdu = agent("apc-spdu", v3_user="powerctl", auth_key=V3_AUTH, priv_key=V3_PRIV)
    v3 = {"version": "3", "user": "powerctl", "auth_key": V3_AUTH, "priv_key": V3_PRIV, "context": "public"}
    wrong = {**v3, "auth_key": "not-the-auth-key"}
    hw = boards([entry(pdu, "good", **v3), entry(pdu, "bad", **wrong)], [False] * 16)
    # v3's first exchange (engine discovery, keys) may miss a loaded machine's first round
    assert wait_for(lambda: hw.board_of(0).status == "online", TIMEOUT * 4)
    hw.set_outlet(1, True)
    assert outlet_values(pdu, "apc-spdu")[1] is True
    bad = hw.board_of(8)
    assert bad.status == "offline"
    with pytest.raises(BoardUnavailable) as refused:
        hw.set_outlet(9, True)
    shown = " ".join([str(refused.value), bad.last_error or "", repr(hw.boards[1].board.__dict__)])
    for secret in (V3_AUTH, V3_PRIV, "not-the-auth-key"):
        assert secret not in shown


def test_an_outlet_the_pdu_does_not_have_is_a_protocol_error(agent, stack):
    pdu = agent("apc-rpdu")
    hw = stack.enter_context(build_controller({"poll_interval": POLL, "boards": [entry(pdu, relays=9)]}))
    hw.start([False] * 9)
    assert hw.board_of(0).status == "offline"
    # each reopen fails the same way (a round that timed out under load says so instead, once)
    assert wait_for(lambda: "outlet 9: the agent answered" in (hw.board_of(0).last_error or ""), 5)
    with pytest.raises(BoardUnavailable):
        hw.set_outlet(0, True)


CONFIG_ERRORS = [
    (
        {"profile": "cyberpower"},
        "hardware.boards[0].profile: must be one of apc-rpdu, apc-spdu, raritan-pdu2",
    ),
    ({"version": 3}, "hardware.boards[0].version: must be a string, got 3"),
    ({"version": "3"}, "hardware.boards[0].user: is required for version 3"),
    (
        {"version": "3", "user": "u", "community": "private"},
        "hardware.boards[0].community: is for version 2c",
    ),
    ({"user": "u"}, 'hardware.boards[0].user: is for version "3"'),
    ({"version": "3", "user": "u", "auth_key": "short"}, "hardware.boards[0].auth_key: must have at least 8"),
    (
        {"version": "3", "user": "u", "priv_key": "long-enough"},
        "hardware.boards[0].auth_key: is required when",
    ),
    ({"community": 12345678}, "hardware.boards[0].community: must be a string"),
    ({"port": 0}, "hardware.boards[0].port: must be 1 to 65535, got 0"),
    ({"url": "x"}, 'hardware.boards[0].url: unknown key for driver "snmp"'),
]


@pytest.mark.parametrize(("settings", "message"), CONFIG_ERRORS)
def test_config_errors_name_the_key_and_never_echo_a_secret(settings, message):
    board = {"driver": "snmp", "host": "pdu.example", "profile": "apc-rpdu", "relays": 8, **settings}
    with pytest.raises(HardwareConfigError) as refused:
        parse_config({"boards": [board]})
    assert message in str(refused.value)
    for key in ("community", "auth_key", "priv_key"):
        if key in settings:
            assert str(settings[key]) not in str(refused.value)


def test_relays_are_required():
    with pytest.raises(HardwareConfigError, match=r"hardware\.boards\[0\]\.relays: is required"):
        parse_config({"boards": [{"driver": "snmp", "host": "h", "profile": "apc-rpdu"}]})


def test_loaded_secrets_do_not_show_in_repr():
    config = parse_config(
        {
            "boards": [
                {"driver": "snmp", "host": "h", "profile": "apc-rpdu", "relays": 8, "community": "s3cret-c"}
            ]
        }
    )
    assert "s3cret-c" not in repr(config)


def test_a_config_naming_snmp_without_pysnmp_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pysnmp", None)  # as if powerctl[snmp] were not installed
    needs = r"hardware\.boards\[0\]\.driver: driver \"snmp\" needs pysnmp, .* pip install 'powerctl\[snmp\]'"
    with pytest.raises(HardwareConfigError, match=needs) as refused:
        parse_config({"boards": [{"driver": "snmp", "host": "h", "profile": "apc-rpdu", "relays": 8}]})
    assert isinstance(refused.value.__cause__, MissingExtra)


def test_the_example_configs_mixed_rack_is_valid():
    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "powerctl.toml"
    lines = example.read_text().splitlines()
    start = lines.index("# [hardware]")
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        block.append(line.removeprefix("#").removeprefix(" "))
    hardware = parse_config(tomllib.loads("\n".join(block))["hardware"])
    assert [(board.name, board.driver, board.relays) for board in hardware.boards] == [
        ("pdu", "snmp", 8),
        ("io", "modbus", 4),
        ("bench", "numato", 4),
    ]
