"""Modbus TCP relay modules (`driver = "modbus"`): outlet i is coil `coil_base + i` of one unit.

Through pymodbus's synchronous ModbusTcpClient: read coils (function 1), write single coil (5),
write multiple coils (15). The emulator, pymodbus's own server, is in modbus_emulator.py.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError

from ..board import Board
from ..config import BoardConfig
from ..errors import BoardProtocolError, BoardUnavailable
from ..meters import MeterReading
from ..registry import Driver, import_extra, relay_range
from ..settings import Integer, Number, Settings, String, between, not_empty, positive

MAX_RELAYS = 64
MAX_ADDRESS = 65535
MIN_WAIT = 0.05  # an attempt never waits less than this


def _on_off(on: bool) -> str:
    return "On" if on else "Off"


@dataclass(frozen=True)
class ModbusSettings:
    """A Modbus board's own keys, validated."""

    host: str
    port: int = 502
    unit: int = 1
    coil_base: int = 0
    timeout: float = 2.0
    retries: int = 2


class ModbusBoard(Board):
    """A relay module speaking Modbus TCP; one TCP connection, opened by open()."""

    def __init__(self, name: str, relay_count: int, settings: ModbusSettings) -> None:
        self.name = name
        self.relay_count = relay_count
        self.timeout = settings.timeout
        self.settings = settings
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        self.url = f"modbus://{host}:{settings.port}/{settings.unit}"
        self._attempts = settings.retries + 1
        self._attempt = settings.timeout / self._attempts  # seconds one request waits for its answer
        pymodbus = import_extra("modbus", "pymodbus.client", "powerctl[modbus]")
        self._errors = import_extra("modbus", "pymodbus.exceptions", "powerctl[modbus]")
        # pymodbus's own retries resend blindly; attempts are counted here, with a read-back.
        self._client = pymodbus.ModbusTcpClient(
            settings.host, port=settings.port, timeout=self._attempt, retries=0, reconnect_delay=0
        )

    def open(self, deadline: float) -> None:
        self._connect(deadline)
        self.read_states(deadline)  # the unit answers, and has these coils

    def close(self) -> None:
        self._client.close()

    def read_states(self, deadline: float) -> list[bool]:
        base, count = self.settings.coil_base, self.relay_count
        return self._retrying(lambda: self._read(base, count, deadline), deadline)

    def write_states(self, states: Sequence[bool], deadline: float) -> None:
        base, values = self.settings.coil_base, [bool(on) for on in states]
        what = f"write coils {base}-{base + len(values) - 1}"
        # Writing coils is idempotent: writing them again after a lost answer cannot harm.
        self._retrying(lambda: self._call(what, deadline, "write_coils", base, values), deadline)

    def set_relay(self, index: int, on: bool, deadline: float) -> None:
        address = self.settings.coil_base + index
        what = f"write coil {address} {_on_off(on)}"
        for attempt in range(self._attempts):
            try:
                self._call(what, deadline, "write_coil", address, on)
                break
            except BoardUnavailable as exc:
                if not isinstance(exc.__cause__, TimeoutError) or attempt == self._attempts - 1:
                    raise
            # The write or its answer was lost: read back before sending it again.
            self._connect(deadline)
            if self._read(address, 1, deadline) == [on]:
                return
        if self._read(address, 1, deadline) != [on]:
            message = f"coil {address} still reads {_on_off(not on)} after {what}"
            raise BoardProtocolError(message, self.name, self.url)

    def read_meters(self, deadline: float) -> dict[str, MeterReading]:
        return {}

    def idle_meters(self) -> dict[str, MeterReading]:
        return {}

    def _read(self, address: int, count: int, deadline: float) -> list[bool]:
        what = f"read coils {address}-{address + count - 1}"
        response = self._call(what, deadline, "read_coils", address, count=count)
        bits = list(response.bits)
        if len(bits) < count:
            raise BoardProtocolError(f"{what}: {len(bits)} coils in the answer", self.name, self.url)
        return [bool(bit) for bit in bits[:count]]

    def _retrying(self, request: Callable[[], Any], deadline: float) -> Any:
        for attempt in range(self._attempts):
            try:
                return request()
            except BoardUnavailable as exc:
                last = attempt == self._attempts - 1 or deadline - time.monotonic() < MIN_WAIT
                if last or not isinstance(exc.__cause__, TimeoutError):
                    raise
                self._connect(deadline)
        raise AssertionError("unreachable")

    def _connect(self, deadline: float) -> None:
        self._client.comm_params.timeout_connect = self._wait(deadline)
        if not self._client.connect():
            raise BoardUnavailable("cannot connect", self.name, self.url)

    def _call(self, what: str, deadline: float, method: str, *args: Any, **kwargs: Any) -> Any:
        """One request; no answer in time closes the connection, so a late answer cannot be misread."""
        wait = self._client.comm_params.timeout_connect = self._wait(deadline)
        try:
            response = getattr(self._client, method)(*args, device_id=self.settings.unit, **kwargs)
        except self._errors.ConnectionException as exc:
            self._client.close()
            raise BoardUnavailable(f"{what}: connection lost", self.name, self.url) from exc
        except self._errors.ModbusIOException:
            self._client.close()
            message = f"no reply to {what} within {wait:.3g} s"
            raise BoardUnavailable(message, self.name, self.url) from TimeoutError()
        except OSError as exc:
            self._client.close()
            raise BoardUnavailable(f"{what}: {exc.strerror or exc}", self.name, self.url) from exc
        if response.isError():
            code = getattr(response, "exception_code", None)
            raise BoardProtocolError(f"{what}: unit answered exception {code}", self.name, self.url)
        return response

    def _wait(self, deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining < MIN_WAIT:
            raise BoardUnavailable("no time left for a request", self.name, self.url)
        return min(self._attempt, remaining)


class ModbusSchema(Settings):
    model = ModbusSettings

    host = String(required=True, validate=not_empty)
    port = Integer(load_default=502, validate=between(1, 65535))
    unit = Integer(load_default=1, validate=between(0, 247))
    coil_base = Integer(load_default=0, validate=between(0, MAX_ADDRESS))
    timeout = Number(load_default=2.0, validate=positive)
    retries = Integer(load_default=2, validate=between(0, 10))


def build(config: BoardConfig, ordinal: int) -> ModbusBoard:
    """A board on config.settings.host; nothing is opened yet."""
    settings: ModbusSettings = config.settings
    if settings.coil_base + config.relays - 1 > MAX_ADDRESS:
        message = f"{settings.coil_base} + {config.relays} relays passes coil {MAX_ADDRESS}"
        raise ValidationError({"coil_base": [message]})
    return ModbusBoard(config.name, config.relays, settings)


DRIVER = Driver(
    summary="Modbus TCP relay modules, one coil per outlet, through pymodbus",
    build=build,
    relays=relay_range(1, MAX_RELAYS),
    settings=ModbusSchema(),
    default_relays=None,
    emulator="hw.drivers.modbus_emulator:main",
    needs={"pymodbus": "powerctl[modbus]"},
)
