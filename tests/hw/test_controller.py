"""The Controller over simulated boards, and many threads on one emulated board."""

import logging
import re
import threading
import time

import pytest

from hw import BoardUnavailable, Controller, build_controller
from hw.drivers.sim import SimBoard
from tests.hw.helpers import POLL, deadline, numato_entry
from tests.support import wait_for

TWO_SIMS = {"boards": [{"name": "left", "relays": 4}, {"name": "right", "relays": 4}]}


def test_default_is_one_simulated_board_with_8_outlets():
    for config in (None, {}):
        control = build_controller(config)
        assert control.outlet_count == 8
        assert [(b.name, b.outlets, b.status) for b in control.boards] == [("board0", range(8), "offline")]
        control.close()


def test_two_boards_form_one_zero_based_outlet_range(controller):
    control = controller(TWO_SIMS, targets=[True, False, False, False, False, True, False, True])
    left, right = control.boards
    assert control.outlet_count == 8
    assert (left.outlets, right.outlets) == (range(4), range(4, 8))
    assert control.board_of(3) is left and control.board_of(4) is right
    assert left.board.relays == [True, False, False, False]
    assert right.board.relays == [False, True, False, True]
    control.set_outlet(6, True)
    assert right.board.relays == [False, True, True, True]
    assert control.targets() == control.physical_states()
    for outside in (-1, 8):
        with pytest.raises(IndexError):
            control.board_of(outside)


def test_start_needs_one_target_per_outlet():
    with Controller([SimBoard()]) as control, pytest.raises(ValueError, match="expected 8"):
        control.start([True])


def test_meters_follow_the_outlets_that_are_on(controller):
    control = controller({"boards": [{"relays": 8}]})
    assert list(control.read_meters()) == [
        "bus.0.voltage",
        "bus.0.current",
        "bus.0.power",
        "bus.0.total_energy",
        "temperature.0",
    ]
    idle = control.read_meters()
    assert idle["bus.0.current"].value < 0.2
    assert 115 < idle["bus.0.voltage"].value < 125
    for outlet in range(4):
        control.set_outlet(outlet, True)
    assert wait_for(lambda: control.read_meters()["bus.0.current"].value > 3.0)
    busy = control.read_meters()
    volts, amps = busy["bus.0.voltage"].value, busy["bus.0.current"].value
    assert amps == pytest.approx(0.05 + 4 * 0.8, abs=0.1)
    assert busy["bus.0.power"].value == pytest.approx(volts * amps, rel=0.01)
    assert busy["bus.0.total_energy"].value > idle["bus.0.total_energy"].value
    assert busy["bus.0.total_energy"].unit == "J"
    temperature = busy["temperature.0"]
    assert (temperature.unit, temperature.quantity, temperature.bus) == ("K", "temperature", None)
    assert 295 < temperature.value < 310


def test_two_sim_boards_have_a_bus_each(controller):
    meters = controller(TWO_SIMS).read_meters()
    assert meters["bus.1.voltage"].name == "Bus 1 voltage" and meters["bus.1.voltage"].bus == 1
    assert "temperature.1" in meters


def test_failing_board_goes_offline_then_returns_with_its_targets(controller, caplog):
    control = controller(TWO_SIMS)
    left = control.boards[0]
    control.set_outlet(1, True)
    with caplog.at_level(logging.INFO, logger="hw"):
        left.board.fault = "relay bus stuck"
        assert wait_for(lambda: left.status == "offline")
        assert left.last_error == 'board "left" (sim://): relay bus stuck'
        assert all(control.read_meters()[f"bus.0.{q}"].value is None for q in ("voltage", "power"))
        assert control.read_meters()["bus.1.voltage"].value is not None
        with pytest.raises(BoardUnavailable, match="offline: relay bus stuck"):
            control.set_outlet(2, True)
        control.set_outlet(5, True)  # the other board carries on
        left.board.fault = None
        assert wait_for(lambda: left.status == "online")
    assert left.board.relays == [False, True, False, False]  # not the refused outlet 2
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count('board "left" (sim://): relay bus stuck; board offline') == 1
    assert 'board "left" back online; re-applied configured states' in messages


