"""Time from an HTTP PUT .../state/ to the relay frame reaching the port, for kmtronic and lcus.

Per driver, against one raw exchange over the same kind of port (a pty to an identical emulator
in the same run): for kmtronic a status round trip (`FF 09 00` and its 8 answer bytes), for
lcus (which answers nothing) one switch frame written until the emulator has it. Both emulators
run in this process; the gateway is a real server process driving the first one.
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
from hw.drivers.kmtronic import ALL_STATUS, switch_frame
from hw.drivers.kmtronic_emulator import KmtronicEmulator
from hw.drivers.lcus import frame as lcus_frame
from hw.drivers.lcus_emulator import LcusEmulator

DRIVERS = {
    "kmtronic": (KmtronicEmulator, lambda relay, on: switch_frame(relay, on)),
    "lcus": (LcusEmulator, lambda relay, on: lcus_frame(relay, on)),
}


def wait_frames(emu, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while len(emu.frames) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the emulator did not receive the frame")
        time.sleep(0.0001)


def raw_exchanges(driver: str, emu, count: int) -> list[float]:
    port = serial.serial_for_url(emu.path, baudrate=9600, timeout=1)
    times = []
    try:
        for i in range(count):
            start = time.monotonic()
            if driver == "kmtronic":
                port.write(ALL_STATUS)
                if len(port.read(8)) != 8:
                    raise RuntimeError("emulator did not answer")
                times.append(time.monotonic() - start)
            else:
                seen = len(emu.frames)
                port.write(lcus_frame(1, i % 2 == 0))
                wait_frames(emu, seen + 1)
                times.append(emu.arrivals[seen] - start)
    finally:
        port.close()
    return times


def measure(driver: str, count: int) -> dict:
    make, frame_of = DRIVERS[driver]
    with make(8) as emu, make(8) as baseline, tempfile.TemporaryDirectory() as data:
        config = Path(data) / "powerctl.toml"
        config.write_text(f'[[hardware.boards]]\ndriver = "{driver}"\nurl = "{emu.path}"\nrelays = 8\n')
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
                seen = len(emu.frames)
                start = time.monotonic()
                body = f"value={'true' if on else 'false'}"
                conn.request("PUT", "/restapi/relay/outlets/3/state/", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                whole.append(time.monotonic() - start)
                if response.status != 204:
                    raise RuntimeError(f"PUT answered {response.status}")
                wanted = frame_of(4, on)
                # lcus answers 204 once the frame is written: it may still be on its way
                waited = time.monotonic() + 5.0
                while wanted not in (frames := emu.frames[seen:]):
                    if time.monotonic() > waited:
                        raise RuntimeError(f"{wanted.hex(' ')} never reached the port")
                    time.sleep(0.0001)
                to_port.append(emu.arrivals[seen + frames.index(wanted)] - start)
            conn.close()
        finally:
            stop(gateway)
        raw = raw_exchanges(driver, baseline, count)
    result = {
        "put_to_port_ms": statistics.median(to_port) * 1000,
        "put_total_ms": statistics.median(whole) * 1000,
        "raw_ms": statistics.median(raw) * 1000,
    }
    result["ratio"] = result["put_to_port_ms"] / result["raw_ms"]
    return result


def main(count: int = 200) -> dict:
    results = {driver: measure(driver, count) for driver in DRIVERS}
    print(f"HTTP PUT .../state/ to the relay frame at the port, {count} switches (medians)")
    for driver, result in results.items():
        raw = "status round trip" if driver == "kmtronic" else "frame write to arrival"
        print(f"  {driver}")
        print(f"    PUT -> frame at port      {result['put_to_port_ms']:7.3f} ms")
        print(f"    whole PUT                 {result['put_total_ms']:7.3f} ms")
        print(f"    raw {raw:<22}{result['raw_ms']:7.3f} ms")
        print(f"    ratio                     {result['ratio']:.2f}")
    return results


if __name__ == "__main__":
    main()
