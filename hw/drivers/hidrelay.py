"""HID USB relays (`driver = "hidrelay"`): dcttech "USBRelayN" boards, VID 16C0 PID 05DF.

Through hidapi (`pip install 'powerctl[hid]'`, module `hid`), imported only when a board opens.
Feature report 0: `[0, FF, n]` switches relay n (1-based) on, `[0, FD, n]` off (hidapi takes the
report id as the first byte; the driver pads the report to its 8 data bytes). GET_REPORT
(`get_feature_report(0, 9)`) answers 8 data bytes: 0-4 the board's serial (ASCII), 7 the relay
bitmask. There is no emulator: tests use an in-process device (tests/hw/hidfake.py).
"""

import pkgutil
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from marshmallow import ValidationError

from ..board import Board
from ..config import BoardConfig
from ..errors import BoardProtocolError, BoardUnavailable
from ..meters import MeterReading
from ..registry import Driver, import_extra, relay_sizes
from ..settings import Number, Settings, String, not_empty, positive

VENDOR_ID = 0x16C0
PRODUCT_ID = 0x05DF
SIZES = (1, 2, 4, 8)
REPORT_ID = 0
DATA_SIZE = 8
ON, OFF = 0xFF, 0xFD
EXTRA = "powerctl[hid]"
PRODUCT = re.compile(r"USBRelay(\d+)")


class HidDevice(Protocol):
    """The calls the driver makes on a hidapi `hid.device()`."""

    def open_path(self, path: bytes) -> None: ...
    def send_feature_report(self, data: Sequence[int]) -> int: ...
    def get_feature_report(self, report_num: int, max_length: int) -> list[int]: ...
    def close(self) -> None: ...


class HidBackend(Protocol):
    """What the driver needs of the hidapi module: `enumerate` and `device` (the `hid` module is one)."""

    def enumerate(self, vendor_id: int, product_id: int) -> list[dict[str, Any]]: ...
    def device(self) -> HidDevice: ...


def hidapi() -> HidBackend:
    """The hidapi module, or MissingExtra naming powerctl[hid]."""
    return import_extra("hidrelay", "hid", EXTRA)


def report(command: int, relay: int) -> list[int]:
    """The feature report that switches relay (1-based): report id, command, relay, padding."""
    return [REPORT_ID, command, relay] + [0] * (DATA_SIZE - 2)


def parse_report(reply: Sequence[int]) -> tuple[str, int]:
    """(serial, relay bitmask) from a GET_REPORT answer, with or without its report id byte."""
    data = list(reply)
    if len(data) == DATA_SIZE + 1:
        data = data[1:]
    if len(data) != DATA_SIZE:
        raise ValueError(f"expected {DATA_SIZE} data bytes, got {len(data)}")
    serial = bytes(data[:5]).split(b"\0", 1)[0].decode("ascii", "replace")
    return serial, data[7]


