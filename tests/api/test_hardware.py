"""The gateway over a real serial board (the emulator on a pty) beside a simulated one."""

from __future__ import annotations

import threading
import time

import pytest

from hw.drivers.numato_emulator import NumatoEmulator
from tests.support import Api, wait_for

FORM = {"content_type": "application/x-www-form-urlencoded"}


@pytest.fixture
def emu():
    with NumatoEmulator(4) as board:
        yield board


@pytest.fixture
def gateway(emu, make_app):
    """Outlets 0-3 on the emulated Numato board, 4-7 on a simulated one."""
    app = make_app(
        hardware={
            "poll_interval": 0.05,
            "boards": [
                {"name": "bench", "driver": "numato", "url": emu.path, "relays": 4, "timeout": 0.5},
                {"name": "side", "driver": "sim", "relays": 4},
            ],
        }
    )
    return app, Api(app.test_client())


def test_configured_states_reach_the_board_at_start(emu, gateway):
    assert emu.relays == [True] * 4


def test_switching_an_outlet_sends_the_relay_command(emu, gateway):
    _, admin = gateway
    assert admin.put("/restapi/relay/outlets/2/state/", data="value=false", **FORM).status_code == 204
    assert emu.relays == [True, True, False, True]
    assert "relay off 2" in emu.commands
    assert admin.get("/restapi/relay/outlets/2/physical_state/").json is False


def test_a_dead_board_answers_503_in_bounded_time_and_the_rest_keeps_serving(emu, gateway):
    _, admin = gateway
    emu.vanish()
    started = time.monotonic()
    response = admin.put("/restapi/relay/outlets/1/state/", data="value=false", **FORM)
    assert response.status_code == 503
    assert time.monotonic() - started < 1.5
    assert 'board "bench"' in response.json["message"]
    assert admin.get("/restapi/relay/outlets/1/state/").json is True  # nothing changed
    assert admin.get("/restapi/relay/outlets/1/physical_state/").json is True  # last reported
    assert admin.put("/restapi/relay/outlets/6/state/", data="value=false", **FORM).status_code == 204
    both = admin.put("/restapi/relay/outlets/=1,5/state/", data="value=false", **FORM)
    assert both.status_code == 503
    assert admin.get("/restapi/relay/outlets/5/state/").json is True  # no partial write


def test_a_returning_board_gets_the_configured_states_again(emu, gateway):
    _, admin = gateway
    admin.put("/restapi/relay/outlets/3/state/", data="value=false", **FORM)
    emu.vanish()
    assert wait_for(
        lambda: admin.put("/restapi/relay/outlets/0/state/", data="value=true", **FORM).status_code == 503
    )
    emu.come_back()  # a replugged board starts with every relay off
    assert wait_for(lambda: emu.relays == [True, True, True, False])
    assert admin.put("/restapi/relay/outlets/0/state/", data="value=false", **FORM).status_code == 204
    assert emu.relays[0] is False


def test_a_cycle_on_the_serial_board_goes_off_and_on(emu, gateway):
    _, admin = gateway
    admin.put("/restapi/relay/outlets/1/cycle_delay/", data="0.2", content_type="application/json")
    assert admin.post("/restapi/relay/outlets/1/cycle/").status_code == 200
    assert emu.relays[1] is False
    assert wait_for(lambda: emu.relays[1] is True)


def test_meters_of_the_sim_board_are_served_beside_the_serial_one(gateway):
    _, admin = gateway
    values = admin.get("/restapi/meter/values/").json
    assert "bus.0.voltage" in values


def test_a_refused_write_changes_nothing_and_the_return_is_audited(emu, make_app):
    bench = {"name": "bench", "driver": "numato", "url": emu.path, "relays": 4, "timeout": 0.5}
    app = make_app(hardware={"poll_interval": 0.3, "boards": [bench, {"name": "side", "relays": 4}]})
    admin = Api(app.test_client())
    polls = emu.commands.count("relay readall")
    assert wait_for(lambda: emu.commands.count("relay readall") > polls)  # the next is 0.3 s away
    emu.drop_replies = True  # silent: commands still reach the relays, their answers never come
    assert admin.put("/restapi/relay/outlets/1/state/", data="value=false", **FORM).status_code == 503
    assert emu.relays[1] is False  # the command got there; the gateway never heard back
    refused = admin.put("/restapi/relay/outlets/2/transient_state/", data="value=false", **FORM)
    assert refused.status_code == 503
    assert admin.get("/restapi/relay/outlets/=1,2/state/").json == [True, True]
    assert admin.get("/restapi/relay/outlets/=1,2/transient_state/").json == [True, True]
    emu.drop_replies = False  # the board answers again
    assert wait_for(lambda: emu.relays == [True] * 4)
    assert wait_for(lambda: admin.get("/restapi/relay/outlets/1/physical_state/").json is True)
    assert admin.get("/restapi/relay/outlets/=1,2/transient_state/").json == [True, True]
    lines = app.extensions["powerctl.audit"].tail(50)
    assert 'Outlet 2: Physical state set to On by relay hardware (board "bench" back online)' in lines
    assert not any("state set to Off" in line for line in lines), lines


