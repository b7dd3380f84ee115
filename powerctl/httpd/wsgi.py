"""PEP 3333 on both sides of the thread pool: a parsed request in, a whole answer out."""

from __future__ import annotations

import io
import json
import logging
import sys
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import unquote_to_bytes, urlsplit

import h11

log = logging.getLogger("powerctl.httpd")


@dataclass
class Peer:
    """What the server knows of a connection, the same for each of its requests."""

    address: tuple  # (host, port, ...) of the client
    local: tuple  # (host, port, ...) it connected to
    scheme: str  # "http" or "https": the transport's, never a header's
    tls: object | None = None  # the ssl.SSLObject of an HTTPS connection


@dataclass
class Answer:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes


def environ(request: h11.Request, body: bytes, peer: Peer) -> dict:
    """The WSGI environ of `request` with its `body`, read whole."""
    target = request.target
    if target[:1] != b"/" and target != b"*":  # absolute form: http://host/path?query
        parts = urlsplit(target)
        target = (parts.path or b"/") + (b"?" + parts.query if parts.query else b"")
    path, _, query = target.partition(b"?")
    raw = request.target.decode("latin-1")
    env = {
        "REQUEST_METHOD": request.method.decode("ascii"),
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"),
        "RAW_URI": raw,
        "REQUEST_URI": raw,
        "SERVER_NAME": str(peer.local[0]),
        "SERVER_PORT": str(peer.local[1]),
        "SERVER_PROTOCOL": "HTTP/" + request.http_version.decode("ascii"),
        "REMOTE_ADDR": str(peer.address[0]),
        "REMOTE_PORT": str(peer.address[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": peer.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        # the body is all here (or, too large by its Content-Length, not read: werkzeug says 413)
        "wsgi.input_terminated": True,
        "powerctl.tls": peer.tls,
    }
    for name, value in request.headers:
        if b"_" in name:
            # X_Forwarded_For would otherwise become HTTP_X_FORWARDED_FOR, like X-Forwarded-For
            continue
        text = value.decode("latin-1")
        if name == b"content-length":
            env["CONTENT_LENGTH"] = text
        elif name == b"content-type":
            env["CONTENT_TYPE"] = text
        else:
            key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
            env[key] = env[key] + "," + text if key in env else text
    return env


def call(app, env: dict) -> Answer:
    """Run the app on this (pool) thread and collect its whole answer."""
    started: list = []

    def start_response(status: str, headers: list, exc_info=None):
        if exc_info and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [status, headers]
        return chunks.append

    chunks: list[bytes] = []
    try:
        result = app(env, start_response)
        try:
            for chunk in result:
                if chunk:
                    chunks.append(chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = started
        code, _, reason = status.partition(" ")
        return Answer(
            int(code),
            reason.encode("latin-1"),
            [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            b"".join(chunks),
        )
    except Exception:  # the app's own error handlers answer what they know; this is a bug
        log.exception("error in the app on %s %s", env["REQUEST_METHOD"], env["RAW_URI"])
        return error(500, "internal server error")


def error(status: int, message: str) -> Answer:
    """The server's own answer (malformed request, app failure), in the apps' JSON envelope."""
    phrase = HTTPStatus(status).phrase
    body = json.dumps({"code": status, "status": phrase, "message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
    return Answer(status, phrase.encode(), headers, body)
