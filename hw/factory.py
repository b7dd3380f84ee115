"""build_controller: from the [hardware] table to a Controller with its boards."""

from collections import Counter
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError

from . import registry
from .board import Board
from .config import parse_config
from .controller import Controller
from .errors import HardwareConfigError
from .settings import config_error


def build_controller(config: Mapping[str, Any] | None) -> Controller:
    """A Controller for the parsed [hardware] table; None or {} gives one default 8-relay board."""
    drivers = registry.Drivers()
    hardware = parse_config(config, drivers)
    boards: list[Board] = []
    meter_owner: dict[str, str] = {}
    ordinals: Counter[str] = Counter()
    for index, settings in enumerate(hardware.boards):
        try:
            board = drivers.lookup(settings.driver).build(settings, ordinals[settings.driver])
        except ValidationError as exc:
            raise config_error(exc, f"hardware.boards[{index}]", settings.name) from exc
        ordinals[settings.driver] += 1
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
