"""A Modbus TCP relay module on loopback: pymodbus's own server, coils for one unit.

The server runs on a private event loop in a thread of its own. stop() closes the listening
socket and every connection, as an unplugged module does; start() listens again on the same port
with the coils as they were (a module whose network went away, not its power).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import threading
import time

# pymodbus >= 3.10 keeps coils in 16-bit registers: coil i is bit i % 16 of register i // 16.
BITS = 16


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ModbusEmulator:
    """Unit `unit` with `coils` coils (from address 0) on 127.0.0.1:port."""

    def __init__(self, coils: int = 8, *, unit: int = 1, port: int | None = None) -> None:
        self.unit = unit
        self.count = coils
        self.port = port or free_tcp_port()
        self.requests: list[tuple[int, int, int]] = []  # (function code, address, count), in order
        self.arrivals: list[float] = []  # time.monotonic() of each request's arrival
        self._values = [False] * coils
        self._registers: list[int] | None = None
        self._server = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="modbus-emulator", daemon=True)
        self._thread.start()

    def __enter__(self) -> ModbusEmulator:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def coils(self) -> list[bool]:
        """The coils as the server holds them, live."""
        registers = self._registers
        if registers is None:
            return list(self._values)
        return [bool(registers[i // BITS] >> (i % BITS) & 1) for i in range(self.count)]

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self._server is None:
            self._values = self.coils
            self._registers = None
            asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    async def _start(self) -> None:
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        def block(values: list[bool] | bool, kind: DataType) -> list[SimData]:
            return [
                SimData(0, count=len(values) if isinstance(values, list) else 1, values=values, datatype=kind)
            ]

        device = SimDevice(
            id=self.unit,
            simdata=(
                block(list(self._values), DataType.BITS),
                block(False, DataType.BITS),
                [SimData(0, values=0, datatype=DataType.REGISTERS)],
                [SimData(0, values=0, datatype=DataType.REGISTERS)],
            ),
            action=self._action,
        )
        self._server = ModbusTcpServer(device, address=("127.0.0.1", self.port))
        await self._server.serve_forever(background=True)

    async def _action(self, code: int, start: int, address: int, count: int, registers: list, values) -> None:
        if code in (1, 5, 15):
            self._registers = registers
        # pymodbus calls back twice for a write: with the values, then to read the result
        if code not in (5, 15) or values is not None:
            self.arrivals.append(time.monotonic())
            self.requests.append((code, address, count))
        return None

    def stop(self) -> None:
        """Stop answering: close the listening socket and every open connection."""
        server, self._server = self._server, None
        if server is not None:
            self._values = self.coils
            asyncio.run_coroutine_threadsafe(server.shutdown(), self._loop).result(10)

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()


def main(argv: list[str], prog: str) -> int:
    """Serve until SIGTERM or SIGINT; the first line on stdout is host:port."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--coils", type=int, default=8)
    parser.add_argument("--unit", type=int, default=1)
    parser.add_argument("--port", type=int, default=None, help="TCP port on 127.0.0.1 (default: a free one)")
    options = parser.parse_args(argv)
    stop: list[bool] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.append(True))
    with ModbusEmulator(options.coils, unit=options.unit, port=options.port) as emulator:
        print(f"127.0.0.1:{emulator.port}", flush=True)
        while not stop:
            time.sleep(0.2)
    return 0
