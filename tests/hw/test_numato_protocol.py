"""The Numato driver against the emulator over a real pty: commands, masks, meters."""

import pytest

from hw import AdcMeter, BoardProtocolError, MeterReading
from hw.drivers.numato import NUMATO_MODELS, relay_digit
from tests.hw.helpers import deadline


def test_relay_digits_run_0_to_9_then_A_to_V():
    assert [relay_digit(i) for i in (0, 9, 10, 15, 16, 31)] == ["0", "9", "A", "F", "G", "V"]
    with pytest.raises(IndexError):
        relay_digit(32)


def test_switch_on_and_off_and_read_back(emulator, board):
    emu = emulator(8)
    numato = board(emu)
    numato.set_relay(3, True, deadline())
    assert emu.relays == [False, False, False, True, False, False, False, False]
    assert numato.read_states(deadline()) == emu.relays
    numato.set_relay(3, False, deadline())
    assert not any(emu.relays)
    assert emu.commands == [
        "",
        "relay on 3",
        "relay read 3",
        "relay readall",
        "relay off 3",
        "relay read 3",
    ]


@pytest.mark.parametrize(
    ("relays", "last", "pattern"),
    [(8, "7", "aa"), (16, "F", "aaaa"), (32, "V", "aaaaaaaa")],
)
def test_masks_and_relay_letters_per_module_size(emulator, board, relays, last, pattern):
    emu = emulator(relays)
    numato = board(emu)
    assert type(numato) is NUMATO_MODELS[relays]
    numato.set_relay(relays - 1, True, deadline())
    assert f"relay on {last}" in emu.commands
    assert emu.relays[-1] and not any(emu.relays[:-1])

    odd = [i % 2 == 1 for i in range(relays)]
    numato.write_states(odd, deadline())
    assert f"relay writeall {pattern}" in emu.commands
    assert emu.relays == odd

    emu.relays[:] = [i in (0, relays - 1) for i in range(relays)]
    assert numato.read_states(deadline()) == emu.relays


def test_adc_read_maps_through_scale_and_offset(emulator, board):
    emu = emulator()
    emu.adc[1] = 1000
    emu.adc[2] = 512
    meters = [
        AdcMeter(
            "bus.0.voltage",
            1,
            scale=0.1,
            offset=20.0,
            unit="V",
            quantity="voltage",
            bus=0,
            name="Bus 0 voltage",
        ),
        AdcMeter("raw", 2),
    ]
    numato = board(emu, meters=meters)
    assert numato.read_meters(deadline()) == {
        "bus.0.voltage": MeterReading("Bus 0 voltage", 120.0, "V", 0, "voltage"),
        "raw": MeterReading("raw", 512.0, "", None, ""),
    }
    assert numato.idle_meters()["raw"].value is None
    assert emu.commands[-2:] == ["adc read 1", "adc read 2"]


def test_version_and_id(emulator, board):
    emu = emulator()
    emu.board_id = "12345678"
    numato = board(emu)
    assert numato.version(deadline()) == "00000008"
    assert numato.board_id(deadline()) == "12345678"


def test_open_sends_an_empty_line_to_clear_and_check_the_board(emulator, board):
    emu = emulator()
    board(emu)
    assert emu.commands == [""]


def test_reply_of_the_wrong_shape_is_a_protocol_error(emulator, board):
    emu = emulator(8)
    # A 16-relay driver on an 8-relay module: 'relay read C' gets no reply line.
    numato = NUMATO_MODELS[16].from_url(emu.path, name="wrong", timeout=0.3, retries=1)
    try:
        numato.open(deadline())
        with pytest.raises(BoardProtocolError, match=r'"relay read C" after 2 attempts'):
            numato.set_relay(12, True, deadline())
        with pytest.raises(BoardProtocolError, match="expected 4 hex digits, got '00'"):
            numato.read_states(deadline())
    finally:
        numato.close()
