"""The hidrelay driver: through hw and through the gateway.

This machine has no USB and no uhid, so the suite runs against an in-process device object
(tests/hw/hidfake.py) that implements the hidapi calls the driver makes: the one seam without
a real part. `pytest --real-hardware tests/hw/test_hidrelay.py` runs the tests marked for it
against a plugged dcttech USBRelay board through the real hidapi (`powerctl[hid]`), leaving its
relays off; the fault tests need the fake, since they unplug the board.
"""

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hw.drivers.hidrelay import HidRelayBoard, parse_report, report
from hw.errors import BoardProtocolError, BoardUnavailable, HardwareConfigError
from hw.factory import build_controller
from tests.hw import hidfake
from tests.hw.helpers import TIMEOUT, deadline
from tests.support import Api, wait_for

FORM = {"content_type": "application/x-www-form-urlencoded"}
ROOT = Path(__file__).resolve().parents[2]
HAVE_HIDAPI = importlib.util.find_spec("hid") is not None


@pytest.fixture
def bus():
    """A fake bus with one 4-relay board."""
    fake = hidfake.FakeBus()
    fake.add(serial="QAAMZ", relays=4)
    return fake


@pytest.fixture(params=["fake", "real"])
def target(request, bus):
    """(backend, relay count) for the suite: the fake board, or with --real-hardware a plugged one."""
    if request.param == "fake":
        return bus, 4
    if not request.config.getoption("--real-hardware"):
        pytest.skip("needs --real-hardware and a plugged USBRelay board")
    if not HAVE_HIDAPI:
        pytest.skip("needs hidapi: pip install 'powerctl[hid]'")
    import hid

    found = [
        info
        for info in hid.enumerate(0x16C0, 0x05DF)
        if info.get("product_string", "").startswith("USBRelay")
    ]
    if not found:
        pytest.skip("no USBRelay board is plugged in")
    return hid, int(found[0]["product_string"].removeprefix("USBRelay"))


@pytest.fixture
def opened(stack):
    def make(backend, relays: int, **settings) -> HidRelayBoard:
        board = HidRelayBoard("hid", relays, timeout=TIMEOUT, backend=backend, **settings)
        stack.callback(board.close)
        board.open(deadline())
        stack.callback(lambda: board.write_states([False] * relays, deadline()) if board._device else None)
        return board

    return make


def test_reports_follow_the_dcttech_layout():
    assert report(0xFF, 3) == [0, 0xFF, 3, 0, 0, 0, 0, 0, 0]
    assert parse_report([0, *b"QAAMZ", 0, 0, 0b101]) == ("QAAMZ", 0b101)
    assert parse_report([*b"QAAMZ", 0, 0, 0b1]) == ("QAAMZ", 1)  # a stack that strips the report id
    with pytest.raises(ValueError):
        parse_report([0, 1, 2])


def test_switching_sends_the_report_and_reads_back(target, opened):
    backend, relays = target
    board = opened(backend, relays)
    board.set_relay(relays - 1, True, deadline())
    assert board.read_states(deadline()) == [False] * (relays - 1) + [True]
    board.write_states([True] * relays, deadline())
    assert board.read_states(deadline()) == [True] * relays
    board.set_relay(0, False, deadline())
    assert board.read_states(deadline())[0] is False


def test_the_fake_board_sees_dcttech_reports(bus, opened):
    board = opened(bus, 4)
    board.set_relay(2, True, deadline())
    assert bus.boards[0].reports[-1][:3] == [0, 0xFF, 3]
    board.set_relay(2, False, deadline())
    assert bus.boards[0].reports[-1][:3] == [0, 0xFD, 3]
    assert bus.boards[0].states == [False] * 4


def test_serial_picks_one_of_several_boards(bus, opened):
    other = bus.add(serial="ZZZ01", relays=2)
    with pytest.raises(BoardUnavailable, match=r"several USBRelay boards are plugged in \(QAAMZ, ZZZ01\)"):
        HidRelayBoard("hid", 2, backend=bus).open(deadline())
    board = opened(bus, 2, serial="ZZZ01")
    board.set_relay(1, True, deadline())
    assert other.states == [False, True] and bus.boards[0].mask == 0
    with pytest.raises(BoardUnavailable, match=r'board "ZZZ01" is a USBRelay2, but relays = 4'):
        HidRelayBoard("hid", 4, serial="ZZZ01", backend=bus).open(deadline())
    with pytest.raises(BoardUnavailable, match='no USBRelay board with serial "NOPE0"'):
        HidRelayBoard("hid", 2, serial="NOPE0", backend=bus).open(deadline())


def test_a_board_that_ignores_a_command_is_reported_not_resent(bus, opened):
    board = opened(bus, 4)
    bus.boards[0].ignore_writes = True
    with pytest.raises(BoardProtocolError, match="relay 1 did not switch"):
        board.set_relay(0, True, deadline())
    assert len(bus.boards[0].reports) == 1


