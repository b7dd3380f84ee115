"""The one place where exceptions become HTTP responses: a JSON envelope for every error.

`describe` maps any exception (domain, hardware, path) to a status and a message; the /restapi/
envelope is built on it, and another surface (Redfish, MQTT) calls it to fill its own format.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

import hw
import scopes
from hw.network import NetworkError, NetworkReplyError
from powerctl import domain

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


class UnsupportedMediaType(ApiError):
    code = 415


# Looked up along the exception's MRO, so a subclass answers as its nearest listed parent.
STATUS: dict[type[BaseException], int] = {
    domain.OutletLocked: 409,
    domain.BoardOffline: 503,
    domain.UnknownFunction: 409,
    domain.BadArguments: 409,
    domain.ThreadLimit: 409,
    domain.NoSuchThread: 409,
    domain.ShuttingDown: 503,
    domain.SessionLimit: 409,
    domain.FleetNotConfigured: 409,
    domain.LastAdmin: 409,
    domain.WeakPassword: 400,
    domain.WrongPassword: 403,
    domain.NoSuchUser: 404,
    domain.NoSuchItem: 404,
    # a command that ran but answered nonsense is a bad gateway; one that failed, unavailable
    NetworkReplyError: 502,
    NetworkError: 503,
    hw.HardwareError: 503,
    scopes.NoSuchPath: 404,
    scopes.AmbiguousPath: 409,
    scopes.ScopeError: 400,
}

INTERNAL = "internal error; see the server log"


def describe(err: BaseException) -> tuple[int, str]:
    """The HTTP status and the message for an error, for any surface to report in its own format.

    An exception no table entry covers is a 500 whose message never echoes the exception text:
    it may carry request data such as headers.
    """
    if isinstance(err, ApiError):
        return err.code, err.message
    if isinstance(err, HTTPException):
        return err.code or 500, err.description or err.name
    for cls in type(err).__mro__:
        status = STATUS.get(cls)
        if status is not None:
            return status, str(err)
    return 500, INTERNAL


# What a /restapi/ caller can do next, added to the message on this surface only.
REST_HINTS: dict[type[domain.PowerctlError], Callable[[domain.PowerctlError], str]] = {
    domain.OutletLocked: lambda err: (
        f"; unlock it first with PUT /restapi/relay/outlets/{err.index}/locked/ value=false"
    ),
    domain.UnknownFunction: lambda _err: "; GET /restapi/script/user_functions/ lists them",
    domain.ThreadLimit: lambda _err: "; let one finish or stop one with POST /restapi/script/stop/",
    domain.NoSuchThread: lambda _err: "; GET /restapi/script/threads/ lists them",
}


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

    @app.errorhandler(domain.PowerctlError)
    def domain_error(err: domain.PowerctlError) -> Response:
        code, message = describe(err)
        hint = REST_HINTS.get(type(err))
        if hint is not None:
            message += hint(err)
        return envelope(code, message, err.details or None)

    @app.errorhandler(scopes.ScopeError)
    def path_error(err: scopes.ScopeError) -> Response:
        code, message = describe(err)
        return envelope(code, message, {"path": err.text, "column": err.column})

    @app.errorhandler(NetworkError)
    def network_error(err: NetworkError) -> Response:
        log.warning("network command error: %s", err)
        code, message = describe(err)
        return envelope(code, message, {"command": err.command})

    @app.errorhandler(hw.HardwareError)
    def hardware_error(err: hw.HardwareError) -> Response:
        log.warning("hardware error: %s", err)
        code, message = describe(err)
        return envelope(code, message, {"board": err.board})

    @app.errorhandler(HTTPException)
    def http_exception(err: HTTPException) -> Response:
        headers = dict(err.get_headers())
        headers.pop("Content-Type", None)
        code, message = describe(err)
        return envelope(code, message, headers=headers)

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> Response:
        # Never echo the exception text: it may carry request data such as headers.
        log.exception("unexpected error while handling a request")
        return envelope(500, INTERNAL)
