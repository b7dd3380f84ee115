"""The one place where exceptions become HTTP responses: a JSON envelope for every error."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

import hw
import scopes
from hw.network import NetworkError, NetworkReplyError

log = logging.getLogger("powerctl")


class ApiError(Exception):
    """An error the API reports to the caller; `code` is the HTTP status."""

    code = 400

    def __init__(self, message: str, *, errors: object = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors
        self.headers = headers or {}


class BadRequest(ApiError):
    code = 400


class Unauthorized(ApiError):
    code = 401


class Forbidden(ApiError):
    code = 403


class NotFound(ApiError):
    code = 404


class MethodNotAllowed(ApiError):
    code = 405

    def __init__(self, message: str, allowed: list[str]):
        super().__init__(message, headers={"Allow": ", ".join(allowed)})


class Conflict(ApiError):
    code = 409


class PayloadTooLarge(ApiError):
    code = 413


class UnsupportedMediaType(ApiError):
    code = 415


class ServiceUnavailable(ApiError):
    code = 503


def describe_validation(messages: object, prefix: str = "") -> list[str]:
    """Flatten marshmallow's nested error messages into `where: problem` lines."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            out += describe_validation(value, f"{prefix}{key}." if prefix or key != "_schema" else prefix)
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix.rstrip('.') or 'value'}: {' '.join(messages)}"]
    if isinstance(messages, list):
        return [line for m in messages for line in describe_validation(m, prefix)]
    return [f"{prefix.rstrip('.') or 'value'}: {messages}"]


def envelope(code: int, message: str, errors: object = None, headers: dict | None = None) -> Response:
    """Build the JSON error envelope shared by every error response."""
    from http import HTTPStatus

    body: dict = {"code": code, "status": HTTPStatus(code).phrase, "message": message}
    if errors is not None:
        body["errors"] = errors
    response = Response(json.dumps(body, separators=(",", ":")), status=code, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    """Register the handlers that turn every exception into the envelope."""

    @app.errorhandler(ApiError)
    def api_error(err: ApiError) -> Response:
        return envelope(err.code, err.message, err.errors, err.headers)

    @app.errorhandler(scopes.NoSuchPath)
    def no_such_path(err: scopes.NoSuchPath) -> Response:
        return envelope(404, str(err), {"path": err.text, "column": err.column})

    @app.errorhandler(scopes.AmbiguousPath)
    def ambiguous_path(err: scopes.AmbiguousPath) -> Response:
        return envelope(409, str(err), {"path": err.text, "column": err.column})

    @app.errorhandler(scopes.ScopeError)
    def malformed_path(err: scopes.ScopeError) -> Response:
        return envelope(400, str(err), {"path": err.text, "column": err.column})

    @app.errorhandler(NetworkError)
    def network_error(err: NetworkError) -> Response:
        # a command that ran but answered nonsense is a bad gateway; one that failed, unavailable
        log.warning("network command error: %s", err)
        code = 502 if isinstance(err, NetworkReplyError) else 503
        return envelope(code, str(err), {"command": err.command})

    @app.errorhandler(hw.HardwareError)
    def hardware_error(err: hw.HardwareError) -> Response:
        log.warning("hardware error: %s", err)
        return envelope(503, str(err), {"board": getattr(err, "board", None)})

    @app.errorhandler(HTTPException)
    def http_exception(err: HTTPException) -> Response:
        headers = dict(err.get_headers())
        headers.pop("Content-Type", None)
        return envelope(err.code or 500, err.description or err.name, headers=headers)

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> Response:
        # Never echo the exception text: it may carry request data such as headers.
        log.exception("unexpected error while handling a request")
        return envelope(500, "internal error; see the server log")
