"""One client connection: each request read whole under deadlines, its answer written back."""

from __future__ import annotations

import asyncio
import email.utils
import time

import h11

from powerctl.httpd import wsgi
from powerctl.httpd.limits import Limits

READ = 64 * 1024
_date: list = [0, b""]


def http_date() -> bytes:
    now = int(time.time())
    if _date[0] != now:
        _date[:] = [now, email.utils.formatdate(now, usegmt=True).encode()]
    return _date[1]


class Connection:
    """The h11 state machine of one connection; `server` runs the app and logs the answers."""

    def __init__(self, server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: wsgi.Peer):
        self.server, self.reader, self.writer, self.peer = server, reader, writer, peer
        self.limits: Limits = server.limits
        self.busy = False  # an app thread is answering this connection's request
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_header_bytes)

    def abort(self) -> None:
        self.writer.transport.abort()

    async def run(self, deadline: float) -> None:
        """Serve requests until the client or a limit ends the connection; `deadline` is
        when the first request's header must be complete (the TLS handshake counted in)."""
        loop = asyncio.get_running_loop()
        while True:
            request = await self._header(deadline)
            if request is None:
                return
            read = await self._body(request)
            if read is None:
                return
            keep = read[1] and not self.server.stopping
            self.busy = True
            try:
                # the app and the answer's bytes on a pool thread: the loop only reads and writes
                data = await self.server.in_pool(self._respond, request, read[0], keep)
            finally:
                self.busy = False
            if data is None or not await self._send(data) or not keep or self.server.stopping:
                return
            if self.h11.our_state is not h11.DONE or self.h11.their_state is not h11.DONE:
                return
            self.h11.start_next_cycle()
            deadline = loop.time() + self.limits.header_timeout
            if not self.h11.trailing_data[0] and not await self._next_byte():
                return

    async def _receive(self) -> None:
        self.h11.receive_data(await self.reader.read(READ))

    async def _next_byte(self) -> bool:
        """Wait, idle, for the next request to start; False when it does not in time."""
        try:
            async with asyncio.timeout(self.limits.keepalive_timeout):
                await self._receive()
        except TimeoutError:
            return False
        return True

    async def _header(self, deadline: float) -> h11.Request | None:
        try:
            async with asyncio.timeout_at(deadline):
                event = self.h11.next_event()
                while event is h11.NEED_DATA:
                    await self._receive()
                    event = self.h11.next_event()
        except TimeoutError:
            return None  # a slow or silent client: closed, nothing said
        except h11.RemoteProtocolError as err:
            await self._refuse(err.error_status_hint, "malformed request")  # no echo of its bytes
            return None
        if not isinstance(event, h11.Request):
            return None  # the client closed
        if len(event.target) > self.limits.max_target:
            await self._refuse(414, "request target too long")
            return None
        if len(event.headers) > self.limits.max_fields:
            await self._refuse(431, "too many header fields")
            return None
        return event

    def _declared_length(self, request: h11.Request) -> int | None:
        for name, value in request.headers:
            if name == b"content-length":
                return int(value)  # h11 has checked it is digits
        return None

    async def _body(self, request: h11.Request) -> tuple[bytes, bool] | None:
        """The body, and False if it was too large to read whole; None: the connection is done."""
        body, whole = bytearray(), True
        declared = self._declared_length(request)
        if declared is not None and declared > self.limits.max_body:
            whole = False  # not read at all: the app sees Content-Length and answers 413
        else:
            if self.h11.they_are_waiting_for_100_continue:
                self.writer.write(self.h11.send(h11.InformationalResponse(status_code=100, headers=[])))
            try:
                async with asyncio.timeout(self.limits.body_timeout):
                    while True:
                        event = self.h11.next_event()
                        if event is h11.NEED_DATA:
                            await self._receive()
                        elif isinstance(event, h11.Data):
                            body += event.data
                            if len(body) > self.limits.max_body:  # chunked, and too long
                                # werkzeug would read a cut body as whole: answer here instead
                                await self._refuse(413, "request body too large")
                                return None
                        elif isinstance(event, h11.EndOfMessage):
                            break
                        else:
                            return None  # closed mid-body
            except TimeoutError:
                return None
            except h11.RemoteProtocolError as err:
                await self._refuse(err.error_status_hint, "malformed request body")
                return None
        return bytes(body), whole

    def _respond(self, request: h11.Request, body: bytes, keep: bool) -> bytes | None:
        """On a pool thread, while the loop leaves this connection alone: the answer's bytes."""
        answer = wsgi.call(self.server.app, wsgi.environ(request, body, self.peer))
        headers = answer.headers
        names = {name.lower() for name, _ in headers}
        bodiless = request.method == b"HEAD" or answer.status in (204, 304)
        if b"content-length" not in names and not bodiless:
            headers.append((b"content-length", b"%d" % len(answer.body)))
        if not keep:
            headers.append((b"connection", b"close"))
        headers.append((b"date", http_date()))
        try:
            head = h11.Response(status_code=answer.status, headers=headers, reason=answer.reason)
            data = self.h11.send(head)
            if answer.body and not bodiless:
                data += self.h11.send(h11.Data(data=answer.body))
            data += self.h11.send(h11.EndOfMessage())
        except h11.LocalProtocolError as err:
            wsgi.log.error("answer to %s %r not sent: %s", request.method, request.target, err)
            return None
        self.server.access(self.peer, request, answer.status, len(answer.body))
        return data

    async def _send(self, data: bytes) -> bool:
        self.writer.write(data)
        try:
            async with asyncio.timeout(self.limits.send_timeout):
                await self.writer.drain()
        except TimeoutError:
            return False
        return True

    async def _refuse(self, status: int, message: str) -> None:
        """The server's own error answer, then the connection is closed."""
        answer = wsgi.error(status, message)
        head = b"HTTP/1.1 %d %s\r\n" % (answer.status, answer.reason)
        head += b"".join(b"%s: %s\r\n" % pair for pair in answer.headers)
        head += b"content-length: %d\r\n\r\n" % len(answer.body)
        self.writer.write(head + answer.body)
        try:
            # Read on (and drop) what the client still sends, for a second at most: closing
            # with unread bytes resets the connection, and the reset can beat the answer.
            async with asyncio.timeout(1.0):
                await self.writer.drain()
                while await self.reader.read(READ):
                    pass
        except TimeoutError:
            pass
