"""Boards that answer late, never, garbled, or vanish: bounded failures and recovery."""

import logging
import threading
import time

import pytest

from hw import BoardProtocolError, BoardUnavailable
from tests.hw.helpers import TIMEOUT, deadline, numato_entry
from tests.support import wait_for

LATE = 0.5  # slack for thread scheduling on a loaded machine


def test_slow_board_fails_within_its_budget(emulator, controller):
    emu = emulator()
    control = controller({"boards": [numato_entry(emu, "left")]})
    emu.delay = 2.0
    started = time.monotonic()
    with pytest.raises(BoardUnavailable) as caught:
        control.set_outlet(3, True)
    assert time.monotonic() - started < TIMEOUT + LATE
    assert str(caught.value) == (f'board "left" ({emu.path}): no reply to "relay on 3" within {TIMEOUT} s')
    assert caught.value.board == "left"


def test_silent_board_fails_within_its_budget(emulator, board):
    emu = emulator()
    numato = board(emu)
    emu.drop_replies = True
    started = time.monotonic()
    with pytest.raises(BoardUnavailable, match='no reply to "relay readall"'):
        numato.read_states(deadline())
    assert time.monotonic() - started < TIMEOUT + LATE


def test_one_garbled_reply_is_retried(emulator, board):
    emu = emulator()
    numato = board(emu)
    emu.garble_next(1)
    numato.set_relay(2, True, deadline())
    assert emu.relays[2]
    assert emu.commands[1:] == ["relay on 2", "relay on 2", "relay read 2"]


def test_persistent_garbage_is_a_protocol_error_after_the_retries(emulator, board):
    emu = emulator()
    numato = board(emu, retries=2)
    emu.garble_next(100)
    started = time.monotonic()
    with pytest.raises(BoardProtocolError, match=r'"relay readall" after 3 attempts: echo'):
        numato.read_states(deadline())
    assert time.monotonic() - started < TIMEOUT + LATE
    assert emu.commands[1:] == ["relay readall"] * 3


def test_persistent_garbage_reaches_the_caller_and_the_board_stays_online(emulator, controller):
    emu = emulator()
    # A long poll interval keeps the monitor from tripping over the garbage first.
    control = controller({"poll_interval": 60, "boards": [numato_entry(emu)]})
    emu.garble_next(100)
    with pytest.raises(BoardProtocolError):
        control.set_outlet(1, True)
    assert control.boards[0].status == "online"
    assert "unexpected reply" in control.boards[0].last_error
    assert control.targets()[1] is False  # the switch failed: nothing to carry out later


def test_unplugged_board_goes_offline_and_then_fails_at_once(emulator, controller, caplog):
    emu = emulator()
    control = controller({"boards": [numato_entry(emu, "left")]})
    control.set_outlet(0, True)
    handle = control.boards[0]
    with caplog.at_level(logging.WARNING, logger="hw"):
        emu.vanish()
        assert wait_for(lambda: handle.status == "offline")
        time.sleep(0.2)  # several failed reconnects, which must not log again
    offline = [r for r in caplog.records if "board offline" in r.getMessage()]
    assert len(offline) == 1
    assert 'board "left"' in offline[0].getMessage()

    started = time.monotonic()
    with pytest.raises(BoardUnavailable, match=r'board "left" .*: offline: '):
        control.set_outlet(1, True)
    assert time.monotonic() - started < 0.1
    assert handle.last_error.startswith(f'board "left" ({emu.path}): ')
    assert control.physical_states()[0] is True  # the last report is kept
    assert control.targets()[:2] == [True, False]  # the refused switch is not kept for later


def test_replugged_board_is_reopened_and_gets_its_targets_back(emulator, controller, caplog):
    emu = emulator()
    control = controller({"boards": [numato_entry(emu, "left")]}, targets=[True] + [False] * 7)
    assert emu.relays[0]
    emu.vanish()
    handle = control.boards[0]
    assert wait_for(lambda: handle.status == "offline")
    with pytest.raises(BoardUnavailable):
        control.set_outlet(5, True)
    with caplog.at_level(logging.INFO, logger="hw"):
        emu.come_back()  # a fresh pty, every relay off, behind the same path
        assert wait_for(lambda: handle.status == "online")
    assert emu.relays == control.targets() == [True] + [False] * 7  # not the refused outlet 5
    assert control.physical_states() == control.targets()
    messages = [r.getMessage() for r in caplog.records]
    assert 'board "left" back online; re-applied configured states' in messages
    assert "Outlet 1: Physical state set to Off by relay hardware" in messages
    assert "Outlet 1: Physical state set to On by relay hardware" in messages
    control.set_outlet(5, False)
    assert not emu.relays[5]


