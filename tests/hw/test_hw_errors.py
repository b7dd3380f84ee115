"""The exception tree: rooted in OSError, naming the board, surviving pickling."""

import pickle

import pytest

from hw import BoardProtocolError, BoardUnavailable, HardwareConfigError, HardwareError


@pytest.mark.parametrize("kind", [BoardUnavailable, BoardProtocolError, HardwareConfigError])
def test_every_error_is_a_hardware_error_and_an_oserror(kind):
    assert issubclass(kind, HardwareError)
    assert issubclass(kind, OSError)


def test_message_names_board_and_url():
    error = BoardUnavailable('no reply to "relay on 3" within 2.0 s', "left", "socket://h:7000")
    assert str(error) == 'board "left" (socket://h:7000): no reply to "relay on 3" within 2.0 s'
    assert (error.board, error.url, error.message) == ("left", "socket://h:7000", error.message)
    assert str(BoardUnavailable("closed", "left")) == 'board "left": closed'
    assert str(BoardUnavailable("no board")) == "no board"
    assert BoardUnavailable("x").board is None


def test_errors_survive_pickling():
    error = BoardProtocolError("garbled", "left", "/dev/ttyACM0")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.board) == (BoardProtocolError, str(error), "left")
