"""SNMP PDUs (`driver = "snmp"`): settings, and the device layer over SnmpSession for one profile.

The profiles (OIDs and values per PDU family) are in snmp_profiles.py, the pysnmp session in
snmp_client.py, and the emulator (snmpsim with a data file per profile) in snmp_emulator.py.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from marshmallow import ValidationError, validates_schema

from ..board import Board
from ..config import BoardConfig
from ..errors import BoardProtocolError, BoardUnavailable
from ..meters import MeterReading
from ..registry import Driver, relay_range
from ..settings import Hidden, Integer, Number, Secret, Settings, String, between, not_empty, one_of, positive
from .snmp_client import Credentials, SnmpSession
from .snmp_profiles import PROFILES, Profile

AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
PRIV_PROTOCOLS = ("DES", "3DES", "AES", "AES192", "AES256")
MIN_KEY = 8  # RFC 3414: USM passphrases have at least 8 characters
CONFIRM_POLL = 0.05  # seconds between reads while an outlet has not switched yet
MAX_OUTLETS = 64


def _on_off(on: bool) -> str:
    return "On" if on else "Off"


class SnmpBoard(Board):
    """One PDU of a profile: outlet i is MIB index i + 1."""

    def __init__(
        self,
        name: str,
        relay_count: int,
        profile: Profile,
        session: SnmpSession,
        *,
        timeout: float,
        retries: int,
        bus: int,
    ) -> None:
        self.name = name
        self.url = session.url
        self.relay_count = relay_count
        self.timeout = timeout
        self.profile = profile
        self._session = session
        self._attempts = retries + 1
        self._bus = bus
        self._digits: dict[str, int] = {}

    def open(self, deadline: float) -> None:
        self._session.open(deadline)
        try:
            # The agent must answer for this profile's outlets, and meter scales do not change.
            # One attempt only: while the PDU is away, each reopen holds the board's lock for
            # one request's wait, not for the whole budget.
            self._state(0, self._session.get([self.profile.state_oid(0)], deadline, 1)[0])
            digits = [meter.digits_oid for meter in self.profile.meters if meter.digits_oid]
            self._digits = dict(zip(digits, map(self._integer, self._get(digits, deadline)), strict=True))
        except BaseException:
            self._session.close()
            raise

    def close(self) -> None:
        self._session.close()

    def read_states(self, deadline: float) -> list[bool]:
        oids = [self.profile.state_oid(i) for i in range(self.relay_count)]
        return [self._state(i, value) for i, value in enumerate(self._get(oids, deadline))]

    def write_states(self, states: Sequence[bool], deadline: float) -> None:
        # One SET per outlet that differs: a PDU sequences its outlets, and a SET is per outlet.
        for index, (now, wanted) in enumerate(zip(self.read_states(deadline), states, strict=True)):
            if now != wanted:
                self._command(index, bool(wanted), deadline)

    def set_relay(self, index: int, on: bool, deadline: float) -> None:
        self._command(index, on, deadline)
        # PDUs switch after answering the SET (and may delay it): poll until it shows or time is up.
        while self._read_one(index, deadline) != on:
            if time.monotonic() + CONFIRM_POLL >= deadline:
                message = f"outlet {index + 1} still reports {_on_off(not on)} after it was set {_on_off(on)}"
                raise BoardProtocolError(message, self.name, self.url)
            time.sleep(CONFIRM_POLL)

    def read_meters(self, deadline: float) -> dict[str, MeterReading]:
        meters = self.profile.meters
        values = self._get([meter.oid for meter in meters], deadline) if meters else []
        readings = {}
        for (meter_id, idle), meter, value in zip(self.idle_meters().items(), meters, values, strict=True):
            digits = self._digits.get(meter.digits_oid or "", 0)
            number = round(self._integer(value) * meter.scale / 10**digits, 6)
            readings[meter_id] = MeterReading(idle.name, number, idle.unit, idle.bus, idle.quantity)
        return readings

    def idle_meters(self) -> dict[str, MeterReading]:
        return {
            f"pdu.{self._bus}.{meter.key}": MeterReading(
                f"PDU {self._bus} {meter.name.lower()}", None, meter.unit, None, meter.quantity
            )
            for meter in self.profile.meters
        }

    def outlet_names(self, deadline: float) -> list[str]:
        """Each outlet's name as the PDU has it configured."""
        oids = [self.profile.name_oid(i) for i in range(self.relay_count)]
        return [self._text(value) for value in self._get(oids, deadline)]

    def _command(self, index: int, on: bool, deadline: float) -> None:
        """SET the outlet; a SET whose answer was lost is read back before it is sent again."""
        oid, value = self.profile.command_oid(index), self.profile.on if on else self.profile.off
        for attempt in range(self._attempts):
            try:
                self._session.set(oid, value, deadline)
                return
            except BoardUnavailable as exc:
                if not isinstance(exc.__cause__, TimeoutError) or attempt == self._attempts - 1:
                    raise
            if self._read_one(index, deadline) == on:
                return

    def _read_one(self, index: int, deadline: float) -> bool:
        return self._state(index, self._get([self.profile.state_oid(index)], deadline)[0])

    def _get(self, oids: Sequence[str], deadline: float) -> list[Any]:
        return self._session.get(oids, deadline, self._attempts)

    def _state(self, index: int, value: Any) -> bool:
        number = self._integer(value, f"outlet {index + 1}")
        if number not in (self.profile.reads_on, self.profile.reads_off):
            expected = f"{self.profile.reads_on} for on or {self.profile.reads_off} for off"
            raise BoardProtocolError(
                f"outlet {index + 1} reports {number}, not {expected}", self.name, self.url
            )
        return number == self.profile.reads_on

    def _integer(self, value: Any, what: str = "a meter") -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            shown = value.prettyPrint() if hasattr(value, "prettyPrint") else repr(value)
            raise BoardProtocolError(f"{what}: the agent answered {shown}", self.name, self.url) from None

    @staticmethod
    def _text(value: Any) -> str:
        return value.prettyPrint() if hasattr(value, "prettyPrint") else str(value)


