"""build_controller: from the [hardware] table to a Controller with its boards."""

from collections.abc import Mapping
from typing import Any

from .board import Board
from .config import BoardConfig, parse_config
from .controller import Controller
from .drivers.numato import NUMATO_MODELS
from .errors import HardwareConfigError
from .sim import SimBoard


def build_controller(config: Mapping[str, Any] | None) -> Controller:
    """A Controller for the parsed [hardware] table; None or {} gives one 8-relay sim board."""
    hardware = parse_config(config)
    boards: list[Board] = []
    meter_owner: dict[str, str] = {}
    sim_buses = 0
    for index, settings in enumerate(hardware.boards):
        if settings.driver == "sim":
            board: Board = SimBoard(settings.name, settings.relays, bus=sim_buses)
            sim_buses += 1
        else:
            board = _numato(settings, index)
        for meter_id in board.idle_meters():
            if meter_id in meter_owner:
                message = (
                    f'hardware.boards[{index}].meters: id "{meter_id}" is already used'
                    f' by board "{meter_owner[meter_id]}"'
                )
                raise HardwareConfigError(message, settings.name)
            meter_owner[meter_id] = settings.name
        boards.append(board)
    return Controller(boards, poll_interval=hardware.poll_interval)


def _numato(settings: BoardConfig, index: int) -> Board:
    try:
        return NUMATO_MODELS[settings.relays].from_url(
            settings.url,
            name=settings.name,
            timeout=settings.timeout,
            retries=settings.retries,
            baudrate=settings.baudrate,
            meters=settings.meters,
        )
    except ValueError as exc:  # pyserial: unknown URL scheme or unusable port settings
        message = f"hardware.boards[{index}].url: {exc}"
        raise HardwareConfigError(message, settings.name) from exc
