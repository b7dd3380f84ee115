"""SNMP GET and SET for one agent through pysnmp's asyncio API, on a private event loop.

pysnmp 7 has no synchronous API, and an asyncio engine belongs to one loop. Each session runs its
own loop in a thread of its own, started by the first open() and stopped when the session is
collected (or the process exits); the board's callers (monitor and request threads, one at a time
under the board's lock) hand it one coroutine at a time and wait no longer than their deadline.
close() only refuses requests until the next open(): UDP has no connection to drop, and keeping
the engine spares a second of CPU per reopen while a PDU is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from ..errors import BoardProtocolError, BoardUnavailable
from ..registry import import_extra

# A GET carries at most this many OIDs; agents refuse big PDUs with tooBig (APC cards at about 64).
MAX_OIDS = 24
# Attempts never get less than this, so a nearly spent budget does not send hopeless requests.
MIN_WAIT = 0.05


@dataclass(frozen=True)
class Credentials:
    """How to authenticate: a v2c community, or a v3 user with optional keys (secrets stay Hidden)."""

    version: str
    community: str = ""
    user: str = ""
    auth_key: str | None = None
    priv_key: str | None = None
    auth_protocol: str = "SHA"
    priv_protocol: str = "AES"
    context: str = ""


def _hlapi() -> Any:
    return import_extra("snmp", "pysnmp.hlapi.v3arch.asyncio", "powerctl[snmp]")


_mib_view: list[Any] = []  # pysnmp's compiled base MIBs, loaded once per process
_mib_lock = threading.Lock()


def mib_view() -> Any:
    """The MIB view every session's engine resolves OIDs with, loaded on first use.

    pysnmp resolves even numeric OIDs through a MIB view, and loading its base MIBs takes
    seconds on a busy machine: paid once at build time, not within a board's first deadline.
    Once loaded it is only read.
    """
    with _mib_lock:
        if not _mib_view:
            hlapi = _hlapi()
            smi = import_extra("snmp", "pysnmp.smi.view", "powerctl[snmp]")
            builder = import_extra("snmp", "pysnmp.smi.builder", "powerctl[snmp]")
            view = smi.MibViewController(builder.MibBuilder())
            hlapi.ObjectType(hlapi.ObjectIdentity("1.3.6.1.2.1.1.2.0")).resolve_with_mib(view)
            _mib_view.append(view)
        return _mib_view[0]


def _auth_data(hlapi: Any, credentials: Credentials) -> Any:
    if credentials.version == "2c":
        return hlapi.CommunityData(str(credentials.community), mpModel=1)
    auth = {
        "MD5": hlapi.usmHMACMD5AuthProtocol,
        "SHA": hlapi.usmHMACSHAAuthProtocol,
        "SHA224": hlapi.usmHMAC128SHA224AuthProtocol,
        "SHA256": hlapi.usmHMAC192SHA256AuthProtocol,
        "SHA384": hlapi.usmHMAC256SHA384AuthProtocol,
        "SHA512": hlapi.usmHMAC384SHA512AuthProtocol,
    }
    priv = {
        "DES": hlapi.usmDESPrivProtocol,
        "3DES": hlapi.usm3DESEDEPrivProtocol,
        "AES": hlapi.usmAesCfb128Protocol,
        "AES192": hlapi.usmAesCfb192Protocol,
        "AES256": hlapi.usmAesCfb256Protocol,
    }
    options: dict[str, Any] = {}
    if credentials.auth_key:
        options |= {"authKey": str(credentials.auth_key), "authProtocol": auth[credentials.auth_protocol]}
    if credentials.priv_key:
        options |= {"privKey": str(credentials.priv_key), "privProtocol": priv[credentials.priv_protocol]}
    return hlapi.UsmUserData(credentials.user, **options)


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_forever()
    loop.close()


def _shut_down(loop: asyncio.AbstractEventLoop, engine: Any) -> None:
    """Close the engine's socket on its loop, then stop the loop (its thread closes it)."""

    async def stop() -> None:
        if engine.transport_dispatcher is not None:
            engine.close_dispatcher()

    if loop.is_running():
        with contextlib.suppress(FutureTimeout, OSError, RuntimeError):
            asyncio.run_coroutine_threadsafe(stop(), loop).result(1.0)
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.stop)