class HidRelayBoard(Board):
    """A dcttech USB HID relay board; `backend` is hidapi's module or anything with its calls."""

    def __init__(
        self,
        name: str,
        relay_count: int,
        *,
        serial: str | None = None,
        timeout: float = 1.0,
        backend: HidBackend | Callable[[], HidBackend] = hidapi,
    ) -> None:
        if relay_count not in SIZES:
            raise ValueError(f"HID relay boards have 1, 2, 4, 8 relays, not {relay_count}")
        self.name = name
        self.relay_count = relay_count
        self.serial = serial
        self.timeout = timeout
        self.url = f"hid://{VENDOR_ID:04x}:{PRODUCT_ID:04x}/{serial or '*'}"
        self._backend = backend
        self._device: HidDevice | None = None

    def open(self, deadline: float) -> None:
        self.close()
        backend = self._backend() if callable(self._backend) else self._backend
        found = self._call(lambda: backend.enumerate(VENDOR_ID, PRODUCT_ID), "enumerate", deadline)
        boards: dict[str, HidDevice] = {}
        sizes: dict[str, int] = {}
        refused: list[str] = []  # why a matching device could not be opened or read
        try:
            for info in found:
                product = PRODUCT.fullmatch(info.get("product_string") or "")
                if product is None:
                    continue
                device = backend.device()
                try:
                    self._call(partial(device.open_path, info["path"]), "open", deadline)
                    serial, _ = self._read(device, deadline)
                except (BoardUnavailable, BoardProtocolError) as exc:
                    device.close()
                    refused.append(exc.message)
                    continue
                if serial in boards:  # clones that share one serial cannot be told apart
                    device.close()
                    message = f'several USBRelay boards have the serial "{serial}"'
                    raise BoardUnavailable(message, self.name, self.url)
                if self.serial in (None, serial):
                    boards[serial] = device
                    sizes[serial] = int(product.group(1))
                else:
                    device.close()
            if not boards:
                wanted = f'with serial "{self.serial}" ' if self.serial else ""
                why = f" ({'; '.join(refused)})" if refused else ""
                raise BoardUnavailable(f"no USBRelay board {wanted}is plugged in{why}", self.name, self.url)
            if len(boards) > 1:
                listed = ", ".join(sorted(boards))
                message = f"several USBRelay boards are plugged in ({listed}): set serial to pick one"
                raise BoardUnavailable(message, self.name, self.url)
            serial, size = next(iter(sizes.items()))
            if size != self.relay_count:
                message = f'board "{serial}" is a USBRelay{size}, but relays = {self.relay_count}'
                raise BoardUnavailable(message, self.name, self.url)
        except BaseException:
            for device in boards.values():
                device.close()
            raise
        self._device = next(iter(boards.values()))

    def close(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            try:
                device.close()
            except OSError:
                pass  # already gone with its USB device

    def read_states(self, deadline: float) -> list[bool]:
        _, mask = self._read(self._open_device(), deadline)
        return [bool(mask >> i & 1) for i in range(self.relay_count)]

    def write_states(self, states: Sequence[bool], deadline: float) -> None:
        device = self._open_device()
        for index, on in enumerate(states):
            self._send(device, index, bool(on), deadline)
        found = self.read_states(deadline)
        if found != list(states):
            differ = ", ".join(str(i + 1) for i, on in enumerate(states) if found[i] != on)
            raise BoardProtocolError(f"relays {differ} did not switch", self.name, self.url)

    def set_relay(self, index: int, on: bool, deadline: float) -> None:
        if not 0 <= index < self.relay_count:
            raise IndexError(f"relay index {index} out of range")
        self._send(self._open_device(), index, on, deadline)
        # Read back, and report a board that ignored the command; never resend it blindly.
        if self.read_states(deadline)[index] != on:
            raise BoardProtocolError(f"relay {index + 1} did not switch", self.name, self.url)

    def read_meters(self, deadline: float) -> dict[str, MeterReading]:
        return {}

    def idle_meters(self) -> dict[str, MeterReading]:
        return {}

    def _open_device(self) -> HidDevice:
        if self._device is None:
            raise BoardUnavailable("device is closed", self.name, self.url)
        return self._device

    def _send(self, device: HidDevice, index: int, on: bool, deadline: float) -> None:
        data = report(ON if on else OFF, index + 1)
        written = self._call(lambda: device.send_feature_report(data), "send_feature_report", deadline)
        if written is not None and written < 0:
            self._fail(f"send_feature_report returned {written}")

    def _read(self, device: HidDevice, deadline: float) -> tuple[str, int]:
        reply = self._call(
            lambda: device.get_feature_report(REPORT_ID, DATA_SIZE + 1), "get_feature_report", deadline
        )
        try:
            return parse_report(reply)
        except ValueError as exc:
            raise BoardProtocolError(f"unexpected feature report: {exc}", self.name, self.url) from exc

    def _call(self, call: Callable[[], Any], what: str, deadline: float) -> Any:
        """One hidapi call; a failure or a call that ran past the deadline takes the board offline."""
        try:
            result = call()
        except (OSError, ValueError) as exc:  # hidapi raises both for a vanished or refused device
            self._fail(f"{what} failed: {exc}")
        if time.monotonic() > deadline:
            self._fail(f"{what} took longer than {self.timeout:g} s")
        return result

    def _fail(self, message: str):
        self.close()
        raise BoardUnavailable(message, self.name, self.url)


@dataclass(frozen=True)
class HidRelaySettings:
    serial: str | None = None
    timeout: float = 1.0
    backend: str | None = None


class HidRelaySchema(Settings):
    model = HidRelaySettings

    serial = String(load_default=None, validate=not_empty)
    timeout = Number(load_default=1.0, validate=positive)
    # "module:object" giving hidapi's calls instead of the hid module (tests, other stacks).
    backend = String(load_default=None, validate=not_empty)


def build(config: BoardConfig, ordinal: int) -> HidRelayBoard:
    """A board found by serial (or the only one plugged in) when it opens; nothing is opened yet."""
    settings: HidRelaySettings = config.settings
    backend: HidBackend | Callable[[], HidBackend] = hidapi
    if settings.backend is not None:
        try:
            backend = pkgutil.resolve_name(settings.backend)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ValidationError({"backend": [f"cannot be loaded: {exc}"]}) from exc
    return HidRelayBoard(
        config.name, config.relays, serial=settings.serial, timeout=settings.timeout, backend=backend
    )


DRIVER = Driver(
    summary="HID USB relays (dcttech USBRelay1/2/4/8, 16c0:05df), through hidapi",
    build=build,
    relays=relay_sizes(SIZES, "HID relay boards"),
    settings=HidRelaySchema(),
    needs={"hid": EXTRA},
)
