"""Hardware for powerctl: relay boards, their meters, and the controller the app talks to."""

from .board import Board
from .controller import Controller
from .drivers.numato import NUMATO_MODELS, NumatoBoard
from .errors import BoardProtocolError, BoardUnavailable, HardwareConfigError, HardwareError
from .factory import build_controller
from .handle import BoardHandle
from .meters import AdcMeter, MeterReading
from .sim import SimBoard

__all__ = [
    "NUMATO_MODELS",
    "AdcMeter",
    "Board",
    "BoardHandle",
    "BoardProtocolError",
    "BoardUnavailable",
    "Controller",
    "HardwareConfigError",
    "HardwareError",
    "MeterReading",
    "NumatoBoard",
    "SimBoard",
    "build_controller",
]