def test_a_relay_that_disagrees_with_its_target_is_warned_about_once(controller, caplog):
    control = controller(TWO_SIMS)
    right = control.boards[1]
    with caplog.at_level(logging.INFO, logger="hw"):
        # Someone switches outlet 6 (Outlet 7) at the board, behind the controller's back.
        right.board.set_relay(2, True, deadline())
        assert wait_for(lambda: control.physical_states()[6] is True)
        time.sleep(5 * POLL)
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("Outlet 7: Physical state set to On by relay hardware") == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ['board "right": Outlet 7 reports On but its target is Off']
    assert control.targets()[6] is False


def test_close_is_prompt_and_idempotent():
    control = build_controller({"poll_interval": 30, "boards": [{"name": "closing"}]})
    control.start([False] * 8)
    started = time.monotonic()
    control.close()
    control.close()
    assert time.monotonic() - started < 0.5
    assert control.boards[0].status == "offline"
    assert "hw-monitor-closing" not in [t.name for t in threading.enumerate()]
    with pytest.raises(BoardUnavailable, match="offline: closed"):
        control.set_outlet(0, True)


WELL_FORMED = re.compile(r"(relay (on|off|read) [0-7]|relay readall|relay writeall [0-9a-f]{2}|)")


def test_many_threads_on_one_board_never_interleave_commands(emulator, controller):
    emu = emulator()
    control = controller({"boards": [numato_entry(emu, timeout=2.0)]})
    errors = []

    def flip(worker):
        try:
            for round_ in range(12):
                control.set_outlet((worker + round_) % 8, (worker + round_) % 3 == 0)
        except Exception as exc:  # collected, so a failure names itself in the main thread
            errors.append(exc)

    workers = [threading.Thread(target=flip, args=(n,)) for n in range(12)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert [c for c in emu.commands if not WELL_FORMED.fullmatch(c)] == []
    assert sum(c.startswith("relay on ") or c.startswith("relay off ") for c in emu.commands) == 144
    assert emu.relays == control.targets() == control.physical_states()


def _sims(stack, timeout: float = 2.0) -> Controller:
    boards = [SimBoard("left", 4), SimBoard("right", 4)]
    for board in boards:
        board.timeout = timeout
    control = stack.enter_context(Controller(boards, poll_interval=POLL))
    control.start([False] * 8)
    return control


def test_holding_several_boards_never_waits_for_one_while_holding_another(stack):
    control = _sims(stack)
    left, right = control.boards
    ran = []
    release = threading.Event()

    def keep_left():
        with left.hold():
            release.wait(5)

    keeper = threading.Thread(target=keep_left)
    keeper.start()
    both = threading.Thread(
        target=control.on_boards, args=([0, 5], lambda board, outlets: ran.append((board.name, outlets)))
    )
    try:
        time.sleep(0.05)
        both.start()
        time.sleep(0.1)  # both is now waiting for left
        with right.hold(wait=0):  # and does not hold right meanwhile
            pass
        assert ran == []
    finally:
        release.set()
        keeper.join()
        both.join()
    assert sorted(ran) == [("left", [0]), ("right", [5])]


def test_a_busy_board_refuses_the_whole_call_before_any_part_runs(stack):
    control = _sims(stack, timeout=0.3)
    left = control.boards[0]
    ran = []
    with left.hold():
        started = time.monotonic()
        with pytest.raises(BoardUnavailable, match=r'board "left" .*busy'):
            control.on_boards([5, 1], lambda board, outlets: ran.append(board.name))
        assert 0.25 < time.monotonic() - started < 0.3 + 0.5
    assert ran == []
    control.on_boards([5, 1], lambda board, outlets: ran.append((board.name, outlets)))
    assert sorted(ran) == [("left", [1]), ("right", [5])]
