"""Hardware for powerctl: relay boards, their meters, and the controller the app talks to."""

from .board import Board
from .controller import Controller
from .errors import BoardProtocolError, BoardUnavailable, HardwareConfigError, HardwareError
from .factory import build_controller
from .handle import BoardHandle, Held
from .meters import AdcMeter, MeterReading

__all__ = [
    "AdcMeter",
    "Board",
    "BoardHandle",
    "BoardProtocolError",
    "BoardUnavailable",
    "Controller",
    "HardwareConfigError",
    "HardwareError",
    "Held",
    "MeterReading",
    "build_controller",
]