@dataclass(frozen=True)
class SnmpSettings:
    """An SNMP board's own keys, validated; community and keys are Hidden."""

    host: str
    profile: str
    port: int = 161
    version: str = "2c"
    community: Hidden | None = None
    user: str | None = None
    auth_key: Hidden | None = None
    priv_key: Hidden | None = None
    auth_protocol: str = "SHA"
    priv_protocol: str = "AES"
    context: str = ""
    timeout: float = 2.0
    retries: int = 2


def _key_length(value: str) -> None:
    if len(value) < MIN_KEY:
        raise ValidationError(f"must have at least {MIN_KEY} characters")


class SnmpSchema(Settings):
    model = SnmpSettings
    V3_KEYS: ClassVar[tuple[str, ...]] = ("user", "auth_key", "priv_key")

    host = String(required=True, validate=not_empty)
    profile = String(required=True, validate=one_of(PROFILES))
    port = Integer(load_default=161, validate=between(1, 65535))
    version = String(load_default="2c", validate=one_of(("2c", "3")))
    community = Secret(load_default=None, validate=not_empty)
    user = String(load_default=None, validate=not_empty)
    auth_key = Secret(load_default=None, validate=_key_length)
    priv_key = Secret(load_default=None, validate=_key_length)
    auth_protocol = String(load_default="SHA", validate=one_of(AUTH_PROTOCOLS))
    priv_protocol = String(load_default="AES", validate=one_of(PRIV_PROTOCOLS))
    context = String(load_default="")
    timeout = Number(load_default=2.0, validate=positive)
    retries = Integer(load_default=2, validate=between(0, 10))

    @validates_schema
    def _version_keys(self, data: dict[str, Any], **kwargs: object) -> None:
        if data.get("version") == "3":
            if data.get("community") is not None:
                raise ValidationError(
                    "is for version 2c; version 3 uses user, auth_key, priv_key", "community"
                )
            if data.get("user") is None:
                raise ValidationError("is required for version 3", "user")
            if data.get("priv_key") is not None and data.get("auth_key") is None:
                raise ValidationError("is required when priv_key is set", "auth_key")
        else:
            for key in self.V3_KEYS:
                if data.get(key) is not None:
                    raise ValidationError('is for version "3"', key)


def build(config: BoardConfig, ordinal: int) -> SnmpBoard:
    """A board for config.settings.profile; nothing is sent yet."""
    settings: SnmpSettings = config.settings
    credentials = Credentials(
        settings.version,
        community=settings.community or Hidden("public"),
        user=settings.user or "",
        auth_key=settings.auth_key,
        priv_key=settings.priv_key,
        auth_protocol=settings.auth_protocol,
        priv_protocol=settings.priv_protocol,
        context=settings.context,
    )
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    session = SnmpSession(
        settings.host,
        settings.port,
        credentials,
        name=config.name,
        url=f"snmp://{host}:{settings.port}",
        attempt=settings.timeout / (settings.retries + 1),
    )
    profile = PROFILES[settings.profile]
    return SnmpBoard(
        config.name,
        config.relays,
        profile,
        session,
        timeout=settings.timeout,
        retries=settings.retries,
        bus=ordinal,
    )


DRIVER = Driver(
    summary="SNMP PDUs (APC rPDU and MasterSwitch, Raritan PX2/PX3) through pysnmp",
    build=build,
    relays=relay_range(1, MAX_OUTLETS),
    settings=SnmpSchema(),
    default_relays=None,
    emulator="hw.drivers.snmp_emulator:main",
    needs={"pysnmp": "powerctl[snmp]"},
)
