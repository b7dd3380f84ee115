"""One check of one address, as a coroutine bounded by its timeout: answered or not."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import os
import socket
import ssl

import h11

from powerctl.autoping.addresses import Address

EXTRA = "autoping"
MISSING_ICMP = (
    f"ICMP checks need the {EXTRA} extra (icmplib), which is not installed: pip install 'powerctl[{EXTRA}]'"
)


def icmp_available() -> bool:
    try:
        import icmplib  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def unprivileged_icmp() -> bool:
    """Whether this process may open ICMP datagram sockets (net.ipv4.ping_group_range holds a
    group of ours); otherwise ICMP takes raw sockets, which need CAP_NET_RAW."""
    try:
        with open("/proc/sys/net/ipv4/ping_group_range") as handle:
            low, high = (int(part) for part in handle.read().split())
    except (OSError, ValueError):
        return False
    return any(low <= group <= high for group in {os.getgid(), *os.getgroups()})


async def answered(address: Address, timeout: float) -> bool:
    """One check: True when the address answered within `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            if address.kind == "tcp":
                return await _connect(address)
            if address.kind == "http":
                return await _http(address)
            return await _icmp(address, timeout)
    except (OSError, TimeoutError, h11.ProtocolError, ssl.SSLError, UnicodeError):
        return False


async def _connect(address: Address) -> bool:
    """A bare non-blocking connect: a third cheaper than a stream, and checks are many."""
    loop = asyncio.get_running_loop()
    family = _literal_family(address.host)
    where: tuple = (address.host, address.port)
    if family is None:
        found = await loop.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM)
        family, where = found[0][0], found[0][4]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, where)
    finally:
        sock.close()
    return True


@functools.lru_cache(maxsize=4096)
def _literal_family(host: str) -> socket.AddressFamily | None:
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        return None


def _unverified() -> ssl.SSLContext:
    # A liveness check: a device's self-signed certificate must not read as "not answering".
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def _http(address: Address) -> bool:
    """GET the URL; a 2xx or 3xx status line is an answer (the body is not read)."""
    reader, writer = await asyncio.open_connection(
        address.host,
        address.port,
        ssl=_unverified() if address.tls else None,
        server_hostname=address.host if address.tls else None,
    )
    try:
        connection = h11.Connection(h11.CLIENT)
        host = f"[{address.host}]" if ":" in address.host else address.host
        request = h11.Request(
            method="GET",
            target=address.target,
            headers=[("Host", host), ("User-Agent", "powerctl-autoping"), ("Connection", "close")],
        )
        writer.write(connection.send(request) + connection.send(h11.EndOfMessage()))
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(4096)
                connection.receive_data(data)
                if not data:
                    return False
                continue
            if isinstance(event, h11.Response):
                return 200 <= event.status_code < 400
            if isinstance(event, h11.ConnectionClosed):
                return False
    finally:
        _close(writer)


async def _icmp(address: Address, timeout: float) -> bool:
    try:
        from icmplib import ICMPLibError, async_ping
    except ImportError:  # stored before the extra was removed: never an answer, so never a cycle
        return False

    try:
        host = await async_ping(address.host, count=1, timeout=timeout, privileged=not unprivileged_icmp())
    except ICMPLibError:
        return False
    return host.is_alive


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, RuntimeError):
        writer.close()