def test_a_switch_that_failed_is_not_carried_out_when_the_board_returns(emulator, controller):
    emu = emulator()
    control = controller({"poll_interval": 0.5, "boards": [numato_entry(emu, "left")]}, [True] * 8)
    handle = control.boards[0]
    polls = emu.commands.count("relay readall")
    assert wait_for(lambda: emu.commands.count("relay readall") > polls)  # the next is 0.5 s away
    emu.drop_replies = True  # silent: "relay off 2" reaches the relay, its answer never comes
    with pytest.raises(BoardUnavailable):
        control.set_outlet(2, False)
    assert control.targets() == [True] * 8
    assert wait_for(lambda: handle.status == "offline")
    with pytest.raises(BoardUnavailable, match="offline"):
        control.set_outlet(3, False)
    assert control.targets() == [True] * 8
    assert emu.relays[2] is False
    emu.drop_replies = False
    assert wait_for(lambda: handle.status == "online")
    assert emu.relays == control.targets() == control.physical_states() == [True] * 8


def test_a_returning_board_gets_what_restore_says_and_each_switch_is_reported(emulator, controller):
    emu = emulator(relays=4)
    heard = []
    control = controller(
        {"boards": [numato_entry(emu, "left")]},
        [True, False, True, False],
        restore=lambda outlets: [index in (0, 1) for index in outlets],
        reapplied=lambda *args: heard.append(args),
    )
    assert emu.relays == [True, False, True, False] and heard == []  # start applies the targets
    emu.vanish()
    assert wait_for(lambda: control.boards[0].status == "offline")
    emu.come_back()  # every relay off
    assert wait_for(lambda: control.boards[0].status == "online")
    assert emu.relays == control.targets() == [True, True, False, False]
    assert heard == [("left", {0: True, 1: True}, "back online")]


def test_a_garbled_switch_is_undone_by_the_next_round(emulator, controller):
    emu = emulator()
    heard = []
    config = {"poll_interval": 0.5, "boards": [numato_entry(emu, "left")]}
    control = controller(config, reapplied=lambda *args: heard.append(args))
    polls = emu.commands.count("relay readall")
    assert wait_for(lambda: emu.commands.count("relay readall") > polls)  # the next is 0.5 s away
    emu.garble_next(3)  # every attempt of "relay on 1"; each reaches the relay
    with pytest.raises(BoardProtocolError):
        control.set_outlet(1, True)
    assert control.targets()[1] is False
    assert emu.relays[1] is True
    assert wait_for(lambda: emu.relays[1] is False)
    assert control.boards[0].status == "online"
    assert heard == [("left", {1: False}, "undoing a failed switch")]


def test_a_slow_board_that_answers_within_its_timeout_comes_online(emulator, controller):
    emu = emulator()
    emu.delay = 0.6  # each answer; a reopen is five exchanges, a switch two
    meter = {"id": "adc.1", "channel": 1}
    entry = numato_entry(emu, "slow", timeout=2.0, meters=[meter])
    control = controller({"poll_interval": 0.5, "boards": [entry]}, [True] * 8)
    handle = control.boards[0]
    assert wait_for(lambda: handle.status == "online", 6.0), handle.last_error
    assert emu.relays == [True] * 8
    control.set_outlet(4, False)
    assert emu.relays[4] is False
    polls = emu.commands.count("relay readall")
    assert wait_for(lambda: emu.commands.count("relay readall") >= polls + 2, 6.0)
    assert handle.status == "online"


def test_board_missing_at_start_is_offline_until_it_appears(emulator, controller, tmp_path):
    link = tmp_path / "ttyACM0"
    entry = {"name": "late", "driver": "numato", "url": str(link), "timeout": TIMEOUT}
    started = time.monotonic()
    control = controller({"boards": [entry]}, targets=[False, True] + [False] * 6)
    assert time.monotonic() - started < TIMEOUT + LATE
    handle = control.boards[0]
    assert handle.status == "offline"
    assert "cannot open port" in handle.last_error
    assert control.physical_states() == [None] * 8
    assert all(r.value is None for r in control.read_meters().values())

    emu = emulator(link=link)
    assert wait_for(lambda: handle.status == "online")
    assert emu.relays == [False, True] + [False] * 6


def test_a_board_that_is_down_does_not_slow_the_other(emulator, controller):
    good, bad = emulator(), emulator()
    control = controller({"boards": [numato_entry(good, "good"), numato_entry(bad, "bad", timeout=1.0)]})
    bad.delay = 5.0
    stuck = threading.Thread(target=_expect_unavailable, args=(control, 8))
    stuck.start()
    try:
        time.sleep(0.05)  # the bad board's lock is now held for its whole budget
        for outlet in range(8):
            started = time.monotonic()
            control.set_outlet(outlet, True)
            assert time.monotonic() - started < 0.1
            started = time.monotonic()
            control.physical_states()
            control.read_meters()
            assert time.monotonic() - started < 0.01
        assert good.relays == [True] * 8
    finally:
        stuck.join()


def _expect_unavailable(control, outlet):
    try:
        control.set_outlet(outlet, True)
    except BoardUnavailable:
        return
    raise AssertionError("the slow board answered")
