"""The request as it came over the wire (raw target, method override, Range, CSRF) and JSON out."""

from __future__ import annotations

import json
import re

from flask import Response, request

from powerctl.errors import BadRequest

TUNNELED = {"PUT", "PATCH", "DELETE"}
_DEPTH = re.compile(r"\s*dli-depth\s*=\s*(\d{1,3})\s*")


# One encoder for every response: json.dumps builds a new one per call when given options.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: object) -> str:
    return _ENCODER.encode(value)


def json_response(value: object, status: int) -> Response:
    return Response(dumps(value), status=status, mimetype="application/json")


def no_content() -> Response:
    """204: no body, so no Content-Type either (RFC 9110 section 8.3)."""
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response


def effective_method(environ: dict) -> str:
    """The method, or the one an X-HTTP-Method header tunnels through POST."""
    method = environ.get("REQUEST_METHOD", "GET").upper()  # as werkzeug's request.method
    if method != "POST":
        return method
    override = environ.get("HTTP_X_HTTP_METHOD", "").strip().upper()
    if override:
        if override not in TUNNELED:
            raise BadRequest(f"X-HTTP-Method may name PUT, PATCH or DELETE, not {override[:16]!r}")
        return override
    return method


def depth_limit(environ: dict) -> int | None:
    header = environ.get("HTTP_RANGE")  # what request.headers reads, without building it
    if header is None or not header.strip().lower().startswith("dli-depth"):
        return None
    match = _DEPTH.fullmatch(header.lower())
    if match is None:
        raise BadRequest(f"Range must be dli-depth=N with N a number, not {header[:40]!r}")
    return int(match.group(1))


def csrf_ok() -> bool:
    return bool(request.headers.get("X-CSRF")) or (
        request.headers.get("X-Requested-With", "").lower() == "xmlhttprequest"
    )
