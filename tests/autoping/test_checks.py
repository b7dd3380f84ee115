"""Each check kind against a real local peer, and the address forms refused at parse time."""

from __future__ import annotations

import asyncio
import http.server
import socket
import ssl
import threading
import time

import pytest

from powerctl import tls
from powerctl.autoping.addresses import AddressError, parse_address
from powerctl.autoping.checks import answered


def check(text: str, timeout: float = 2.0) -> bool:
    return asyncio.run(answered(parse_address(text), timeout))


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """An HTTP and an HTTPS server (self-signed) whose path is the status they answer."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(int(self.path.strip("/")))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(2)]
    cert, key = tls.ensure_certificate(str(tmp_path_factory.mktemp("tls")), "127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    servers[1].socket = context.wrap_socket(servers[1].socket, server_side=True)
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [
        f"{scheme}://127.0.0.1:{s.server_address[1]}"
        for scheme, s in zip(("http", "https"), servers, strict=True)
    ]
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status", [200, 204, 302])
def test_http_and_https_answer_with_2xx_or_3xx(web, status):
    assert all(check(f"{base}/{status}/") for base in web)


@pytest.mark.parametrize("status", [404, 500, 503])
def test_an_error_status_is_no_answer(web, status):
    assert not any(check(f"{base}/{status}/") for base in web)


def test_tcp_answers_while_the_port_listens():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert check(f"tcp://127.0.0.1:{port}")
    assert not check(f"tcp://127.0.0.1:{port}")


def test_a_silent_peer_costs_its_timeout_and_no_more():
    """A listener whose queue is full drops new connections: the check waits, then fails."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(0)
        port = sock.getsockname()[1]
        fillers = []
        try:
            for _ in range(8):  # until the queue is full and a connect goes unanswered
                filler = socket.socket()
                fillers.append(filler)
                filler.settimeout(0.2)
                try:
                    filler.connect(("127.0.0.1", port))
                except TimeoutError:
                    break
            started = time.monotonic()
            assert not check(f"tcp://127.0.0.1:{port}", timeout=0.3)
            assert 0.25 < time.monotonic() - started < 2.0
        finally:
            for filler in fillers:
                filler.close()


def test_icmp_to_loopback_answers():
    assert check("127.0.0.1")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("10.0.0.1", "icmp"),
        ("fe80::1", "icmp"),
        ("router.lan", "icmp"),
        ("tcp://10.0.0.1:22", "tcp"),
        ("tcp://[::1]:22", "tcp"),
        ("http://10.0.0.1/status?x=1", "http"),
        ("https://router.lan", "http"),
    ],
)
def test_address_kinds(text, kind):
    assert parse_address(text).kind == kind


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a host",
        "1.2.3",
        "tcp://10.0.0.1",
        "tcp://10.0.0.1:22/x",
        "tcp://10.0.0.1:99999",
        "ftp://h/",
        "http://user:pw@h/",
        "http://h/#top",
        "x" * 600,
    ],
)
def test_malformed_addresses_are_refused_with_the_text(text):
    with pytest.raises(AddressError):
        parse_address(text)
