"""Time from an HTTP PUT .../state/ to its relay command reaching the serial port.

Compared with one raw serial round trip (`relay read 0` to the prompt) to an identical emulated
board in the same run. Both emulators run in this process; the gateway is a real server process
whose Numato driver talks to the first one over its pty.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from http.client import HTTPConnection
from pathlib import Path

import serial
from common import HELLO_HASH, ROOT, register, start_gateway, stop

sys.path.insert(0, str(ROOT))
from hw.drivers.numato_emulator import NumatoEmulator


def raw_round_trips(path: str, count: int) -> list[float]:
    port = serial.serial_for_url(path, baudrate=19200, timeout=1)
    times = []
    try:
        for _ in range(count):
            start = time.monotonic()
            port.write(b"relay read 0\r")
            reply = b""
            while not reply.endswith(b">"):
                chunk = port.read(1)
                if not chunk:
                    raise RuntimeError("emulator did not answer")
                reply += chunk
            times.append(time.monotonic() - start)
    finally:
        port.close()
    return times


def main(count: int = 200) -> dict:
    with NumatoEmulator(8) as emu, NumatoEmulator(8) as baseline, tempfile.TemporaryDirectory() as data:
        config = Path(data) / "powerctl.toml"
        config.write_text(f'[[hardware.boards]]\ndriver = "numato"\nurl = "{emu.path}"\nrelays = 8\n')
        gateway, base = start_gateway(str(Path(data) / "var"), ["--config", str(config)])
        try:
            register(base, "bench", {"/relay/outlets/all;/state/?access=modify": True}, {HELLO_HASH: {}})
            conn = HTTPConnection(base.removeprefix("http://"))
            headers = {
                "Authorization": "Bearer bench.SGVsbG8",
                "X-CSRF": "x",
                "Content-Type": "application/x-www-form-urlencoded",
            }
            to_port, whole = [], []
            for i in range(count):
                on = i % 2 == 0
                seen = len(emu.commands)
                start = time.monotonic()
                conn.request(
                    "PUT",
                    "/restapi/relay/outlets/3/state/",
                    body=f"value={'true' if on else 'false'}",
                    headers=headers,
                )
                response = conn.getresponse()
                response.read()
                whole.append(time.monotonic() - start)
                if response.status != 204:
                    raise RuntimeError(f"PUT answered {response.status}")
                wanted = f"relay {'on' if on else 'off'} 3"
                index = emu.commands.index(wanted, seen)
                to_port.append(emu.arrivals[index] - start)
            conn.close()
        finally:
            stop(gateway)
        raw = raw_round_trips(baseline.path, count)
    result = {
        "put_to_port_ms": statistics.median(to_port) * 1000,
        "put_total_ms": statistics.median(whole) * 1000,
        "raw_round_trip_ms": statistics.median(raw) * 1000,
    }
    result["ratio"] = result["put_to_port_ms"] / result["raw_round_trip_ms"]
    print(f"HTTP PUT .../state/ to relay command at the port, {count} switches (medians)")
    print(f"  PUT -> command at port   {result['put_to_port_ms']:7.3f} ms")
    print(f"  whole PUT (incl. read-back) {result['put_total_ms']:7.3f} ms")
    print(f"  raw serial round trip    {result['raw_round_trip_ms']:7.3f} ms")
    print(f"  ratio                    {result['ratio']:.2f}")
    return result


if __name__ == "__main__":
    main()
