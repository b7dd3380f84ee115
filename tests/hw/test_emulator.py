"""The emulator answers byte for byte like the module, and runs as a command."""

import os
import select
import signal
import subprocess
import sys
import time

import pytest

from hw import BoardProtocolError, BoardUnavailable
from hw.drivers.numato import NUMATO_MODELS
from hw.drivers.numato_emulator import NumatoEmulator
from tests.hw.helpers import TIMEOUT, deadline


def exchange(path: str, data: bytes, timeout: float = 1.0) -> bytes:
    """Write raw bytes to the pty and read until the prompt."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, data)
        received = b""
        end = time.monotonic() + timeout
        while not received.endswith(b">") and time.monotonic() < end:
            if select.select([fd], [], [], 0.05)[0]:
                received += os.read(fd, 256)
        return received
    finally:
        os.close(fd)


def test_answers_byte_for_byte_like_the_module(emulator):
    emu = emulator()
    emu.relays[0] = True
    assert exchange(emu.path, b"relay read 0\r") == b"relay read 0\n\ron\n\r>"
    assert exchange(emu.path, b"relay on 1\r") == b"relay on 1\n\r>"
    assert exchange(emu.path, b"relay readall\r") == b"relay readall\n\r03\n\r>"
    assert exchange(emu.path, b"\r") == b"\n\r>"
    assert exchange(emu.path, b"relay on 9\r") == b"relay on 9\n\r>"  # no such relay: ignored
    assert emu.relays[:2] == [True, True] and not any(emu.relays[2:])
    assert emu.commands == ["relay read 0", "relay on 1", "relay readall", "", "relay on 9"]


def test_vanish_and_come_back_keep_the_path(emulator):
    emu = emulator()
    path, first = emu.path, emu.device
    emu.relays[4] = True
    emu.vanish()
    assert not os.path.lexists(path)
    emu.come_back()
    assert os.path.realpath(path) == emu.device
    assert emu.relays == [False] * 8  # a module powers up with every relay off
    assert exchange(path, b"ver\r") == b"ver\n\r00000008\n\r>"
    assert first.startswith("/dev/pts/")


def test_dropped_replies_are_counted_down(emulator):
    emu = emulator()
    emu.drop_replies = 1
    assert exchange(emu.path, b"ver\r", timeout=0.2) == b""
    assert exchange(emu.path, b"ver\r") == b"ver\n\r00000008\n\r>"


def test_only_supported_module_sizes():
    with pytest.raises(ValueError, match="not 3"):
        NumatoEmulator(3)


def run(*flags: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "hw.emulator", "numato", *flags]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_command_prints_the_pty_serves_until_signalled_and_cleans_up(tmp_path, stop):
    link = tmp_path / "ttyACM0"
    process = run("--relays", "16", "--link", str(link))
    try:
        device = process.stdout.readline().strip()
        assert device.startswith("/dev/pts/")
        assert os.path.realpath(link) == device
        numato = NUMATO_MODELS[16].from_url(str(link), name="cli", timeout=1.0)
        try:
            numato.open(deadline(1.0))
            numato.set_relay(15, True, deadline(1.0))
            assert numato.read_states(deadline(1.0))[15]
        finally:
            numato.close()
    finally:
        process.send_signal(stop)
        _, errors = process.communicate(timeout=5)
    assert process.returncode == 0, errors
    assert not os.path.lexists(link)


def test_command_flags_mirror_the_knobs(tmp_path):
    process = run("--garble-every", "1", "--link", str(tmp_path / "garbled"))
    try:
        process.stdout.readline()
        numato = NUMATO_MODELS[8].from_url(str(tmp_path / "garbled"), name="g", timeout=TIMEOUT)
        numato.open(deadline())  # the empty line's answer has nothing to garble
        with pytest.raises(BoardProtocolError):
            numato.read_states(deadline())
        numato.close()
    finally:
        process.terminate()
        process.communicate(timeout=5)

    process = run("--drop", "--link", str(tmp_path / "silent"))
    try:
        process.stdout.readline()
        numato = NUMATO_MODELS[8].from_url(str(tmp_path / "silent"), name="s", timeout=TIMEOUT)
        with pytest.raises(BoardUnavailable, match="no reply"):
            numato.open(deadline())
        numato.close()
    finally:
        process.terminate()
        process.communicate(timeout=5)
