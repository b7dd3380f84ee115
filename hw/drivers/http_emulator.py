"""What the HTTP device emulators (tasmota, shelly) share: a quiet threaded server, JSON answers,
and the foreground loop of `python -m hw.emulator <driver>`."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietServer(ThreadingHTTPServer):
    """A client that gave up (its deadline passed) is no error worth a traceback."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def start(handler: type[BaseHTTPRequestHandler], host: str, port: int, name: str) -> QuietServer:
    """A server for `handler`, answering on its own thread; stop it with shutdown()."""
    server = QuietServer((host, port), handler)
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return server


def send_json(handler: BaseHTTPRequestHandler, status: int, body: bytes | object, headers=None) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


def run_until_interrupted(server: QuietServer, what: str) -> int:
    """The emulator command's foreground: say where it answers, then serve until Ctrl-C."""
    print(f"{what} on http://{server.server_address[0]}:{server.server_address[1]}/", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    server.shutdown()
    return 0
