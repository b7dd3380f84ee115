"""An accepted socket made a stream, through a server-side TLS handshake when there is a context."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from asyncio import sslproto


class Stream(asyncio.StreamReaderProtocol):
    """A StreamReaderProtocol that keeps the transport it is given (the TLS one, over TLS)."""

    transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        super().connection_made(transport)


class _TellingSSLProtocol(sslproto.SSLProtocol):
    """asyncio closes a failed handshake without sending the alert OpenSSL wrote (say,
    "unknown ca" for a client certificate from a stranger); send it first, so the client
    sees why (an SSL error, not a bare closed connection)."""

    def _do_handshake(self) -> None:
        try:
            self._sslobj.do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            self._process_outgoing()
        except ssl.SSLError as exc:
            with contextlib.suppress(OSError, RuntimeError):
                self._process_outgoing()
            self._on_handshake_complete(exc)
        else:
            self._on_handshake_complete(None)


SHUTDOWN_TIMEOUT = 2.0
_CAN_TELL = callable(getattr(sslproto.SSLProtocol, "_do_handshake", None))


async def accept(
    sock: socket.socket, reader: asyncio.StreamReader, context: ssl.SSLContext | None, timeout: float
) -> tuple[asyncio.Transport, Stream]:
    """The transport and protocol of `sock`; over TLS once the handshake is done within `timeout`."""
    loop = asyncio.get_running_loop()
    protocol = Stream(reader)
    if context is None:
        transport, _ = await loop.connect_accepted_socket(lambda: protocol, sock)
        return transport, protocol
    if not _CAN_TELL:  # another asyncio: its own TLS, alerts or not
        transport, _ = await loop.connect_accepted_socket(
            lambda: protocol,
            sock,
            ssl=context,
            ssl_handshake_timeout=timeout,
            ssl_shutdown_timeout=SHUTDOWN_TIMEOUT,
        )
        return transport, protocol
    done = loop.create_future()
    tls = _TellingSSLProtocol(
        loop,
        protocol,
        context,
        done,
        server_side=True,
        ssl_handshake_timeout=timeout,
        # a closing connection waits this long for the client's close_notify (asyncio: 30 s),
        # holding its descriptor after the per-address count has let it go
        ssl_shutdown_timeout=SHUTDOWN_TIMEOUT,
    )
    raw, _ = await loop.connect_accepted_socket(lambda: tls, sock)
    try:
        await done
    except BaseException:
        raw.abort()
        raise
    return protocol.transport, protocol
