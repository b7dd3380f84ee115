"""The pdudaemon listener: pdudaemon's HTTP API and its TCP line protocol on one port, on an event loop.

A connection costs no thread while it is read: a request that is not complete within
`header_timeout` is dropped, one address may hold at most `per_address` connections (the excess
is closed at once), and only the action itself runs on a worker thread. A connection that starts
with an HTTP method is HTTP (parsed by h11); anything else is the line protocol
`hostname port command [delay]`, answered `ack` or `nack: reason`, when `tcp` is on.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import h11

import hw
from powerctl import errors
from powerctl.domain import PowerctlError
from powerctl.pdudaemon.service import PduDaemon, PduError, Request

log = logging.getLogger("powerctl.pdudaemon")
MAX_REQUEST = 16384
_HTTP = re.compile(rb"^[A-Z]{3,7} /")
_PATH = re.compile(r"^/power/control/([a-z-]{1,20})/?$")
REBOOT_GRACE = 2.0  # s past the delay for the outlet to be seen on again


class Listener:
    def __init__(self, service: PduDaemon, settings: dict):
        self._service = service
        host, _, port = settings["bind"].rpartition(":")
        self._host, self._port = host.strip("[]"), int(port)
        self._http = settings["http"]
        self._tcp = settings["tcp"]
        self._timeout = settings["header_timeout"]
        self._per_address = settings["max_connections_per_address"]
        self._open: Counter[str] = Counter()
        self._locks: dict[str, asyncio.Lock] = {}
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="pdudaemon", daemon=True)

    def start(self) -> None:
        """Bind now (an address in use is an error here, not later), then serve on a thread."""
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, self._host, self._port, reuse_address=True, limit=MAX_REQUEST)
        )
        self._thread.start()
        log.info("pdudaemon listener on %s:%d", self._host, self._port)

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1] if self._server else self._port

    def close(self) -> None:
        if self._server is None:
            return

        async def stop() -> None:
            self._server.close()
            await self._server.wait_closed()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        self._loop.close()
        self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        addr = (writer.get_extra_info("peername") or ("unknown",))[0]
        if self._open[addr] >= self._per_address:
            writer.close()  # the excess costs a close, nothing more
            return
        self._open[addr] += 1
        try:
            # reading the request is bounded; the action (a reboot's delay) has its own time
            received = await asyncio.wait_for(self._receive(reader), self._timeout)
            if received is not None:
                await self._answer(received, writer, addr)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._open[addr] -= 1
            if not self._open[addr]:
                del self._open[addr]
            writer.close()

    async def _receive(self, reader: asyncio.StreamReader):
        """("http", connection, request or error text) or ("line", data); None to just close."""
        first = await reader.read(MAX_REQUEST)
        if not first:
            return None
        if not _HTTP.match(first):
            return ("line", first) if self._tcp else None
        if not self._http:
            return None
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST)
        conn.receive_data(first)
        request = None
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    more = await reader.read(MAX_REQUEST)
                    if not more:
                        return None
                    conn.receive_data(more)
                elif isinstance(event, h11.Request):
                    request = event
                elif isinstance(event, h11.EndOfMessage):
                    return ("http", conn, request)
                elif isinstance(event, h11.ConnectionClosed):
                    return None
        except h11.RemoteProtocolError as err:
            return ("http", conn, f"malformed request: {err}")

    async def _answer(self, received, writer: asyncio.StreamWriter, addr: str) -> None:
        if received[0] == "line":
            reply = await self._line(received[1], addr)
            writer.write(reply.encode() + b"\n")
        else:
            _, conn, request = received
            if isinstance(request, str):
                status, text = 400, request + "\n"
            else:
                status, text = await self._http_request(request, addr)
            writer.write(_response(conn, status, text))
        await asyncio.wait_for(writer.drain(), self._timeout)

    async def _http_request(self, event: h11.Request, addr: str) -> tuple[int, str]:
        if event.method != b"GET":
            return 405, "only GET is answered here\n"
        target = urlsplit(event.target.decode("latin-1"))
        match = _PATH.match(target.path)
        if match is None:
            return 404, "not a pdudaemon path: use /power/control/{on,off,reboot,get-port-state}\n"
        query = {key: values[0] for key, values in parse_qs(target.query).items()}
        request = Request(
            match.group(1), query.get("hostname"), query.get("port"), query.get("delay"), query.get("token")
        )
        try:
            return 200, await self._run(request, addr, "pdudaemon-http")
        except PduError as err:
            return err.status, err.text.rstrip("\n") + "\n"

    async def _line(self, data: bytes, addr: str) -> str:
        words = data.decode("utf-8", "replace").strip().split(" ")
        if not 3 <= len(words) <= 4:
            return "nack: expected 'hostname port command [delay]'"
        request = Request(words[2], words[0], words[1], words[3] if len(words) == 4 else None)
        try:
            await self._run(request, addr, "pdudaemon-tcp")
        except PduError as err:
            return f"nack: {err.text.strip()}"
        return "ack"

    async def _run(self, request: Request, addr: str, via: str) -> str:
        """Check, then act on a worker thread; one hostname's commands never overlap (as in pdudaemon)."""
        loop = asyncio.get_running_loop()
        action = await loop.run_in_executor(None, self._service.prepare, request, addr, via)
        lock = self._locks.setdefault(action.hostname, asyncio.Lock())
        async with lock:
            text = await loop.run_in_executor(None, self._guarded, action)
            if action.command == "reboot":
                await asyncio.sleep(action.delay)
                deadline = loop.time() + REBOOT_GRACE
                while not self._service.rebooted(action):
                    if loop.time() > deadline:
                        raise PduError(503, f"port {action.index + 1} did not come back on after the reboot")
                    await asyncio.sleep(0.05)
        return text

    def _guarded(self, action) -> str:
        try:
            return self._service.act(action)
        except (PowerctlError, hw.HardwareError) as err:  # a locked outlet, a busy board
            raise PduError(*errors.describe(err)) from None


def _response(conn: h11.Connection, status: int, text: str) -> bytes:
    body = text.encode()
    headers = [
        ("Content-Type", "application/json" if text.startswith("{") else "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
    ]
    head = conn.send(h11.Response(status_code=status, headers=headers, reason=b""))
    return head + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
