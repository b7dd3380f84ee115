"""The KMTronic driver against its emulator on a real pty: through hw, and through the gateway."""

import os
import select
import subprocess
import sys
import time

import pytest

from hw.config import parse_config
from hw.drivers.kmtronic import SIZES, KmtronicBoard, build
from hw.drivers.kmtronic_emulator import KmtronicEmulator
from hw.errors import BoardProtocolError, BoardUnavailable, HardwareConfigError
from hw.factory import build_controller
from tests.hw.helpers import TIMEOUT, deadline
from tests.support import Api, wait_for

FORM = {"content_type": "application/x-www-form-urlencoded"}


def entry(emu: KmtronicEmulator, name: str = "km", **settings) -> dict:
    return {
        "name": name,
        "driver": "kmtronic",
        "url": emu.path,
        "relays": len(emu.relays),
        "timeout": TIMEOUT,
        **settings,
    }


@pytest.fixture
def kmtronic(stack):
    def make(relays: int = 8) -> KmtronicEmulator:
        return stack.enter_context(KmtronicEmulator(relays))

    return make


@pytest.fixture
def km_board(stack):
    def make(emu: KmtronicEmulator, **settings) -> KmtronicBoard:
        board = build(parse_config({"boards": [entry(emu, **settings)]}).boards[0], 0)
        stack.callback(board.close)
        board.open(deadline())
        return board

    return make


@pytest.mark.parametrize("relays", SIZES)
def test_switching_sends_the_frame_and_reads_back(kmtronic, km_board, relays):
    emu = kmtronic(relays)
    board = km_board(emu)
    board.set_relay(relays - 1, True, deadline())
    assert emu.relays[-1] is True
    assert bytes([0xFF, relays, 0x01]) in emu.frames
    status = bytes([0xFF, 0x09, 0x00]) if relays > 2 else bytes([0xFF, relays, 0x03])
    assert emu.frames[-1] == status  # the read-back came after the command
    assert board.read_states(deadline()) == [False] * (relays - 1) + [True]
    board.write_states([True] * relays, deadline())
    assert emu.relays == [True] * relays


def test_a_board_that_ignores_a_command_is_reported_not_resent(kmtronic, km_board):
    emu = kmtronic(4)
    board = km_board(emu)
    emu.ignore_writes = True
    with pytest.raises(BoardProtocolError, match="relay 2 did not switch"):
        board.set_relay(1, True, deadline())
    assert emu.frames.count(bytes([0xFF, 2, 1])) == 1


def test_a_garbled_status_is_asked_again(kmtronic, km_board):
    emu = kmtronic(2)
    board = km_board(emu)
    emu.garble = 1
    board.set_relay(0, True, deadline())
    assert emu.relays == [True, False]


def test_a_silent_board_fails_within_its_budget(kmtronic, km_board):
    emu = kmtronic(8)
    board = km_board(emu)
    emu.drop_replies = True
    started = time.monotonic()
    with pytest.raises(BoardUnavailable, match="no reply"):
        board.read_states(deadline())
    assert time.monotonic() - started < TIMEOUT + 0.5


def test_relay_counts_and_urls_are_checked_when_the_config_is_built():
    with pytest.raises(HardwareConfigError, match="KMTronic boards have 1, 2, 4, 8 relays, not 3"):
        build_controller({"boards": [{"driver": "kmtronic", "url": "loop://", "relays": 3}]})
    with pytest.raises(HardwareConfigError, match=r"hardware.boards\[0\].url"):
        build_controller({"boards": [{"driver": "kmtronic", "url": "x10://a", "relays": 4}]})


def test_an_unplugged_board_goes_offline_and_gets_its_states_back(kmtronic, controller):
    emu = kmtronic(4)
    control = controller({"boards": [entry(emu)]}, targets=[True, False, True, False])
    assert emu.relays == [True, False, True, False]
    emu.vanish()
    assert wait_for(lambda: control.board_of(0).status == "offline")
    with pytest.raises(BoardUnavailable):
        control.set_outlet(1, True)
    emu.come_back()  # every relay off, as after a power cycle
    assert wait_for(lambda: emu.relays == [True, False, True, False])


@pytest.fixture
def gateway(kmtronic, make_app):
    emu = kmtronic(4)
    board = {"name": "bench", "driver": "kmtronic", "url": emu.path, "relays": 4, "timeout": 0.5}
    app = make_app(hardware={"poll_interval": 0.05, "boards": [board, {"name": "side", "relays": 4}]})
    return emu, Api(app.test_client())


def test_the_gateway_switches_a_kmtronic_outlet_and_survives_an_outage(gateway):
    emu, admin = gateway
    assert emu.relays == [True] * 4  # configured states at start
    assert admin.put("/restapi/relay/outlets/2/state/", data="value=false", **FORM).status_code == 204
    assert emu.relays == [True, True, False, True]
    assert admin.get("/restapi/relay/outlets/2/physical_state/").json is False
    emu.drop_replies = True  # the board goes silent
    started = time.monotonic()
    response = admin.put("/restapi/relay/outlets/1/state/", data="value=false", **FORM)
    assert response.status_code == 503
    assert time.monotonic() - started < 0.5 * 3 + 1.0
    assert 'board "bench"' in response.json["message"]
    assert admin.put("/restapi/relay/outlets/5/state/", data="value=false", **FORM).status_code == 204
    emu.drop_replies = False  # answers again: the monitor reopens the port by itself
    assert wait_for(
        lambda: admin.put("/restapi/relay/outlets/1/state/", data="value=false", **FORM).status_code == 204
    )
    assert emu.relays == [True, False, False, True]
    emu.vanish()
    emu.come_back()  # replugged: every relay off
    assert wait_for(lambda: emu.relays == [True, False, False, True], timeout=5)
    assert wait_for(
        lambda: admin.put("/restapi/relay/outlets/0/state/", data="value=false", **FORM).status_code == 204
    )
    assert emu.relays[0] is False


def test_the_emulator_runs_as_a_command_and_answers_on_its_pty(tmp_path):
    link = tmp_path / "ttyKM"
    command = [sys.executable, "-m", "hw.emulator", "kmtronic", "--relays", "4", "--link", str(link)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("/dev/pts/")
        fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, bytes([0xFF, 2, 1, 0xFF, 9, 0]))
            answer = b""
            while len(answer) < 4 and select.select([fd], [], [], 5)[0]:
                answer += os.read(fd, 8)
            assert answer == bytes([0, 1, 0, 0])
        finally:
            os.close(fd)
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert process.returncode == 0
    assert not link.exists()
