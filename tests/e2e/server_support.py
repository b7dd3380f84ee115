"""A real `powerctl serve` process over HTTPS on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from requests.auth import HTTPDigestAuth

from tests.support import ADMIN_PASSWORD


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    base: str
    data_dir: Path
    log: Path

    @property
    def cert(self) -> str:
        return str(self.data_dir / "tls" / "cert.pem")

    def url(self, path: str) -> str:
        return self.base + path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def as_admin(
    server: Server, method: str, path: str, password: str = ADMIN_PASSWORD, **kwargs
) -> requests.Response:
    """One request as admin (HTTP Digest), with the X-CSRF header a change needs; over HTTPS
    the server's own certificate is the one trusted."""
    headers = {"X-CSRF": "x"} if method != "GET" else {}
    if server.base.startswith("https:"):
        kwargs.setdefault("verify", server.cert)
    return requests.request(
        method,
        server.url(path),
        headers=headers,
        auth=HTTPDigestAuth("admin", password),
        timeout=10,
        **kwargs,
    )


def start_server(
    data_dir: Path,
    *extra: str,
    env: dict | None = None,
    http: bool = False,
    port: int | None = None,
    command: list[str] | None = None,
) -> Server:
    """`command` (default: this interpreter's `powerctl serve`) with a free port and data_dir."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"server-{port}.log"
    serve = command or [sys.executable, "-m", "powerctl.cli", "serve"]
    args = [*serve, "--bind", f"127.0.0.1:{port}", "--data-dir", str(data_dir), *extra]
    if http:
        args.append("--http")
    environment = dict(os.environ if env is None else env)
    environment.setdefault("POWERCTL_ADMIN_PASSWORD", ADMIN_PASSWORD)
    scheme = "http" if http else "https"
    server = Server(spawn(args, environment, log), f"{scheme}://127.0.0.1:{port}", data_dir, log)
    wait_serving(server, "/restapi/", tls=not http)
    return server


def spawn(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    """Start a server process whose output goes to `log`."""
    with open(log, "wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)


def wait_serving(server: Server, probe: str, tls: bool = True, timeout: float = 30) -> None:
    """Wait until `probe` answers (its TLS certificate verified); stop the server if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError("server exited early:\n" + server.log.read_text())
        try:
            # before the certificate exists, requests refuses the path with an OSError
            requests.get(server.url(probe), verify=server.cert if tls else True, timeout=2)
            return
        except (requests.ConnectionError, OSError):
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("server did not start:\n" + server.log.read_text())
