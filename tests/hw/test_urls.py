"""Ports are opened only through serial.serial_for_url, so any pyserial URL works."""

import ast
import pathlib
import socket
import time

import pytest

import hw
from hw import BoardUnavailable
from hw.drivers.numato import NUMATO_MODELS
from tests.hw.helpers import TIMEOUT, deadline


def test_spy_url_wraps_the_emulated_port(emulator, capsys):
    emu = emulator()
    numato = NUMATO_MODELS[8].from_url(f"spy://{emu.path}", name="spied", timeout=TIMEOUT)
    try:
        numato.open(deadline())
        numato.set_relay(3, True, deadline())
    finally:
        numato.close()
    assert emu.relays[3]
    traffic = capsys.readouterr().err
    assert "TX" in traffic and "relay on 3" in traffic


def test_loop_url_opens_without_a_device_and_times_out_cleanly():
    # loop:// sends every byte straight back: an echo, but never a prompt.
    numato = NUMATO_MODELS[8].from_url("loop://", name="loop", timeout=0.2)
    started = time.monotonic()
    with pytest.raises(BoardUnavailable, match=r'board "loop" \(loop://\): no reply to ""'):
        numato.open(deadline(0.2))
    assert time.monotonic() - started < 0.5
    numato.close()


def test_socket_url_that_refuses_is_unavailable():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
    numato = NUMATO_MODELS[8].from_url(f"socket://127.0.0.1:{port}", name="net", timeout=0.5)
    with pytest.raises(BoardUnavailable, match="cannot open port"):
        numato.open(deadline(0.5))
    numato.close()


def test_a_tty_is_opened_exclusively(emulator, board):
    emu = emulator()
    board(emu)
    second = NUMATO_MODELS[8].from_url(emu.path, name="second", timeout=TIMEOUT)
    with pytest.raises(BoardUnavailable, match="exclusively lock"):
        second.open(deadline())
    second.close()


def test_no_module_builds_a_port_other_than_through_serial_for_url():
    for path in pathlib.Path(hw.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
                assert name not in ("Serial", "PosixPollSerial", "VTIMESerial"), path.name
