"""An in-process stand-in for hidapi and dcttech USB HID relay boards.

This machine has no USB and no uhid, so the hidrelay driver is tested against this object:
the one seam without a real part. It implements exactly the hidapi calls the driver makes
(`enumerate`, `device()`, `open_path`, `send_feature_report`, `get_feature_report`, `close`),
with hidapi's conventions (report id first in a sent report and in an answer; OSError for a
device that is gone). `pytest --real-hardware` runs the same suite against a plugged board.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

VENDOR_ID, PRODUCT_ID = 0x16C0, 0x05DF


@dataclass
class FakeRelayBoard:
    """One USBRelayN board on the fake bus."""

    serial: str = "QAAMZ"
    relays: int = 4
    mask: int = 0
    plugged: bool = True
    ignore_writes: bool = False
    delay: float = 0.0  # seconds each call takes
    reports: list[list[int]] = field(default_factory=list)  # every feature report sent

    @property
    def states(self) -> list[bool]:
        return [bool(self.mask >> i & 1) for i in range(self.relays)]

    def unplug(self) -> None:
        self.plugged = False

    def plug(self) -> None:
        """Plug in again: every relay off, as after a power cycle."""
        self.mask = 0
        self.plugged = True


class FakeDevice:
    """What hid.device() returns."""

    def __init__(self, bus: FakeBus) -> None:
        self._bus = bus
        self._board: FakeRelayBoard | None = None

    def open_path(self, path: bytes) -> None:
        board = self._bus.at(path)
        if board is None or not board.plugged:
            raise OSError("open failed")
        self._board = board

    def _live(self) -> FakeRelayBoard:
        board = self._board
        if board is None:
            raise ValueError("not open")
        time.sleep(board.delay)
        if not board.plugged:
            raise OSError("read error")
        return board

    def send_feature_report(self, data: list[int]) -> int:
        board = self._live()
        board.reports.append(list(data))
        if len(data) > 9 or data[0] != 0:
            return -1
        command, relay = data[1], data[2]
        if command in (0xFF, 0xFD) and 1 <= relay <= board.relays and not board.ignore_writes:
            bit = 1 << (relay - 1)
            board.mask = board.mask | bit if command == 0xFF else board.mask & ~bit
        return len(data)

    def get_feature_report(self, report_num: int, max_length: int) -> list[int]:
        board = self._live()
        if report_num != 0:
            raise OSError("bad report id")
        serial = list(board.serial.encode("ascii")[:5].ljust(5, b"\0"))
        return [0, *serial, 0, 0, board.mask][:max_length]

    def close(self) -> None:
        self._board = None


class FakeBus:
    """What the hid module offers: enumerate() and device()."""

    def __init__(self) -> None:
        self.boards: list[FakeRelayBoard] = []
        self.extra: list[dict] = []  # other HID devices that share the VID/PID

    def add(self, **settings) -> FakeRelayBoard:
        board = FakeRelayBoard(**settings)
        self.boards.append(board)
        return board

    def at(self, path: bytes) -> FakeRelayBoard | None:
        for index, board in enumerate(self.boards):
            if path == f"fake/{index}".encode():
                return board
        return None

    def enumerate(self, vendor_id: int = 0, product_id: int = 0) -> list[dict]:
        assert (vendor_id, product_id) == (VENDOR_ID, PRODUCT_ID)
        found = [
            {
                "path": f"fake/{index}".encode(),
                "product_string": f"USBRelay{board.relays}",
                "serial_number": "",
            }
            for index, board in enumerate(self.boards)
            if board.plugged
        ]
        return found + self.extra

    def device(self) -> FakeDevice:
        return FakeDevice(self)


BUS = FakeBus()  # for configs naming backend = "tests.hw.hidfake:BUS"; tests reset it
