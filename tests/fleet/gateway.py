"""A real `powerctl serve --config` process with a [fleet] section, and raw HTTPS helpers.

Connections accept any server certificate: the tests compare the served certificate themselves,
since a sync replaces it while they watch.
"""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from powerctl.auth.bearer import encode_token
from powerctl.fleet import certs
from powerctl.store import Database
from powerctl.store import fleet as store
from tests.e2e.server_support import free_port
from tests.support import ADMIN_PASSWORD, digest_authorization, env_with_password

ANY_CERT = ssl._create_unverified_context()
NOTIFY = "/restapi/auth/fleet/notify/"


def peer_context(data_dir: Path) -> ssl.SSLContext:
    """How a peer calls this controller: verify with the synced chain, present our certificate."""
    context = ssl.create_default_context(cafile=str(certs.folder(data_dir) / "parent.pem"))
    context.load_cert_chain(str(certs.server_pem(data_dir)))
    return context


def peer_authorization(db: Database, peer_id: str) -> str:
    """The Authorization header that presents our synced token for a peer."""
    _serial, tokens = store.peer_tokens(db)[peer_id]
    return f"Bearer {peer_id}.{encode_token(tokens[0].encode())}"


def until(check, keep_alive=lambda: None, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        keep_alive()
        time.sleep(0.05)


def connect(port: int) -> http.client.HTTPSConnection:
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ANY_CERT, timeout=10)
    conn.connect()
    return conn


def served_der(port: int) -> bytes:
    conn = connect(port)
    try:
        return conn.sock.getpeercert(binary_form=True)
    finally:
        conn.close()


def call(
    conn: http.client.HTTPSConnection, method: str, path: str, headers: dict, body: object = None
) -> tuple[int, object]:
    payload = None if body is None else json.dumps(body)
    conn.request(method, path, body=payload, headers=headers)
    answer = conn.getresponse()
    data = answer.read()
    return answer.status, (json.loads(data) if data.startswith((b"{", b"[")) else data)


def get(conn: http.client.HTTPSConnection, path: str, headers: dict) -> int:
    return call(conn, "GET", path, headers)[0]


def notify_body(version: int) -> dict:
    return {
        "id": "n",
        "api": "3",
        "method": "hub.offline.credentials.updated",
        "params": {"version": version},
    }


def toml(fleet: dict) -> str:
    return "[fleet]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in fleet.items())


@dataclass
class Gateway:
    process: subprocess.Popen
    port: int
    data_dir: Path
    config: Path
    log: Path

    def admin(self, method: str, path: str) -> tuple[int, object]:
        """An admin request with HTTP Digest, as curl --digest makes it."""
        conn = connect(self.port)
        try:
            conn.request(method, path, headers={"X-CSRF": "x"})
            first = conn.getresponse()
            first.read()
            header = digest_authorization(
                first.headers["WWW-Authenticate"], method, path, "admin", ADMIN_PASSWORD
            )
            return call(conn, method, path, {"X-CSRF": "x", "Authorization": header})
        finally:
            conn.close()

    def status(self) -> dict:
        code, body = self.admin("GET", "/restapi/auth/fleet/")
        assert code == 200, body
        return body  # type: ignore[return-value]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


def start_gateway(folder: Path, fleet: dict, port: int | None = None) -> Gateway:
    """`powerctl serve` with `[fleet]` = `fleet`; returns once it completes TLS handshakes."""
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    config, log = folder / "powerctl.toml", folder / f"gateway-{port}.log"
    config.write_text(toml(fleet))
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "powerctl.cli",
                "serve",
                "--bind",
                f"127.0.0.1:{port}",
                "--data-dir",
                str(folder / "data"),
                "--config",
                str(config),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env_with_password(),
        )
    gateway = Gateway(process, port, folder / "data", config, log)

    def up() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            served_der(port)
        except OSError:
            return False
        return True

    try:
        until(up, timeout=30)
    except AssertionError:
        gateway.stop()
        raise
    return gateway
