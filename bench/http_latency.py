"""Time from an HTTP PUT .../state/ to the command reaching a networked board, per HTTP driver.

For tasmota and shelly, the command's arrival at an emulator in this process, against one raw
round trip of the same transport (requests, keep-alive) to an identical emulator in the same
run. The gateway is a real server process.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from http.client import HTTPConnection
from pathlib import Path

import requests
from common import HELLO_HASH, ROOT, register, start_gateway, stop

sys.path.insert(0, str(ROOT))
from hw.drivers import shelly_emulator, tasmota_emulator


def raw(url: str, method: str, count: int, **kwargs) -> list[float]:
    session = requests.Session()
    session.trust_env = False
    times = []
    for _ in range(count):
        start = time.monotonic()
        session.request(method, url, timeout=5, **kwargs).json()
        times.append(time.monotonic() - start)
    session.close()
    return times


def main(count: int = 100) -> dict:
    plug, plug_base = tasmota_emulator.TasmotaDevice(1), tasmota_emulator.TasmotaDevice(1)
    relay, relay_base = shelly_emulator.ShellyDevice(1), shelly_emulator.ShellyDevice(1)
    servers = [tasmota_emulator.serve(d) for d in (plug, plug_base)] + [
        shelly_emulator.serve(d) for d in (relay, relay_base)
    ]
    urls = [f"http://127.0.0.1:{s.server_address[1]}" for s in servers]
    results = {}
    try:
        with tempfile.TemporaryDirectory() as data:
            config = Path(data) / "powerctl.toml"
            config.write_text(
                f'[[hardware.boards]]\ndriver = "tasmota"\nurl = "{urls[0]}"\nrelays = 1\n\n'
                f'[[hardware.boards]]\ndriver = "shelly"\nurl = "{urls[2]}"\nrelays = 1\n'
            )
            gateway, base = start_gateway(str(Path(data) / "var"), ["--config", str(config)])
            try:
                register(base, "bench", {"/relay/outlets/all;/state/?access=modify": True}, {HELLO_HASH: {}})
                conn = HTTPConnection(base.removeprefix("http://"))
                headers = {
                    "Authorization": "Bearer bench.SGVsbG8",
                    "X-CSRF": "x",
                    "Content-Type": "application/x-www-form-urlencoded",
                }
                for name, outlet, device, wanted in (
                    ("tasmota", 0, plug, "Power1"),
                    ("shelly", 1, relay, "Switch.Set"),
                ):
                    to_board = []
                    for i in range(count):
                        seen = len(device.arrivals)
                        start = time.monotonic()
                        body = f"value={'false' if i % 2 == 0 else 'true'}"
                        conn.request(
                            "PUT", f"/restapi/relay/outlets/{outlet}/state/", body=body, headers=headers
                        )
                        response = conn.getresponse()
                        response.read()
                        if response.status != 204:
                            raise RuntimeError(f"PUT answered {response.status}")
                        arrived = next(t for t, what in device.arrivals[seen:] if what.startswith(wanted))
                        to_board.append(arrived - start)
                    results[name] = statistics.median(to_board)
                conn.close()
            finally:
                stop(gateway)
        results["tasmota_raw"] = statistics.median(raw(f"{urls[1]}/cm?cmnd=State", "GET", count))
        results["shelly_raw"] = statistics.median(
            raw(
                f"{urls[3]}/rpc",
                "POST",
                count,
                json={"id": 1, "method": "Switch.GetStatus", "params": {"id": 0}},
            )
        )
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    print(f"HTTP PUT .../state/ to the command at the board, {count} switches each (medians)")
    for name in ("tasmota", "shelly"):
        ratio = results[name] / results[f"{name}_raw"]
        results[f"{name}_ratio"] = ratio
        print(
            f"  {name:8} PUT -> command {results[name] * 1000:7.3f} ms   raw round trip "
            f"{results[f'{name}_raw'] * 1000:7.3f} ms   ratio {ratio:.2f}"
        )
    return results


if __name__ == "__main__":
    main()
