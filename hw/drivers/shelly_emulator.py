"""A Shelly Gen2 device on a loopback HTTP port: JSON-RPC on /rpc, digest SHA-256 when it has a password.

`python -m hw.emulator shelly --port 8082 --switches 1 [--password P]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.request import parse_http_list, parse_keqv_list

from .http_emulator import QuietServer, run_until_interrupted, send_json, start


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class ShellyDevice:
    def __init__(self, switches: int = 1, password: str | None = None):
        self.outputs = [False] * switches
        self.password = password
        self.realm = "shellyplus1pm-a8032ab1c2d3"
        self.nonce = secrets.token_hex(8)
        self.delay = 0.0
        self.lock = threading.Lock()
        self.arrivals: list[tuple[float, str]] = []  # (time.monotonic(), method) of each call

    def authorised(self, header: str | None) -> bool:
        """RFC 7616 digest with SHA-256, as Shelly Gen2 checks it (user admin, qop auth)."""
        if self.password is None:
            return True
        if not header or not header.startswith("Digest "):
            return False
        params = parse_keqv_list(parse_http_list(header[7:]))
        if params.get("username") != "admin" or params.get("nonce") != self.nonce:
            return False
        ha1 = _sha256(f"admin:{self.realm}:{self.password}")
        ha2 = _sha256(f"POST:{params.get('uri')}")
        expected = _sha256(f"{ha1}:{self.nonce}:{params.get('nc')}:{params.get('cnonce')}:auth:{ha2}")
        return secrets.compare_digest(expected, params.get("response", ""))

    def call(self, request: dict) -> dict:
        method, params = request.get("method"), request.get("params") or {}
        self.arrivals.append((time.monotonic(), str(method)))
        index = params.get("id")
        with self.lock:
            if not isinstance(index, int) or not 0 <= index < len(self.outputs):
                return {
                    "id": request.get("id"),
                    "error": {"code": -105, "message": f"Argument 'id', value {index} not found!"},
                }
            if method == "Switch.Set":
                was = self.outputs[index]
                self.outputs[index] = bool(params.get("on"))
                return {"id": request.get("id"), "result": {"was_on": was}}
            if method == "Switch.GetStatus":
                on = self.outputs[index]
                return {
                    "id": request.get("id"),
                    "result": {
                        "id": index,
                        "source": "http",
                        "output": on,
                        "apower": 12.5 if on else 0.0,
                        "voltage": 231.4,
                        "current": 0.054 if on else 0.0,
                        "aenergy": {"total": 812.25, "by_minute": [0, 0, 0], "minute_ts": int(time.time())},
                        "temperature": {"tC": 41.2, "tF": 106.2},
                    },
                }
        return {"id": request.get("id"), "error": {"code": 404, "message": f"No handler for {method}"}}


def serve(device: ShellyDevice, host: str = "127.0.0.1", port: int = 0) -> QuietServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.path != "/rpc":
                self.send_error(404)
                return
            if not device.authorised(self.headers.get("Authorization")):
                challenge = (
                    f'Digest qop="auth", realm="{device.realm}", nonce="{device.nonce}", algorithm=SHA-256'
                )
                self._send(401, {"code": 401, "message": "Unauthorized"}, {"WWW-Authenticate": challenge})
                return
            if device.delay:
                time.sleep(device.delay)
            try:
                request = json.loads(body)
            except ValueError:
                self._send(400, {"code": -103, "message": "bad JSON"})
                return
            self._send(200, device.call(request))

        def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
            send_json(self, status, payload, headers)

        def log_message(self, *_args) -> None:
            pass

    return start(Handler, host, port, "shelly-emulator")


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Emulate a Shelly Gen2 device on HTTP.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--switches", type=int, default=1)
    parser.add_argument("--password")
    args = parser.parse_args(argv)
    server = serve(ShellyDevice(args.switches, args.password), args.host, args.port)
    return run_until_interrupted(server, "shelly emulator")