def test_an_unplugged_board_is_unavailable_and_a_slow_one_is_past_its_deadline(bus, opened):
    board = opened(bus, 4)
    bus.boards[0].unplug()
    with pytest.raises(BoardUnavailable, match="read error"):
        board.read_states(deadline())
    with pytest.raises(BoardUnavailable, match="closed"):
        board.set_relay(0, True, deadline())
    bus.boards[0].plug()
    board.open(deadline())
    bus.boards[0].delay = TIMEOUT + 0.1
    started = time.monotonic()
    with pytest.raises(BoardUnavailable, match="took longer than"):
        board.read_states(deadline())
    assert time.monotonic() - started < 2 * TIMEOUT + 0.5


# A finder that hides hidapi, as a machine without the extra: nothing is uninstalled.
WITHOUT_HIDAPI = """
import sys

class Hide:
    def find_spec(self, name, path=None, target=None):
        if name == "hid":
            raise ModuleNotFoundError("No module named 'hid'", name="hid")

sys.meta_path.insert(0, Hide())
from hw import HardwareConfigError, build_controller
from hw.drivers.hidrelay import HidRelayBoard
from tests.hw.hidfake import FakeBus
try:
    build_controller({"boards": [{"driver": "hidrelay", "relays": 4}]})
except HardwareConfigError as exc:
    print(exc)
bus = FakeBus()
bus.add(relays=2)
board = HidRelayBoard("hid", 2, backend=bus)  # the seam works without the extra
board.open(1e12)
print(board.read_states(1e12))
"""


def test_without_hidapi_a_config_is_refused_naming_the_extra():
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_HIDAPI],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        'board "board0": hardware.boards[0].driver: driver "hidrelay" needs hid, which is not installed:'
        " pip install 'powerctl[hid]'",
        "[False, False]",
    ]


@pytest.mark.skipif(not HAVE_HIDAPI, reason="the hidrelay driver needs hidapi (powerctl[hid]) in a config")
def test_a_config_builds_a_board_without_opening_anything():
    with build_controller({"boards": [{"driver": "hidrelay", "relays": 2, "serial": "QAAMZ"}]}) as control:
        assert control.outlet_count == 2
    with pytest.raises(HardwareConfigError, match=r"hardware.boards\[0\].backend: cannot be loaded"):
        build_controller({"boards": [{"driver": "hidrelay", "backend": "tests.hw.nowhere:BUS"}]})


@pytest.fixture
def gateway(make_app):
    """Outlets 0-3 on a fake HID board (backend tests.hw.hidfake:BUS), 4-7 on a simulated one."""
    if not HAVE_HIDAPI:
        pytest.skip("the hidrelay driver needs hidapi (powerctl[hid]) in a config")
    hidfake.BUS.boards.clear()
    board = hidfake.BUS.add(serial="BENCH", relays=4)
    config = {
        "name": "bench",
        "driver": "hidrelay",
        "relays": 4,
        "timeout": 0.5,
        "backend": "tests.hw.hidfake:BUS",
    }
    app = make_app(hardware={"poll_interval": 0.05, "boards": [config, {"name": "side", "relays": 4}]})
    yield board, Api(app.test_client())
    hidfake.BUS.boards.clear()


def test_the_gateway_switches_a_hid_outlet_and_survives_an_unplugging(gateway):
    board, admin = gateway
    assert wait_for(lambda: board.states == [True] * 4)
    assert admin.put("/restapi/relay/outlets/2/state/", data="value=false", **FORM).status_code == 204
    assert board.states == [True, True, False, True]
    assert admin.get("/restapi/relay/outlets/2/physical_state/").json is False
    board.unplug()
    started = time.monotonic()
    response = admin.put("/restapi/relay/outlets/1/state/", data="value=false", **FORM)
    assert response.status_code == 503
    assert time.monotonic() - started < 0.5 * 3 + 1.0
    assert 'board "bench"' in response.json["message"]
    assert admin.put("/restapi/relay/outlets/5/state/", data="value=false", **FORM).status_code == 204
    board.plug()  # every relay off
    assert wait_for(lambda: board.states == [True, True, False, True], timeout=5)
    assert wait_for(
        lambda: admin.put("/restapi/relay/outlets/0/state/", data="value=false", **FORM).status_code == 204
    )
    assert board.states[0] is False


def test_clones_sharing_a_serial_are_refused_and_open_failures_are_named(bus):
    bus.add(serial="QAAMZ", relays=4)
    with pytest.raises(BoardUnavailable, match='several USBRelay boards have the serial "QAAMZ"'):
        HidRelayBoard("hid", 4, backend=bus).open(deadline())
    bus.boards[:] = [bus.boards[0]]
    bus.extra.append({"path": b"elsewhere", "product_string": "USBRelay2"})  # cannot be opened
    bus.boards[0].unplug()
    with pytest.raises(
        BoardUnavailable, match=r"no USBRelay board is plugged in \(open failed: open failed\)"
    ):
        HidRelayBoard("hid", 4, backend=bus).open(deadline())
