"""Server-wide values kept in the database, so every fleet server instance shares them."""

from __future__ import annotations

import datetime
import json
import math
import os
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fleetserver import pki
from fleetserver.database import FleetDatabase
from fleetserver.models import Setting


def _get_or_create(db: FleetDatabase, key: str, make: Callable[[], str]) -> str:
    with db.writing() as session:
        row = session.get(Setting, key)
        if row is None:
            row = Setting(key=key, value=make())
            session.add(row)
        return row.value


def fleet_peer_uuid(db: FleetDatabase) -> str:
    """The UUID the fleet server has as a peer in every controller's bundle."""
    return _get_or_create(db, "fleet_peer_uuid", lambda: str(uuid.uuid4()))


def registration_code(db: FleetDatabase) -> str:
    """The CN a CA's verification certificate must carry to prove possession of the CA key."""
    return _get_or_create(db, "registration_code", lambda: secrets.token_hex(32))


def issuer(db: FleetDatabase) -> tuple[str, str]:
    """The CA that issues controllers' HTTPS certificates: (cert PEM, key PEM)."""
    pair = _get_or_create(db, "issuer", lambda: json.dumps(pki.new_issuer()))
    cert, key = json.loads(pair)
    return cert, key


RENEW_BEFORE_DAYS = 30.0


@dataclass(frozen=True)
class CertificatePolicy:
    """How long controllers' HTTPS certificates last, and how long before the current one
    expires the next one is issued and staged."""

    validity_days: float = pki.SERVER_CERT_DAYS
    renew_before_days: float = RENEW_BEFORE_DAYS

    @property
    def renew_before(self) -> datetime.timedelta:
        return datetime.timedelta(days=self.renew_before_days)


# field: (setting key, environment variable, default)
_POLICY = {
    "validity_days": ("server_cert_days", "POWERCTL_FLEET_SERVER_CERT_DAYS", pki.SERVER_CERT_DAYS),
    "renew_before_days": ("renew_before_days", "POWERCTL_FLEET_RENEW_BEFORE_DAYS", RENEW_BEFORE_DAYS),
}


def _days(name: str, text: str, positive: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be a number of days{' above 0' if positive else ''}, not {text!r}")
    return value


def certificate_policy(db: FleetDatabase, environ: Mapping[str, str] | None = None) -> CertificatePolicy:
    """The policy stored for the fleet; $POWERCTL_FLEET_SERVER_CERT_DAYS and
    $POWERCTL_FLEET_RENEW_BEFORE_DAYS, when set, replace the stored values (at every start)."""
    environ = os.environ if environ is None else environ
    values = {}
    given_any = any(environ.get(variable) for _key, variable, _default in _POLICY.values())
    with db.writing() if given_any else db.reading() as session:
        for field, (key, variable, default) in _POLICY.items():
            given = environ.get(variable)
            positive = field == "validity_days"
            row = session.get(Setting, key)
            if given:
                value = _days(variable, given, positive)
                if row is None:
                    session.add(Setting(key=key, value=repr(value)))
                else:
                    row.value = repr(value)
            else:
                value = _days(key, row.value, positive) if row is not None else default
            values[field] = value
    if values["renew_before_days"] >= values["validity_days"]:
        # a next certificate issued then would end no later than the current one
        raise ValueError(
            "POWERCTL_FLEET_RENEW_BEFORE_DAYS (renew_before_days,"
            f" {values['renew_before_days']:g}) must be less than"
            " POWERCTL_FLEET_SERVER_CERT_DAYS (server_cert_days,"
            f" {values['validity_days']:g})"
        )
    return CertificatePolicy(**values)
