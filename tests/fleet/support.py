"""Controller-side fleet test parts: certificates, bundles, and a real HTTPS JSON-RPC responder.

The responder is a real TLS server on a loopback socket in a thread. It requires a client
certificate from the test CA (mTLS), records every call, and answers with `answer(request)`.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import os
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CLIENT_UUID = "95d8cd00-5bba-46e5-ae33-f1e4b2d65e6e"
OTHER_UUID = "708e3376-5cb1-4fa8-923f-cda75b9e9e33"
PEER_UUID = "c89723f7-03a3-423d-a556-7eba4270d064"
PEER_TOKEN = "c89723f7-03a3-423d-a556-7eba4270d064-key-12-02"
CLIENT_RAW = b"synced client token"


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@dataclass
class Pair:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    def write(self, folder: Path, stem: str) -> tuple[str, str]:
        folder.mkdir(parents=True, exist_ok=True)
        cert, key = folder / f"{stem}.pem", folder / f"{stem}.key"
        cert.write_text(self.cert_pem)
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.key_pem)
        return str(cert), str(key)

    def issue(
        self,
        name: str,
        *,
        ca: bool = False,
        key=None,
        days: int = 30,
        start: datetime.timedelta = datetime.timedelta(minutes=-5),
    ) -> Pair:
        """A certificate signed by this one, with SANs for loopback (usable by any TLS server)."""
        return _certificate(name, key or ec.generate_private_key(ec.SECP256R1()), self, ca, days, start)


def _certificate(name: str, key, issuer: Pair | None, ca: bool, days: int, start: datetime.timedelta) -> Pair:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + start)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return Pair(builder.sign(issuer.key if issuer else key, hashes.SHA256()), key)


def make_ca(name: str = "fleet test CA") -> Pair:
    return _certificate(
        name, ec.generate_private_key(ec.SECP256R1()), None, True, 365, datetime.timedelta(minutes=-5)
    )


def entry(ca: Pair, name: str = "controller") -> dict:
    """One `current[]` item: a server certificate for the controller, its key, the CA chain."""
    issued = ca.issue(name)
    return {"certificate": issued.cert_pem, "private": issued.key_pem, "public_parent": ca.cert_pem}


def result(
    version: int,
    ca: Pair,
    clients: dict | None = None,
    peers: dict | None = None,
    current: list | None = None,
) -> dict:
    return {
        "clients": {CLIENT_UUID: [sha256(CLIENT_RAW)]} if clients is None else clients,
        "peers": ({PEER_UUID: {"id": "fleet", "tokens": [PEER_TOKEN]}} if peers is None else peers),
        "current": [entry(ca)] if current is None else current,
        "version": version,
    }


@dataclass
class Responder:
    """The fleet server's /rpc, real TLS with client certificates required."""

    server: ThreadingHTTPServer
    ca_file: str  # what the controller verifies the responder with
    calls: list = field(default_factory=list)
    resumed: list = field(default_factory=list)  # per call: did its TLS connection resume a session
    answer: object = None  # a result dict, or a callable(request) -> full answer dict

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def reply(self, request: dict) -> dict:
        if callable(self.answer):
            return self.answer(request)
        return {
            "error": None,
            "method": request.get("method"),
            "id": request.get("id"),
            "result": self.answer,
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_responder(folder: Path, ca: Pair) -> Responder:
    """Serve on a free loopback port; clients must present a certificate issued by `ca`."""
    server_pair = ca.issue("fleet responder")
    cert, key = server_pair.write(folder, "responder")
    ca_file = folder / "fleet-ca.pem"
    ca_file.write_text(ca.cert_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(str(ca_file))
    holder: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            request = json.loads(self.rfile.read(length))
            responder = holder["responder"]
            responder.calls.append((self.path, request, self.connection.getpeercert()))
            responder.resumed.append(self.connection.session_reused)
            if self.path != "/rpc":
                self.send_response(404)
                self.end_headers()
                return
            body = json.dumps(responder.reply(request)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self):
            sock, addr = super().get_request()
            return context.wrap_socket(sock, server_side=True), addr

        def handle_error(self, request, client_address) -> None:
            pass  # a client refusing our certificate is part of some tests

    server = Server(("127.0.0.1", 0), Handler)
    responder = Responder(server, str(ca_file))
    holder["responder"] = responder
    threading.Thread(target=server.serve_forever, args=(0.05,), name="fleet-responder", daemon=True).start()
    return responder


def fleet_config(folder: Path, responder: Responder, ca: Pair, **extra) -> dict:
    """A `[fleet]` section whose client certificate the responder accepts."""
    cert, key = ca.issue("controller identity").write(folder, "identity")
    return {"url": responder.url, "ca_file": responder.ca_file, "cert_file": cert, "key_file": key, **extra}
