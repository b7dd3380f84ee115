"""Accepting connections: the per-address cap, TLS, the thread pool, clean shutdown."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import resource
import signal
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import h11

from powerctl.httpd import handshake, wsgi
from powerctl.httpd.accesslog import AccessLog
from powerctl.httpd.connection import Connection
from powerctl.httpd.limits import Limits

log = logging.getLogger("powerctl.httpd")
_BUSY = wsgi.error(503, "too many connections from this address")
BUSY = b"HTTP/1.1 503 Service Unavailable\r\n%s\r\ncontent-length: %d\r\n\r\n%s" % (
    b"\r\n".join(b"%s: %s" % pair for pair in _BUSY.headers),
    len(_BUSY.body),
    _BUSY.body,
)


def listen(bind: str, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket for "HOST:PORT" ("[::1]:PORT" for IPv6)."""
    host, _, port = bind.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"  # noqa: S104 - ":PORT" asks for every interface
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


def descriptor_budget(wanted: int) -> int:
    """Raise the open-file limit towards `wanted` connections; the connections it allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = wanted + 256  # the app's own files: database, serial ports, logs
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return max(16, min(wanted, soft - 256)) if soft != resource.RLIM_INFINITY else wanted


class Server:
    """Serve `app` (WSGI) on `sock` until stop(); `tls` gives the SSLContext of each new connection."""

    def __init__(
        self,
        app,
        sock: socket.socket,
        limits: Limits,
        threads: int,
        tls: Callable[[], ssl.SSLContext] | None = None,
        exempt: Iterable[str] = (),
        log_access: bool = True,
    ):
        self.app, self.sock, self.limits, self.tls = app, sock, limits, tls
        self.threads = threads
        self.exempt = [ipaddress.ip_network(text, strict=False) for text in exempt]
        self.access_log = AccessLog() if log_access else None
        self.max_connections = descriptor_budget(limits.max_connections)
        self.stopping = False
        self.by_address: dict[str, int] = {}
        self.connections: set[Connection] = set()
        self.tasks: set[asyncio.Task] = set()
        self.refused, self._refusal_logged = 0, 0.0
        self.pool: ThreadPoolExecutor | None = None
        self._stop: asyncio.Event | None = None

    async def in_pool(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, function, *args)

    def access(self, peer: wsgi.Peer, request: h11.Request, status: int, size: int) -> None:
        if self.access_log is not None:
            self.access_log.record(
                peer.address[0], request.method, request.target, request.http_version, status, size
            )

    def stop(self) -> None:
        """Stop accepting; idle connections close now, requests in progress may finish."""
        self.stopping = True
        if self._stop is not None:
            self._stop.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(_quiet)
        self._stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="powerctl-request")
        if self.access_log is not None:
            self.access_log.start()
        accepting = loop.create_task(self._accept())
        try:
            await self._stop.wait()
        finally:
            accepting.cancel()
            for connection in list(self.connections):
                if not connection.busy:
                    connection.abort()
            if self.tasks:
                await asyncio.wait(list(self.tasks), timeout=self.limits.graceful_timeout)
            for task in list(self.tasks):
                task.cancel()
            self.pool.shutdown(wait=False, cancel_futures=True)
            if self.access_log is not None:
                self.access_log.close()

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, address = await loop.sock_accept(self.sock)
            except OSError as err:  # out of descriptors (EMFILE) or an aborted handshake
                log.warning("accept failed: %s", err)
                await asyncio.sleep(0.1)
                continue
            # asyncio turns Nagle off only on sockets whose proto says TCP; an answer held back
            # behind TLS session tickets would otherwise wait for a delayed ACK (40 ms)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            host = address[0]
            if not self._admit(host):
                self._turn_away(sock, host)
                continue
            task = loop.create_task(self._serve(sock, address))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def _admit(self, host: str) -> bool:
        count = self.by_address.get(host, 0)
        if len(self.tasks) >= self.max_connections:
            return False
        if count >= self.limits.per_address and not self._exempt(host):
            return False
        self.by_address[host] = count + 1
        return True

    def _exempt(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.exempt)

    def _turn_away(self, sock: socket.socket, host: str) -> None:
        """The excess connection costs one non-blocking send at most, never a wait."""
        try:
            if self.tls is None:
                sock.send(BUSY)
        except OSError:
            pass
        sock.close()
        self.refused += 1
        now = time.monotonic()
        if now - self._refusal_logged > 60:
            self._refusal_logged = now
            log.warning(
                "connection from %s refused: %d open from one address (cap %d), %d in all; %d refused so far",
                host,
                self.by_address.get(host, 0),
                self.limits.per_address,
                len(self.tasks),
                self.refused,
            )

    async def _serve(self, sock: socket.socket, address: tuple) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.header_timeout
        transport = connection = None
        try:
            reader = asyncio.StreamReader(limit=2 * 64 * 1024)
            context = self.tls() if self.tls is not None else None
            async with asyncio.timeout_at(deadline):
                timeout = self.limits.header_timeout
                transport, protocol = await handshake.accept(sock, reader, context, timeout)
            writer = asyncio.StreamWriter(transport, protocol, reader, loop)
            peer = wsgi.Peer(
                address,
                transport.get_extra_info("sockname"),
                "https" if context else "http",
                transport.get_extra_info("ssl_object"),
            )
            connection = Connection(self, reader, writer, peer)
            self.connections.add(connection)
            await connection.run(deadline)
        except (OSError, TimeoutError, RuntimeError):  # SSLError is an OSError; RuntimeError: pool shut
            pass
        finally:
            if connection is not None:
                self.connections.discard(connection)
            if transport is not None:
                # a client that does not read its answer gets no more time than send_timeout
                transport.close() if not transport.get_write_buffer_size() else transport.abort()
            else:
                sock.close()
            left = self.by_address[address[0]] - 1
            if left:
                self.by_address[address[0]] = left
            else:
                del self.by_address[address[0]]


def _quiet(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """A client that vanishes mid-handshake or mid-answer is routine, not an error to log."""
    if isinstance(context.get("exception"), OSError):
        return
    loop.default_exception_handler(context)
