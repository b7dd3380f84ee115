"""Certificates from the fleet server: checked against their key and chain, installed as files."""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from powerctl.fleet.errors import BundleRefused

MAX_CHAIN = 8
log = logging.getLogger("powerctl.fleet")


def check(entry: tuple[str, str, str], position: int, now: datetime.datetime) -> None:
    """Refuse an entry whose certificate does not match its key or is not verified by its chain.

    `current[0]` must be valid now; later entries (the next ones, for rotation) may start later
    but must not have expired.
    """
    certificate, private, parent = entry
    where = f"current[{position}]"
    try:
        chain = x509.load_pem_x509_certificates(certificate.encode())
        anchors = x509.load_pem_x509_certificates(parent.encode())
    except ValueError as err:
        raise BundleRefused(f"{where}: not a PEM certificate ({err})") from None
    try:
        key = serialization.load_pem_private_key(private.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise BundleRefused(f"{where}.private: not an unencrypted PEM private key ({err})") from None
    leaf = chain[0]
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    pem = serialization.Encoding.PEM
    if key.public_key().public_bytes(pem, spki) != leaf.public_key().public_bytes(pem, spki):
        raise BundleRefused(f"{where}: the certificate does not match its private key")
    if leaf.not_valid_after_utc <= now:
        raise BundleRefused(f"{where}: the certificate expired at {leaf.not_valid_after_utc}")
    if position == 0 and leaf.not_valid_before_utc > now:
        raise BundleRefused(f"{where}: the certificate is not valid before {leaf.not_valid_before_utc}")
    if not _verified(leaf, chain[1:], anchors):
        raise BundleRefused(f"{where}: public_parent does not verify the certificate")


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _verified(
    leaf: x509.Certificate, intermediates: list[x509.Certificate], anchors: list[x509.Certificate]
) -> bool:
    """Whether a path of signatures leads from the leaf to one of the anchors."""
    current = leaf
    for _ in range(MAX_CHAIN):
        if any(_issued_by(current, anchor) for anchor in anchors):
            return True
        step = next((c for c in intermediates if c is not current and _issued_by(current, c)), None)
        if step is None:
            return False
        current = step
    return False


def folder(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / "tls" / "fleet"


def server_pem(data_dir: str | os.PathLike) -> Path:
    """The installed key and certificate in one file, so a reader never sees a mismatched pair."""
    return folder(data_dir) / "server.pem"


def install(data_dir: str | os.PathLike, entry: tuple[str, str, str]) -> None:
    """Write current[0] as tls/fleet/server.pem (key + certificate) and parent.pem, atomically."""
    staged = Staged(data_dir, entry)
    staged.write()
    staged.commit()


@contextlib.contextmanager
def staged(
    data_dir: str | os.PathLike, entry: tuple[str, str, str] | None
) -> Iterator[Callable[[], None] | None]:
    """For a store transaction that makes `entry` current[0]: yields the `before_commit` that
    writes its files beside the served ones (None for no entry). After the block they are put
    in place, or deleted if the block raised. A rename that fails after the commit is logged:
    the store holds the certificate, and the sync thread's reconcile() serves it next round."""
    if entry is None:
        yield None
        return
    files = Staged(data_dir, entry)
    try:
        yield files.write
    except BaseException:
        files.discard()
        raise
    try:
        files.commit()
    except OSError as err:
        log.error("fleet certificate held but not yet served: %s", err)


class Staged:
    """current[0]'s files written beside the served ones, put in place only by commit().

    A sync writes them inside its transaction (a full disk refuses the bundle, nothing changed)
    and renames them after the commit, so a failed commit never leaves a newer certificate
    served than the one the store holds.
    """

    def __init__(self, data_dir: str | os.PathLike, entry: tuple[str, str, str]):
        certificate, private, parent = entry
        self.target = folder(data_dir)
        self.files = {"parent.pem": parent, "server.pem": private.strip() + "\n" + certificate.strip() + "\n"}
        self._written: list[str] = []

    def write(self) -> None:
        self.target.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, text in self.files.items():
            path = self.target / name
            if path.exists() and path.read_text() == text:
                continue  # unchanged: the served certificate is not reloaded for nothing
            fd = os.open(self._new(name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            self._written.append(name)
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())

    def commit(self) -> None:
        """Put the written files in place: parent.pem first, so a reader of server.pem (the
        live TLS context) never meets a certificate its chain file does not yet verify."""
        while self._written:
            name = self._written[0]
            os.replace(self._new(name), self.target / name)
            self._written.pop(0)

    def discard(self) -> None:
        for name in self._written:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._new(name))
        self._written.clear()

    def _new(self, name: str) -> Path:
        return self.target / (name + ".new")
