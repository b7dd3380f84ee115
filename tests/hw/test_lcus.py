"""The LCUS driver against its emulator on a real pty: through hw, and through the gateway.

The module answers nothing, so these tests check what reached the pty and that an unplugged
module (its tty gone) is noticed, goes offline and gets its configured states back.
"""

import time

import pytest

from hw.config import parse_config
from hw.drivers.lcus import SIZES, LcusBoard, build, frame
from hw.drivers.lcus_emulator import LcusEmulator
from hw.errors import BoardUnavailable, HardwareConfigError
from hw.factory import build_controller
from tests.hw.helpers import TIMEOUT, deadline
from tests.support import Api, wait_for

FORM = {"content_type": "application/x-www-form-urlencoded"}


def entry(emu: LcusEmulator, name: str = "lcus", **settings) -> dict:
    return {
        "name": name,
        "driver": "lcus",
        "url": emu.path,
        "relays": len(emu.relays),
        "timeout": TIMEOUT,
        **settings,
    }


@pytest.fixture
def lcus(stack):
    def make(relays: int = 4) -> LcusEmulator:
        return stack.enter_context(LcusEmulator(relays))

    return make


@pytest.fixture
def lcus_board(stack):
    def make(emu: LcusEmulator) -> LcusBoard:
        board = build(parse_config({"boards": [entry(emu)]}).boards[0], 0)
        stack.callback(board.close)
        board.open(deadline())
        return board

    return make


def test_frames_carry_the_checksum():
    assert frame(1, True) == bytes.fromhex("a0 01 01 a2")
    assert frame(1, False) == bytes.fromhex("a0 01 00 a1")
    assert frame(8, True) == bytes.fromhex("a0 08 01 a9")


@pytest.mark.parametrize("relays", SIZES)
def test_switching_writes_the_frame_and_reports_what_was_commanded(lcus, lcus_board, relays):
    emu = lcus(relays)
    board = lcus_board(emu)
    board.set_relay(relays - 1, True, deadline())
    assert wait_for(lambda: emu.relays[-1] is True)
    assert emu.frames == [frame(relays, True)] and emu.rejected == []
    assert board.read_states(deadline()) == [False] * (relays - 1) + [True]
    board.write_states([True] * relays, deadline())
    assert wait_for(lambda: emu.relays == [True] * relays)


def test_the_reported_state_is_what_was_commanded_not_what_the_relay_did(lcus, lcus_board):
    emu = lcus(2)
    board = lcus_board(emu)
    emu.ignore_writes = True  # a module that drops the frame: the driver cannot know
    board.set_relay(0, True, deadline())
    assert board.read_states(deadline()) == [True, False]
    assert emu.relays == [False, False]


def test_an_unplugged_module_is_noticed_at_the_next_read(lcus, lcus_board):
    emu = lcus(4)
    board = lcus_board(emu)
    emu.vanish()
    started = time.monotonic()
    with pytest.raises(BoardUnavailable):
        board.read_states(deadline())
    with pytest.raises(BoardUnavailable):
        board.set_relay(0, True, deadline())
    assert time.monotonic() - started < TIMEOUT + 0.5


def test_relay_counts_are_checked_when_the_config_is_built():
    with pytest.raises(HardwareConfigError, match="LCUS modules have 1, 2, 4, 8 relays, not 16"):
        build_controller({"boards": [{"driver": "lcus", "url": "loop://", "relays": 16}]})


def test_a_replugged_module_gets_the_last_commanded_states_again(lcus, controller):
    emu = lcus(4)
    control = controller({"boards": [entry(emu)]}, targets=[False, True, False, True])
    assert wait_for(lambda: emu.relays == [False, True, False, True])
    control.set_outlet(0, True)
    assert wait_for(lambda: emu.relays == [True, True, False, True])
    emu.vanish()
    assert wait_for(lambda: control.board_of(0).status == "offline")
    emu.come_back()  # every relay off, as after a power cycle
    assert wait_for(lambda: emu.relays == [True, True, False, True])
    assert control.physical_states() == [True, True, False, True]


@pytest.fixture
def gateway(lcus, make_app):
    emu = lcus(4)
    board = {"name": "bench", "driver": "lcus", "url": emu.path, "relays": 4, "timeout": 0.5}
    app = make_app(hardware={"poll_interval": 0.05, "boards": [board, {"name": "side", "relays": 4}]})
    return emu, Api(app.test_client()), app


def test_the_gateway_switches_an_lcus_outlet_and_survives_an_unplugging(gateway):
    emu, admin, app = gateway
    assert wait_for(lambda: emu.relays == [True] * 4)  # configured states at start
    assert admin.put("/restapi/relay/outlets/2/state/", data="value=false", **FORM).status_code == 204
    assert wait_for(lambda: emu.relays == [True, True, False, True])
    assert admin.get("/restapi/relay/outlets/2/physical_state/").json is False
    emu.vanish()
    assert wait_for(
        lambda: admin.put("/restapi/relay/outlets/1/state/", data="value=false", **FORM).status_code == 503
    )
    assert admin.get("/restapi/relay/outlets/1/state/").json is True  # the refused write changed nothing
    assert admin.put("/restapi/relay/outlets/5/state/", data="value=false", **FORM).status_code == 204
    emu.come_back()
    assert wait_for(lambda: emu.relays == [True, True, False, True], timeout=5)
    assert wait_for(
        lambda: admin.put("/restapi/relay/outlets/0/state/", data="value=false", **FORM).status_code == 204
    )
    assert wait_for(lambda: emu.relays[0] is False)
    lines = app.extensions["powerctl.audit"].tail(50)
    assert 'Outlet 2: Physical state set to On by relay hardware (board "bench" back online)' in lines
