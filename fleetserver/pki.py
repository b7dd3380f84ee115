"""X.509 for the fleet: parse and fingerprint, check signatures, issue controllers' HTTPS pairs."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fleetserver.errors import Invalid

SERVER_CERT_DAYS = 825.0  # controllers' HTTPS certificates, unless the fleet's setting says else


def load_pem(text: str, what: str = "certificate") -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(text.encode())
    except ValueError as err:
        raise Invalid(f"{what} is not a PEM X.509 certificate") from err


def load_der(data: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(data)


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def certificate_id(cert: x509.Certificate) -> str:
    """The id of a certificate: sha256 of its DER, lowercase hex (AWS IoT uses the same)."""
    return cert.fingerprint(hashes.SHA256()).hex()


def key_id(cert: x509.Certificate) -> str:
    """sha256 of the certificate's SubjectPublicKeyInfo: what a denied controller is known by."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def common_name(cert: x509.Certificate) -> str | None:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer`'s key signed `cert` (and its subject is `cert`'s issuer name)."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def new_issuer(name: str = "powerctl fleet controllers CA") -> tuple[str, str]:
    """The fleet's own CA for controllers' HTTPS certificates: (cert PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return pem(cert), _key_pem(key)


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def validity(certificate_pem: str) -> tuple[datetime.datetime, datetime.datetime]:
    """When a PEM certificate starts and stops being valid (UTC)."""
    cert = load_pem(certificate_pem)
    return cert.not_valid_before_utc, cert.not_valid_after_utc


def _issue_leaf(
    issuer_pem: str,
    issuer_key_pem: str,
    name: str,
    days: float,
    now: datetime.datetime | None,
    usages: list[x509.ObjectIdentifier],
    hosts: list[str] | None = None,
) -> tuple[str, str]:
    """A certificate and fresh key signed by the issuer, with `name` as its common name, valid
    from 5 minutes before `now` (default: the present) for `days`."""
    issuer = load_pem(issuer_pem)
    issuer_key = serialization.load_pem_private_key(issuer_key_pem.encode(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = now or datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    )
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_san(h) for h in dict.fromkeys(hosts)]), critical=False
        )
    return pem(builder.sign(issuer_key, hashes.SHA256())), _key_pem(key)


def issue_server(
    issuer_pem: str,
    issuer_key_pem: str,
    controller_uuid: str,
    notify_url: str | None,
    *,
    days: float = SERVER_CERT_DAYS,
    now: datetime.datetime | None = None,
) -> tuple[str, str]:
    """A controller's HTTPS certificate and key, valid for its UUID, localhost and notify host,
    from 5 minutes before `now` (default: the present) for `days`."""
    hosts = [controller_uuid, "localhost", "127.0.0.1", "::1"]
    if notify_url and urlsplit(notify_url).hostname:
        hosts.insert(0, urlsplit(notify_url).hostname)
    return _issue_leaf(
        issuer_pem,
        issuer_key_pem,
        controller_uuid,
        days,
        now,
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        hosts,
    )


def issue_client(
    issuer_pem: str,
    issuer_key_pem: str,
    name: str,
    *,
    days: float = 7.0,
    now: datetime.datetime | None = None,
) -> tuple[str, str]:
    """A client-only certificate and key with `name` as its common name (the fleet server's
    notifier presents one, named by the fleet's peer UUID, to the controllers it notifies)."""
    return _issue_leaf(issuer_pem, issuer_key_pem, name, days, now, [ExtendedKeyUsageOID.CLIENT_AUTH])
