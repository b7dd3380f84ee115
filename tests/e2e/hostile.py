"""Hostile connections for tests and `bench/slow_clients.py`, and the probe that times a request.

A Crowd keeps `count` connections open against a server from a background thread: slow
headers (one byte every `trickle` seconds, never ending), slow bodies (a header announcing
1 MB, then one byte every `trickle` seconds), idle (connected, silent) and half-open TLS (the
first 4 bytes of a TLS record, then nothing). A connection the server closes is opened again
after a pause, so the crowd stays as large as the server lets it be.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import ssl
import threading
import time

KINDS = ("slow-header", "slow-body", "idle", "half-open-tls")
SLOW_HEADER = b"GET /restapi/ HTTP/1.1\r\nHost: powerctl\r\n"
SLOW_BODY = b"PUT /restapi/relay/name/ HTTP/1.1\r\nHost: powerctl\r\nContent-Length: 1000000\r\n\r\n"
HALF_TLS = b"\x16\x03\x01\x02"  # a handshake record header, missing its last length byte


class Crowd:
    """`count` hostile connections to host:port from `sources` (loopback addresses), in turn."""

    def __init__(
        self,
        host: str,
        port: int,
        count: int,
        *,
        tls: ssl.SSLContext | None = None,
        sources: tuple[str, ...] = ("127.0.0.2",),
        trickle: float = 2.0,
        pause: float = 1.0,
    ):
        self.host, self.port, self.count, self.tls = host, port, count, tls
        self.sources, self.trickle, self.pause = sources, trickle, pause
        self.open = 0  # connected right now
        self.opened = 0  # connections made in all
        self.turned_away = 0  # closed (or answered 503) by the server within a second of connecting
        self.closed = 0  # closed later by the server: a deadline
        self.failed = 0  # could not connect (or the TLS handshake failed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    def __enter__(self) -> Crowd:
        self._thread.start()
        self._ready.wait(30)
        return self

    def __exit__(self, *_exc) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def wait_open(self, at_least: int, timeout: float) -> bool:
        """Wait until `at_least` connections are open together (the ramp is done)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.open >= at_least:
                return True
            time.sleep(0.05)
        return self.open >= at_least

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        slots = [asyncio.create_task(self._slot(i)) for i in range(self.count)]
        await self._stop.wait()
        for slot in slots:
            slot.cancel()
        await asyncio.gather(*slots, return_exceptions=True)

    async def _slot(self, index: int) -> None:
        kind = KINDS[index % len(KINDS)]
        source = self.sources[index % len(self.sources)]
        while True:
            started = time.monotonic()
            try:
                handshake = self.tls if kind in ("slow-header", "slow-body") else None
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        self.host,
                        self.port,
                        local_addr=(source, 0),
                        ssl=handshake,
                        server_hostname=self.host if handshake else None,
                    ),
                    30,
                )
            except (OSError, TimeoutError):
                self.failed += 1
                await asyncio.sleep(self.pause)
                continue
            self.open += 1
            self.opened += 1
            try:
                await self._behave(kind, reader, writer)
            except (OSError, TimeoutError):
                pass
            finally:
                self.open -= 1
                writer.transport.abort()
            if time.monotonic() - started < 1.0:
                self.turned_away += 1
            else:
                self.closed += 1
            await asyncio.sleep(self.pause)

    async def _behave(self, kind: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Misbehave until the server closes the connection (or answers: the cap's 503)."""
        first = {"slow-header": SLOW_HEADER, "slow-body": SLOW_BODY, "half-open-tls": HALF_TLS}.get(kind)
        if first:
            writer.write(first)
        drip = b"X-Slow: 1\r\n" if kind == "slow-header" else b"x"
        position = 0
        while True:
            try:
                got = await asyncio.wait_for(reader.read(4096), self.trickle)
            except TimeoutError:
                got = None
            if got is not None:
                return  # closed (b"") or answered
            if kind in ("slow-header", "slow-body"):
                writer.write(drip[position : position + 1])
                position = (position + 1) % len(drip)


def probe(
    host: str,
    port: int,
    path: str,
    tls: ssl.SSLContext | None,
    timeout: float = 5.0,
    headers: dict | None = None,
) -> float | None:
    """Seconds for one request on a new connection from 127.0.0.1 (None: no answer in time)."""
    started = time.perf_counter()
    if tls is None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout, source_address=("127.0.0.1", 0))
    else:
        conn = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=tls, source_address=("127.0.0.1", 0)
        )
    try:
        conn.request("GET", path, headers=headers or {})
        answer = conn.getresponse()
        answer.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        with contextlib.suppress(OSError):
            conn.close()
    return time.perf_counter() - started


def client_context(cafile: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)
