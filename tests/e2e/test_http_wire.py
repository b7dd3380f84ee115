"""What the server does on the wire, from raw sockets against a real `powerctl serve --http`."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests
from requests.auth import HTTPDigestAuth

from tests.e2e.conftest import start_server
from tests.support import ADMIN_PASSWORD

TOKEN = "wire.SGVsbG8"  # raw "Hello"
HELLO_HASH = "185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969"


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("wire") / "data", http=True)
    body = {
        "name": "wire",
        "redirect_urls": {},
        "refresh_tokens": {},
        "scopes": {"/relay/name/": True},
        "access_tokens": {HELLO_HASH: {}},
    }
    requests.put(
        running.url("/restapi/auth/clients/wire/"),
        json=body,
        headers={"X-CSRF": "x"},
        auth=HTTPDigestAuth("admin", ADMIN_PASSWORD),
    ).raise_for_status()
    yield running
    running.stop()


def connect(server, source: str = "127.0.0.1") -> socket.socket:
    parts = urlsplit(server.base)
    return socket.create_connection((parts.hostname, parts.port), timeout=10, source_address=(source, 0))


def head(path: str, method: str = "GET", extra: str = "") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: powerctl\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"X-CSRF: x\r\n{extra}\r\n"
    ).encode()


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection."""
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def read_answer(sock: socket.socket, buffered: bytes = b"") -> tuple[bytes, bytes, bytes]:
    """One answer: (status line and headers, body by Content-Length, what followed)."""
    data = buffered
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    top, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in top.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if not top.startswith(b"HEAD"):
        while len(rest) < length:
            rest += sock.recv(65536)
    return top, rest[:length], rest[length:]


def test_pipelined_requests_are_answered_in_order(plain):
    with connect(plain) as sock:
        sock.sendall(
            head("/restapi/relay/name/") + head("/restapi/relay/nosuch/") + head("/restapi/relay/name/")
        )
        first, body, rest = read_answer(sock)
        second, _, rest = read_answer(sock, rest)
        third, again, _ = read_answer(sock, rest)
    assert first.startswith(b"HTTP/1.1 200 ") and json.loads(body) == "powerctl"
    assert second.startswith(b"HTTP/1.1 40")  # not covered, or no such node: either way not 200
    assert third.startswith(b"HTTP/1.1 200 ") and again == body


def test_head_has_the_length_and_no_body(plain):
    with connect(plain) as sock:
        sock.sendall(head("/restapi/relay/name/", "HEAD") + head("/restapi/relay/name/"))
        data = b""
        while data.count(b"HTTP/1.1 ") < 2 or not data.endswith(b'"powerctl"'):
            data += sock.recv(65536)
    first, _, second = data.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200 ") and b"content-length: 10" in first.lower()
    assert second.startswith(b"HTTP/1.1 200 ")  # the HEAD answer carried no body before it


def test_a_declared_body_over_the_limit_is_413_unread_and_the_connection_closed(plain):
    with connect(plain) as sock:
        sock.sendall(head("/restapi/relay/name/", "PUT", "Content-Length: 2000000\r\n"))
        answer = read_all(sock)  # the server closes: the body was never read
    top, _, body = answer.partition(b"\r\n\r\n")
    assert top.startswith(b"HTTP/1.1 413 ") and b"connection: close" in top.lower()
    assert json.loads(body)["code"] == 413


def test_a_chunked_body_over_the_limit_is_413_not_500(plain):
    chunk = b"x" * 65536
    with connect(plain) as sock:
        sock.sendall(head("/restapi/relay/name/", "PUT", "Transfer-Encoding: chunked\r\n"))
        try:
            for _ in range(20):  # 1.25 MiB, over the 1 MiB limit
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading at the limit and answered
        top, body, _ = read_answer(sock)
    assert top.startswith(b"HTTP/1.1 413 ") and json.loads(body)["code"] == 413


def test_expect_100_continue_is_honoured(plain):
    payload = b'"renamed"'
    extra = f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\nExpect: 100-continue\r\n"
    with connect(plain) as sock:
        sock.sendall(head("/restapi/relay/name/", "PUT", extra))
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 ")
        sock.sendall(payload)
        top, _, _ = read_answer(sock, interim.partition(b"\r\n\r\n")[2])
        sock.sendall(head("/restapi/relay/name/", "PUT", "Content-Length: 10\r\n") + b'"powerctl"')
        restored, _, _ = read_answer(sock)
    assert top.startswith(b"HTTP/1.1 204 ") and restored.startswith(b"HTTP/1.1 204 ")


@pytest.mark.parametrize(
    "request_bytes",
    [b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n"],
    ids=["request-line", "header-line", "no-host"],
)
def test_a_malformed_request_gets_a_400_envelope_and_is_closed(plain, request_bytes):
    with connect(plain) as sock:
        sock.sendall(request_bytes)
        answer = read_all(sock)
    top, _, body = answer.partition(b"\r\n\r\n")
    assert top.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body) == {"code": 400, "status": "Bad Request", "message": "malformed request"}


def test_a_header_with_an_underscore_does_not_pose_as_its_dashed_twin(tmp_path):
    """X_Forwarded_Proto from a trusted proxy would otherwise become HTTP_X_FORWARDED_PROTO."""
    config = tmp_path / "powerctl.toml"
    config.write_text('[server]\ntrusted_proxies = ["127.0.0.1"]\n')
    server = start_server(tmp_path / "data", "--config", str(config), http=True)
    try:
        basic = requests.auth.HTTPBasicAuth("admin", ADMIN_PASSWORD)
        url = server.url("/restapi/relay/name/")
        assert requests.get(url, auth=basic, headers={"X_Forwarded_Proto": "https"}).status_code == 401
        assert requests.get(url, auth=basic, headers={"X-Forwarded-Proto": "https"}).status_code == 200
        # trusted proxies are exempt from the per-address cap (64): all their clients share it
        held = [connect(server) for _ in range(70)]
        try:
            time.sleep(0.3)
            assert requests.get(url, auth=basic, headers={"X-Forwarded-Proto": "https"}).status_code == 200
        finally:
            for sock in held:
                sock.close()
    finally:
        server.stop()
