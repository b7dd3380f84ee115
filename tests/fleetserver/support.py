"""Real fleet server processes and test certificates, shared with the gateway's end-to-end tests.

Stable API (tests/e2e uses it; change only by adding):

    ca = make_ca("fleet test CA")                  # a CA key + self-signed CA certificate
    me = ca.issue("<controller uuid>")             # a client certificate signed by it (CN = uuid)
    me.write(folder) -> (cert_path, key_path)      # PEM files, key mode 0600
    fleet = start_fleet_server(tmp_path / "fleet", database=None)   # SQLite in the data dir
    fleet.ca_file                                  # the fleet server's own TLS certificate (pin it)
    fleet.admin.register_ca(ca)                    # ACTIVE CA, with its proof-of-possession
    me = fleet.admin.enroll(ca, uuid, serial="70010111", notify_url="https://127.0.0.1:P/...")
                                                   # controller + ACTIVE certificate; returns `me`
    fleet.admin.put_client(uuid, client_uuid, [sha256_hex, ...])   # bumps the version, notifies
    fleet.admin.delete_client(uuid, client_uuid)
    fleet.admin.sync(me, version=None)             # the controller's JSON-RPC call over mTLS
    fleet.stop()

Every admin call returns the `requests.Response`; `enroll` and `register_ca` assert success.
"""

from __future__ import annotations

import http.server
import os
import ssl
import sys
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.e2e.conftest import Server, free_port, spawn, wait_serving
from tests.fleetserver.certs import Ca, Issued, make_ca

__all__ = [
    "ADMIN_TOKEN",
    "Ca",
    "FleetAdmin",
    "FleetServer",
    "Issued",
    "MutualTLSServer",
    "free_port",
    "make_ca",
    "start_fleet_server",
]

ADMIN_TOKEN = "fleet-admin-test-token"


class MutualTLSServer(http.server.ThreadingHTTPServer):
    """HTTPS that requires a client certificate from the CA `ca_pem` (what controllers'
    notify endpoints do), serving `pem_file` (certificate and key). Each TLS handshake runs in
    its connection's thread, not the one that accepts; a connection whose handshake fails, or
    that a stopped or killed notifier leaves mid-call, ends quietly."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], handler, pem_file: str | os.PathLike, ca_pem: str):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(pem_file)
        context.load_verify_locations(cadata=ca_pem)
        context.verify_mode = ssl.CERT_REQUIRED
        self.context = context
        super().__init__(address, handler)

    def finish_request(self, request, client_address) -> None:
        try:
            wrapped = self.context.wrap_socket(request, server_side=True)
        except OSError:  # ssl.SSLError included
            return
        with wrapped:
            super().finish_request(wrapped, client_address)

    def handle_error(self, request, client_address) -> None:
        pass


@dataclass
class FleetAdmin:
    """The fleet server's admin REST API over HTTPS, with the admin bearer token."""

    base: str
    verify: str
    token: str = ADMIN_TOKEN
    session: requests.Session = field(default_factory=requests.Session)

    def request(self, method: str, path: str, json=None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.session.request(
            method, self.base + path, json=json, headers=headers, verify=self.verify, timeout=30, **kwargs
        )

    def register_ca(self, ca: Ca, *, active: bool = True, auto_registration: bool = False) -> str:
        code = self.request("GET", "/registration-code").json()["registrationCode"]
        answer = self.request(
            "POST",
            "/ca-certificates",
            {
                "caCertificate": ca.cert_pem,
                "verificationCertificate": ca.verification_certificate(code),
                "setAsActive": active,
                "allowAutoRegistration": auto_registration,
            },
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["certificateId"]

    def add_controller(self, uuid: str, serial: str, notify_url: str | None = None) -> requests.Response:
        return self.request(
            "POST", "/controllers", {"uuid": uuid, "serial": serial, "notify_url": notify_url}
        )

    def register_certificate(
        self, pem: str, controller: str | None = None, status: str = "ACTIVE"
    ) -> requests.Response:
        return self.request(
            "POST", "/certificates", {"certificatePem": pem, "controller": controller, "status": status}
        )

    def enroll(
        self, ca: Ca, uuid: str | None = None, serial: str = "70010111", notify_url: str | None = None
    ) -> Issued:
        """Register a controller and an ACTIVE client certificate for it; return that identity."""
        uuid = uuid or str(uuidlib.uuid4())
        answer = self.add_controller(uuid, serial, notify_url)
        assert answer.status_code == 201, answer.text
        me = ca.issue(uuid)
        answer = self.register_certificate(me.cert_pem, controller=uuid)
        assert answer.status_code == 201, answer.text
        return me

    def set_certificate_status(self, certificate_id: str, status: str) -> requests.Response:
        return self.request("PUT", f"/certificates/{certificate_id}", {"newStatus": status})

    def put_client(self, controller: str, client: str, hashes_: list[str]) -> requests.Response:
        return self.request("PUT", f"/controllers/{controller}/clients/{client}", {"tokens": hashes_})

    def delete_client(self, controller: str, client: str) -> requests.Response:
        return self.request("DELETE", f"/controllers/{controller}/clients/{client}")

    def put_peer(self, controller: str, peer: str, serial: str, tokens: list[str]) -> requests.Response:
        return self.request(
            "PUT", f"/controllers/{controller}/peers/{peer}", {"id": serial, "tokens": tokens}
        )

    def sync(
        self, identity: Issued | None, version: int | None = None, folder: Path | str | None = None
    ) -> requests.Response:
        """The controller's sync call, presenting `identity` as its TLS client certificate."""
        body = {
            "id": uuidlib.uuid4().hex,
            "api": "3",
            "method": "cloud.access_keys_controller_sync",
            "params": {} if version is None else {"version": version},
        }
        cert = None
        if identity is not None:
            folder = Path(folder or Path(self.verify).parent.parent / "identities")
            cert = identity.write(folder, f"id-{identity.cert.serial_number}")
        return requests.post(self.base + "/rpc", json=body, cert=cert, verify=self.verify, timeout=30)


@dataclass
class FleetServer(Server):
    admin: FleetAdmin

    @property
    def ca_file(self) -> str:
        """The fleet server's self-signed TLS certificate: the controllers' `[fleet]` CA bundle."""
        return self.cert


def start_fleet_server(
    data_dir: Path,
    *,
    database: str | None = None,
    port: int | None = None,
    admin_token: str = ADMIN_TOKEN,
    extra: tuple[str, ...] = (),
) -> FleetServer:
    """`powerctl-fleet serve` on a free loopback port; `database` defaults to SQLite in data_dir."""
    port = port or free_port()
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"fleet-{port}.log"
    args = [
        sys.executable,
        "-m",
        "fleetserver",
        "serve",
        "--bind",
        f"127.0.0.1:{port}",
        "--data-dir",
        str(data_dir),
        *extra,
    ]
    if database:
        args += ["--database", database]
    env = dict(os.environ, POWERCTL_FLEET_ADMIN_TOKEN=admin_token)
    base = f"https://127.0.0.1:{port}"
    admin = FleetAdmin(base, str(data_dir / "tls" / "cert.pem"), admin_token)
    server = FleetServer(spawn(args, env, log), base, data_dir, log, admin)
    wait_serving(server, "/health")
    return server
