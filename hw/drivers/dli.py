"""DLI REST upstream (`driver = "dli"`): a DLI Web Power Switch, or another powerctl, as a board.

Its outlets are read with one matrix GET (`relay/outlets/=a,b,c/physical_state/`) and switched by
PUT of `relay/outlets/N/state/`, then read back, so a scoped bearer token that covers only these
outlets is enough. There is no emulator: the tests chain two real powerctl processes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from marshmallow import ValidationError, fields, validates_schema

from ..board import Board
from ..config import BoardConfig
from ..errors import BoardProtocolError, BoardUnavailable
from ..meters import MeterReading
from ..registry import Driver, relay_range
from ..settings import Hidden, Integer, Number, Secret, Settings, String, between, positive
from .http_transport import EXTRA, HttpTransport

READ_BACK_INTERVAL = 0.05  # s between reads while waiting for a switch to show


@dataclass(frozen=True)
class DliSettings:
    url: str
    verify: bool | str = True
    user: str | None = None
    password: Hidden | None = None
    token: Hidden | None = None
    first_outlet: int = 0
    timeout: float = 5.0


def _https(value: str) -> None:
    if not value.startswith("https://") or len(value) <= len("https://") or "@" in value:
        raise ValidationError("must be https://HOST[:PORT], without credentials in it")


class _Verify(fields.Field):
    """true, false, or the path of a CA file (requests' `verify`)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or (isinstance(value, str) and value):
            return value
        raise ValidationError("must be true, false or the path of a CA file")


class DliSchema(Settings):
    model = DliSettings

    url = String(required=True, validate=_https)
    verify = _Verify(load_default=True)
    user = String(load_default=None)
    password = Secret(load_default=None)
    token = Secret(load_default=None)
    first_outlet = Integer(load_default=0, validate=between(0, 1023))
    timeout = Number(load_default=5.0, validate=positive)

    @validates_schema
    def _one_credential(self, data: dict, **_kwargs) -> None:
        digest = data.get("user") is not None or data.get("password") is not None
        if digest and data.get("token") is not None:
            raise ValidationError("give either user and password, or token, not both", "token")
        if digest and (data.get("user") is None or data.get("password") is None):
            raise ValidationError(
                "is required with user" if data.get("user") else "is required with password",
                "password" if data.get("user") else "user",
            )
        if not digest and data.get("token") is None:
            raise ValidationError(
                "is required: user and password (digest), or token (client.base64url)", "token"
            )


class DliBoard(Board):
    def __init__(self, name: str, relays: int, settings: DliSettings, transport: HttpTransport) -> None:
        self.name = name
        self.url = settings.url
        self.relay_count = relays
        self.timeout = settings.timeout
        self._first = settings.first_outlet
        self._http = transport
        indexes = ",".join(str(self._first + i) for i in range(relays))
        self._states_path = f"/restapi/relay/outlets/={indexes}/physical_state/"

    def open(self, deadline: float) -> None:
        self._http.open()
        self.read_states(deadline)

    def close(self) -> None:
        self._http.close()

    def read_states(self, deadline: float) -> list[bool]:
        states = self._http.json("GET", self._states_path, deadline)
        if not isinstance(states, list) or len(states) != self.relay_count:
            raise BoardProtocolError(
                f"expected {self.relay_count} outlet states from upstream, got {str(states)[:60]}",
                self.name,
                self.url,
            )
        if any(state is None for state in states):
            raise BoardUnavailable("an upstream outlet's board does not answer", self.name, self.url)
        if not all(isinstance(state, bool) for state in states):
            raise BoardProtocolError(
                f"upstream states are not booleans: {str(states)[:60]}", self.name, self.url
            )
        return states

    def write_states(self, states: Sequence[bool], deadline: float) -> None:
        for on in (True, False):
            chosen = [str(self._first + i) for i, state in enumerate(states) if state is on]
            if chosen:
                self._put(f"/restapi/relay/outlets/={','.join(chosen)}/state/", on, deadline)
        self._confirm(list(states), deadline)

    def set_relay(self, index: int, on: bool, deadline: float) -> None:
        self._put(f"/restapi/relay/outlets/{self._first + index}/state/", on, deadline)
        self._confirm({index: on}, deadline)

    def _put(self, path: str, on: bool, deadline: float) -> None:
        self._http.request(
            "PUT",
            path,
            deadline,
            data={"value": "true" if on else "false"},
            headers={"X-CSRF": "x"},
        )

    def _confirm(self, wanted, deadline: float) -> None:
        """Read back until the upstream shows what was written (its board may lag a little)."""
        pairs = wanted.items() if isinstance(wanted, dict) else enumerate(wanted)
        while True:
            states = self.read_states(deadline)
            if all(states[i] is on for i, on in pairs):
                return
            if time.monotonic() + READ_BACK_INTERVAL >= deadline:
                raise BoardProtocolError(
                    "the upstream did not show the switch before the deadline", self.name, self.url
                )
            time.sleep(READ_BACK_INTERVAL)
            pairs = wanted.items() if isinstance(wanted, dict) else enumerate(wanted)

    def read_meters(self, deadline: float) -> dict[str, MeterReading]:
        return {}

    def idle_meters(self) -> dict[str, MeterReading]:
        return {}


def build(config: BoardConfig, _ordinal: int) -> DliBoard:
    settings: DliSettings = config.settings
    headers = {"Accept": "application/json"}
    auth = None
    if settings.token is not None:
        headers["Authorization"] = f"Bearer {settings.token}"
    else:
        from requests.auth import HTTPDigestAuth

        auth = HTTPDigestAuth(settings.user, str(settings.password))
    transport = HttpTransport(config.name, settings.url, verify=settings.verify, auth=auth, headers=headers)
    return DliBoard(config.name, config.relays, settings, transport)


DRIVER = Driver(
    summary="a DLI Web Power Switch or another powerctl, over its REST API",
    build=build,
    relays=relay_range(1, 1024),
    settings=DliSchema(),
    default_relays=None,
    needs={"requests": EXTRA},
)