@pytest.fixture
def slow_gateway(emu, make_app):
    """Outlets 0-3 on an emulated board answering in 0.3 s (timeout 1.0), 4-7 on a simulated one."""
    bench = {"name": "bench", "driver": "numato", "url": emu.path, "relays": 4, "timeout": 1.0}
    app = make_app(hardware={"poll_interval": 1.0, "boards": [bench, {"name": "side", "relays": 4}]})
    emu.delay = 0.3  # a switch and its read-back: 0.6 s
    return app


def _in_background(app, path: str) -> tuple[threading.Thread, dict]:
    """PUT value=false to path from another thread; the response lands in the dict."""
    result: dict = {}

    def run() -> None:
        result["response"] = Api(app.test_client()).put(path, data="value=false", **FORM)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_a_matrix_over_a_busy_board_is_refused_before_anything_switches(emu, slow_gateway):
    admin = Api(slow_gateway.test_client())
    blocker, _ = _in_background(slow_gateway, "/restapi/relay/outlets/=0,1,2/state/")  # 1.8 s
    try:
        assert wait_for(lambda: "relay off 0" in emu.commands)
        started = time.monotonic()
        refused = admin.put("/restapi/relay/outlets/=3,5/state/", data="value=false", **FORM)
        assert time.monotonic() - started < 1.0 + 0.5
    finally:
        blocker.join()
    assert refused.status_code == 503
    assert 'board "bench"' in refused.json["message"] and "busy" in refused.json["message"]
    assert admin.get("/restapi/relay/outlets/=3,5/state/").json == [True, True]
    assert admin.get("/restapi/relay/outlets/5/physical_state/").json is True
    assert "relay off 3" not in emu.commands
    lines = slow_gateway.extensions["powerctl.audit"].tail(50)
    assert not any(line.startswith(("Outlet 4:", "Outlet 6:")) for line in lines), lines


def test_a_matrix_over_two_boards_delays_neither_by_the_other(emu, slow_gateway):
    admin = Api(slow_gateway.test_client())
    matrix, result = _in_background(slow_gateway, "/restapi/relay/outlets/=0,1,4/state/")  # 1.2 s
    try:
        assert wait_for(lambda: "relay off 0" in emu.commands)
        started = time.monotonic()
        other = admin.put("/restapi/relay/outlets/6/state/", data="value=false", **FORM)
        elapsed = time.monotonic() - started
    finally:
        matrix.join()
    assert other.status_code == 204 and elapsed < 0.5, elapsed
    assert result["response"].status_code in (204, 207)
    assert admin.get("/restapi/relay/outlets/=0,1,4,6/physical_state/").json == [False] * 4


def test_locking_waits_a_bounded_time_for_a_switch_under_way(emu, slow_gateway):
    admin = Api(slow_gateway.test_client())
    switching, _ = _in_background(slow_gateway, "/restapi/relay/outlets/=0,1,2/state/")  # 1.8 s
    try:
        assert wait_for(lambda: "relay off 0" in emu.commands)
        started = time.monotonic()
        idle = admin.put("/restapi/relay/outlets/3/locked/", data="value=true", **FORM)
        assert idle.status_code == 204 and time.monotonic() - started < 0.5
        started = time.monotonic()
        busy = admin.put("/restapi/relay/outlets/2/locked/", data="value=true", **FORM)
        assert 0.9 < time.monotonic() - started < 1.0 + 0.5
    finally:
        switching.join()
    assert busy.status_code == 503 and "busy: outlet 2 was still being switched" in busy.json["message"]
    assert admin.get("/restapi/relay/outlets/=2,3/locked/").json == [False, True]
    assert emu.relays[:3] == [False] * 3
