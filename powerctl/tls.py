"""The self-signed certificate generated into the data directory on first start."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import socket
import ssl
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def ensure_certificate(data_dir: str, host: str) -> tuple[str, str]:
    """Return (cert, key) paths, creating a self-signed pair once and reusing it afterwards."""
    folder = Path(data_dir) / "tls"
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    if cert_path.exists() and key_path.exists():
        return str(cert_path), str(key_path)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.DNSName(socket.gethostname())]
    for address in {"127.0.0.1", "::1", host}:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:
            if address:
                names.append(x509.DNSName(address))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "powerctl " + socket.gethostname())])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(list(dict.fromkeys(names))), critical=False)
        # Self-signed: the certificate is its own trust anchor, so clients can pin it.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to a key file that already existed
    with os.fdopen(fd, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(cert_path), str(key_path)


def served_pair(data_dir: str) -> tuple[str, str | None]:
    """The (certfile, keyfile) to serve: the fleet's certificate once synced, else our own."""
    synced = Path(data_dir) / "tls" / "fleet" / "server.pem"  # key and chain in one file
    if synced.exists():
        return str(synced), None
    return str(Path(data_dir) / "tls" / "cert.pem"), str(Path(data_dir) / "tls" / "key.pem")


def peer_certificate(environ: dict) -> bytes | None:
    """The DER client certificate the TLS layer verified for this connection, if any.

    The server (powerctl.httpd) hands the request its connection's SSLObject in the WSGI
    environ; plain HTTP has none.
    """
    getpeercert = getattr(environ.get("powerctl.tls"), "getpeercert", None)
    return getpeercert(binary_form=True) if getpeercert is not None else None


def server_context(certfile: str, keyfile: str | None) -> ssl.SSLContext:
    """The server side's defaults (TLS 1.2 or later, Python's ciphers) with the pair loaded."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context


def fleet_chain(data_dir: str) -> Path:
    """The fleet's `public_parent`, once synced: it verifies the certificates of peers."""
    return Path(data_dir) / "tls" / "fleet" / "parent.pem"


def _stamp(path: str | Path) -> tuple | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (str(path), info.st_mtime_ns, info.st_size, info.st_ino)


def live_context(data_dir: str):
    """The server's TLS hook: one SSLContext per process, rebuilt when its files change.

    The server calls the hook for every accepted connection. When the served pair or the fleet's
    chain changes (a fleet sync, in this or any process), the next handshakes get a context
    built from the new files; connections already open keep theirs, so none is dropped. Files
    that fail to load are logged and the previous context kept.

    Once the fleet's chain (tls/fleet/parent.pem) is held, clients may present a certificate:
    one it verifies identifies a fleet peer (the fleet server's notify). Presenting none is
    fine; presenting one the chain does not verify fails the handshake.
    """
    lock = threading.Lock()
    state: dict = {"context": None, "stamp": None}
    log = logging.getLogger("powerctl")

    def build(certfile: str, keyfile: str | None, chain: Path | None):
        context = server_context(certfile, keyfile)
        if chain is not None:
            context.load_verify_locations(cafile=str(chain))
            context.verify_mode = ssl.CERT_OPTIONAL
        return context

    def hook() -> ssl.SSLContext:  # per accepted connection
        certfile, keyfile = served_pair(data_dir)
        chain = fleet_chain(data_dir)
        stamp = (_stamp(certfile), _stamp(chain))
        with lock:
            if stamp == state["stamp"] and state["context"] is not None:
                return state["context"]
            first, state["stamp"] = state["context"] is None, stamp
            try:
                state["context"] = build(certfile, keyfile, chain if stamp[1] is not None else None)
                if not first:
                    log.info("TLS certificate and peer chain reloaded from %s", certfile)
            except (OSError, ssl.SSLError) as err:
                log.error(
                    "TLS files in %s not loaded, keeping the previous ones: %s", Path(certfile).parent, err
                )
                if state["context"] is None:
                    raise
            return state["context"]

    return hook
