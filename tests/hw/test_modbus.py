"""The Modbus TCP driver against pymodbus's own server on loopback."""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time

import pytest

from hw import BoardUnavailable, HardwareConfigError, build_controller
from hw.config import parse_config
from hw.drivers.modbus_emulator import ModbusEmulator
from hw.registry import MissingExtra
from tests.support import wait_for

TIMEOUT = 1.0
POLL = 0.05
READ_COILS, WRITE_COIL, WRITE_COILS = 1, 5, 15


def entry(emu: ModbusEmulator, name: str = "io", **settings) -> dict:
    board = {"name": name, "driver": "modbus", "host": "127.0.0.1", "port": emu.port, "unit": emu.unit}
    return {**board, "relays": emu.count, "timeout": TIMEOUT, **settings}


@pytest.fixture
def module(stack):
    """Start emulated modules: module(coils=8, unit=1); each is closed after the test."""
    return lambda coils=8, **options: stack.enter_context(ModbusEmulator(coils, **options))


@pytest.fixture
def boards(stack):
    """Build and start a Controller of these board tables: boards(tables, targets)."""

    def make(tables: list[dict], targets: list[bool]):
        built = stack.enter_context(build_controller({"poll_interval": POLL, "boards": tables}))
        built.start(targets)
        return built

    return make


def test_targets_are_written_at_start_and_a_switch_is_read_back(module, boards):
    emu = module(8)
    hw = boards([entry(emu)], [True, False] * 4)
    assert emu.coils == [True, False] * 4
    assert WRITE_COILS in [code for code, _, _ in emu.requests]
    del emu.requests[:]
    hw.set_outlet(1, True)
    assert emu.coils[1] is True
    assert hw.physical_states()[1] is True
    codes = [code for code, _, _ in emu.requests]
    write = codes.index(WRITE_COIL)
    assert codes[write : write + 2] == [WRITE_COIL, READ_COILS]  # the write, then its read-back


def test_coil_base_shifts_outlets_along_the_coils(module, boards):
    emu = module(8)
    hw = boards([{**entry(emu), "relays": 4, "coil_base": 4}], [False] * 4)
    hw.set_outlet(0, True)
    hw.set_outlet(3, True)
    assert emu.coils == [False] * 4 + [True, False, False, True]


def test_a_stopped_module_fails_in_bounded_time_and_comes_back_with_its_targets(module, boards, caplog):
    emu = module(4)
    hw = boards([entry(emu), {"name": "side", "driver": "sim", "relays": 2}], [False] * 6)
    caplog.set_level(logging.INFO, logger="hw")
    emu.stop()
    started = time.monotonic()
    with pytest.raises(BoardUnavailable):
        hw.set_outlet(1, True)
    assert time.monotonic() - started < 2 * TIMEOUT + 0.5
    assert wait_for(lambda: hw.board_of(0).status == "offline", TIMEOUT * 3)
    started = time.monotonic()
    with pytest.raises(BoardUnavailable, match="offline"):
        hw.set_outlet(2, True)
    assert time.monotonic() - started < 0.5
    hw.set_outlet(5, True)  # the sim board keeps switching
    emu.start()
    assert wait_for(lambda: hw.board_of(0).status == "online", 5)
    # the switches refused while it was away are not carried out now (docs/hardware.md)
    assert emu.coils == [False, False, False, False]
    messages = [record.getMessage() for record in caplog.records]
    assert 'board "io" back online; re-applied configured states' in messages
    assert not any(m.startswith(("Outlet 2:", "Outlet 3:")) for m in messages)


def test_a_unit_the_module_is_not_answers_with_an_exception_and_stays_offline(module, boards):
    emu = module(4, unit=1)
    hw = boards([{**entry(emu), "unit": 7}], [False] * 4)
    assert hw.board_of(0).status == "offline"
    assert "unit answered exception" in hw.board_of(0).last_error


class DropFirstWriteReply:
    """A TCP relay in front of a module that loses the module's answer to the first write coil."""

    def __init__(self, port: int) -> None:
        self.upstream = ("127.0.0.1", port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.writes = 0
        self.dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        with client, socket.create_connection(self.upstream) as module:
            client.settimeout(0.1)
            module.settimeout(0.1)
            drop = False
            while not self._stop.is_set():
                try:
                    request = client.recv(260)
                    if not request:
                        return
                    if request[7] == WRITE_COIL:  # MBAP header is 7 bytes, then the function code
                        self.writes += 1
                        drop = self.writes == 1
                    module.sendall(request)
                except TimeoutError:
                    pass
                except OSError:
                    return
                try:
                    reply = module.recv(260)
                except TimeoutError:
                    continue
                if drop:
                    drop = False
                    self.dropped += 1
                    continue
                client.sendall(reply)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.listener.close()


def test_a_write_whose_answer_is_lost_is_read_back_not_sent_again(module, boards, stack):
    emu = module(4)
    relay = DropFirstWriteReply(emu.port)
    stack.callback(relay.close)
    hw = boards([{**entry(emu), "port": relay.port, "timeout": 2.0}], [False] * 4)
    hw.set_outlet(2, True)
    assert relay.dropped == 1
    assert relay.writes == 1
    assert emu.coils == [False, False, True, False]
    assert hw.physical_states()[2] is True


CONFIG_ERRORS = [
    ({"host": ""}, "hardware.boards[0].host: must not be empty"),
    ({"unit": 248}, "hardware.boards[0].unit: must be 0 to 247, got 248"),
    ({"coil_base": -1}, "hardware.boards[0].coil_base: must be 0 to 65535, got -1"),
    ({"port": "502"}, "hardware.boards[0].port: must be an integer, got '502'"),
    ({"relays": 65}, "hardware.boards[0].relays: must be 1 to 64, got 65"),
    ({"url": "x"}, 'hardware.boards[0].url: unknown key for driver "modbus"'),
]


@pytest.mark.parametrize(("settings", "message"), CONFIG_ERRORS)
def test_config_errors_name_the_key(settings, message):
    with pytest.raises(HardwareConfigError) as refused:
        parse_config({"boards": [{"driver": "modbus", "host": "io.example", "relays": 8, **settings}]})
    assert message in str(refused.value)


def test_coils_past_the_last_address_are_refused_at_build():
    table = {"driver": "modbus", "host": "io.example", "relays": 8, "coil_base": 65530}
    with pytest.raises(HardwareConfigError, match=r"hardware\.boards\[0\]\.coil_base: 65530 \+ 8 relays"):
        build_controller({"boards": [table]})


def test_a_config_naming_modbus_without_pymodbus_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pymodbus", None)  # as if powerctl[modbus] were not installed
    needs = r"boards\[0\]\.driver: driver \"modbus\" needs pymodbus, .* pip install 'powerctl\[modbus\]'"
    with pytest.raises(HardwareConfigError, match=needs) as refused:
        parse_config({"boards": [{"driver": "modbus", "host": "h", "relays": 8}]})
    assert isinstance(refused.value.__cause__, MissingExtra)