class SnmpSession:
    """One agent's GETs and SETs; each call either answers or raises within its deadline.

    Failures map to hw's errors: no answer in time, or an agent that refuses us (wrong
    community, unknown user, bad keys) is BoardUnavailable; an answer that says no (an error
    status, an OID the agent does not have, a value of the wrong kind) is BoardProtocolError.
    Messages name OIDs and pysnmp's reason, never a community or a key.
    """

    def __init__(
        self, host: str, port: int, credentials: Credentials, *, name: str, url: str, attempt: float
    ) -> None:
        self.name = name
        self.url = url
        self._address = (host, port)
        self._credentials = credentials
        self._attempt = attempt  # seconds one request waits for its answer
        self._open = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._target: Any = None
        # Made here, at build time: an engine costs a good part of a second of CPU, too much to
        # spend within a deadline or again at each reopen while a PDU is away.
        hlapi = self._hlapi = _hlapi()
        self._engine = hlapi.SnmpEngine()
        self._engine.cache["mibViewController"] = mib_view()
        self._auth = _auth_data(hlapi, credentials)
        self._context = hlapi.ContextData(contextName=credentials.context)

    @property
    def is_open(self) -> bool:
        return self._open

    def open(self, deadline: float) -> None:
        """Resolve the agent's address (starting the loop the first time); nothing is sent yet."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            name = f"snmp-{self.name}"
            threading.Thread(target=_serve, args=(self._loop,), name=name, daemon=True).start()
            # The loop and its UDP socket stay while the board is offline and go with the session.
            weakref.finalize(self, _shut_down, self._loop, self._engine)
        self._target = self._run(self._resolve(), deadline, "resolving the agent's address")
        self._open = True

    async def _resolve(self) -> Any:
        return await self._hlapi.UdpTransportTarget.create(self._address, timeout=self._attempt, retries=0)

    def close(self) -> None:
        """Refuse requests until the next open; safe to call when closed."""
        self._open = False

    def get(self, oids: Sequence[str], deadline: float, attempts: int = 1) -> list[Any]:
        """The values of oids, in order; a GET that timed out is sent again, up to `attempts` times."""
        values: list[Any] = []
        for start in range(0, len(oids), MAX_OIDS):
            chunk = oids[start : start + MAX_OIDS]
            for attempt in range(attempts):
                try:
                    values.extend(self._request("get", chunk, deadline=deadline))
                    break
                except BoardUnavailable as exc:
                    last = attempt == attempts - 1 or deadline - time.monotonic() < MIN_WAIT
                    if last or not isinstance(exc.__cause__, TimeoutError):
                        raise
        return values

    def set(self, oid: str, value: int, deadline: float) -> None:
        """SET one Integer32, once: a SET that timed out may still have been applied."""
        self._request("set", [oid], value, deadline=deadline)

    def _request(
        self, kind: str, oids: Sequence[str], value: int | None = None, *, deadline: float
    ) -> list[Any]:
        if not self._open or self._loop is None:
            raise BoardUnavailable("session is closed", self.name, self.url)
        what = f"SNMP {kind.upper()} {oids[0]}" + (f" and {len(oids) - 1} more" if len(oids) > 1 else "")
        return self._run(self._call(kind, oids, value, what), deadline, what)

    async def _call(self, kind: str, oids: Sequence[str], value: int | None, what: str) -> list[Any]:
        hlapi = self._hlapi
        if kind == "get":
            binds = [hlapi.ObjectType(hlapi.ObjectIdentity(oid)) for oid in oids]
            command = hlapi.get_cmd
        else:
            binds = [hlapi.ObjectType(hlapi.ObjectIdentity(oids[0]), hlapi.Integer32(value))]
            command = hlapi.set_cmd
        indication, status, index, answers = await command(
            self._engine, self._auth, self._target, self._context, *binds, lookupMib=False
        )
        if indication:
            errind = import_extra("snmp", "pysnmp.proto.errind", "powerctl[snmp]")
            if isinstance(indication, errind.RequestTimedOut):
                raise TimeoutError(f"no reply to {what}")
            raise ConnectionRefusedError(f"{what}: {indication}")
        if status:
            culprit = oids[int(index) - 1] if 0 < int(index) <= len(oids) else oids[0]
            raise ValueError(f"{what}: the agent answered {status.prettyPrint()} for {culprit}")
        return [answer[1] for answer in answers]

    def _run(self, coroutine: Any, deadline: float, what: str) -> Any:
        loop = self._loop
        assert loop is not None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            coroutine.close()
            raise BoardUnavailable(f"no time left for {what}", self.name, self.url)
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(coroutine, remaining), loop)
        try:
            return future.result(remaining + 0.5)
        except (TimeoutError, FutureTimeout) as exc:
            future.cancel()
            message = str(exc) if str(exc) else f"no reply to {what}"
            raise BoardUnavailable(f"{message} within {self._attempt:g} s", self.name, self.url) from (
                TimeoutError()
            )
        except ConnectionRefusedError as exc:
            raise BoardUnavailable(str(exc), self.name, self.url) from exc
        except ValueError as exc:
            raise BoardProtocolError(str(exc), self.name, self.url) from exc
        except OSError as exc:
            raise BoardUnavailable(f"{what}: {exc.strerror or exc}", self.name, self.url) from exc
