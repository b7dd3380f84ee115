"""Rotation between syncs: when current[0] expires, the next held certificate takes its place."""

from __future__ import annotations

import datetime

from cryptography import x509

from powerctl.fleet import certs
from powerctl.store import Database
from powerctl.store import fleet as store


def _validity(pem: str) -> tuple[datetime.datetime, datetime.datetime]:
    cert = x509.load_pem_x509_certificate(pem.encode())
    return cert.not_valid_before_utc, cert.not_valid_after_utc


def next_due(db: Database, now: datetime.datetime) -> datetime.datetime | None:
    """When current[0] expires, if that is still ahead and a next certificate is held."""
    held = store.certificates(db)
    due = _validity(held[0][0])[1] if len(held) > 1 else None
    return due if due is not None and due > now else None


def rotate(db: Database, data_dir: str, now: datetime.datetime) -> int | None:
    """Promote the first later certificate valid at `now` once current[0] has expired.

    Returns the position promoted, or None when nothing was due. Every entry was checked
    against its key and chain when its bundle was accepted.
    """
    held = store.certificates(db)
    if len(held) < 2 or _validity(held[0][0])[1] > now:
        return None
    for position, entry in enumerate(held[1:], start=1):
        start, end = _validity(entry[0])
        if start <= now < end:
            with certs.staged(data_dir, entry) as write:
                store.promote(db, position, write)
            return position
    return None
