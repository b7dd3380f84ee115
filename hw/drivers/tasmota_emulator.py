"""A Tasmota device on a loopback HTTP port: `/cm?cmnd=...` with its relays and an energy meter.

`python -m hw.emulator tasmota --port 8081 --relays 2 [--user U --password P]`.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from .http_emulator import QuietServer, run_until_interrupted, send_json, start


class TasmotaDevice:
    """The device's state; a test may set `delay` (s per answer) or `broken` (answer garbage)."""

    def __init__(self, relays: int = 1, user: str | None = None, password: str | None = None):
        self.relays = [False] * relays
        self.user, self.password = user, password
        self.delay = 0.0
        self.broken = False
        self.lock = threading.Lock()
        self.arrivals: list[tuple[float, str]] = []  # (time.monotonic(), cmnd) of each request

    def answer(self, query: dict[str, str]) -> dict:
        self.arrivals.append((time.monotonic(), query.get("cmnd", "")))
        if self.password is not None and (query.get("user"), query.get("password")) != (
            self.user,
            self.password,
        ):
            return {"WARNING": "Need user=<username>&password=<password>"}
        words = query.get("cmnd", "").split()
        if not words:
            return {"Command": "Unknown"}
        name = words[0].lower()
        with self.lock:
            if name == "state":
                return self._powers()
            if name == "status" and words[1:] in (["8"], ["10"]):
                on = sum(self.relays)
                return {
                    "StatusSNS": {
                        "ENERGY": {
                            "Total": 1.25,
                            "Power": 40 * on,
                            "Voltage": 230,
                            "Current": round(0.18 * on, 3),
                        }
                    }
                }
            if name.startswith("power"):
                number = int(name[5:] or 1)
                if not 1 <= number <= len(self.relays):
                    return {"Command": "Unknown"}
                if len(words) > 1:
                    wanted = words[1].lower()
                    current = self.relays[number - 1]
                    self.relays[number - 1] = {
                        "on": True,
                        "1": True,
                        "off": False,
                        "0": False,
                        "toggle": not current,
                    }.get(wanted, current)
                key = "POWER" if len(self.relays) == 1 else f"POWER{number}"
                return {key: "ON" if self.relays[number - 1] else "OFF"}
        return {"Command": "Unknown"}

    def _powers(self) -> dict:
        if len(self.relays) == 1:
            return {"POWER": "ON" if self.relays[0] else "OFF"}
        return {f"POWER{i + 1}": "ON" if on else "OFF" for i, on in enumerate(self.relays)}


def serve(device: TasmotaDevice, host: str = "127.0.0.1", port: int = 0) -> QuietServer:
    """A started server (on its own thread) answering for `device`; stop it with shutdown()."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            split = urlsplit(self.path)
            if split.path != "/cm":
                self.send_error(404)
                return
            if device.delay:
                time.sleep(device.delay)
            query = {key: values[0] for key, values in parse_qs(split.query).items()}
            body = b"<html>garbage" if device.broken else json.dumps(device.answer(query)).encode()
            send_json(self, 200, body)

        def log_message(self, *_args) -> None:
            pass

    return start(Handler, host, port, "tasmota-emulator")


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Emulate a Tasmota device on HTTP.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--relays", type=int, default=1)
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args(argv)
    server = serve(TasmotaDevice(args.relays, args.user, args.password), args.host, args.port)
    return run_until_interrupted(server, "tasmota emulator")
