"""Redfish on the wire: JSON with OData headers, and the error body of DSP0266 section 9.6."""

from __future__ import annotations

import json

from flask import Response

ODATA = {"OData-Version": "4.0", "Cache-Control": "no-store"}
BASE = "Base.1.18"  # the Base message registry the service's MessageIds name

# What each status says when a domain error gives no better MessageId.
_MESSAGE_IDS = {
    400: "GeneralError",
    401: "NoValidSession",
    403: "InsufficientPrivilege",
    404: "ResourceNotFound",
    405: "OperationNotAllowed",
    409: "ResourceInUse",
    413: "GeneralError",
    415: "GeneralError",
    503: "ServiceTemporarilyUnavailable",
}


def document(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(
        json.dumps(body, separators=(",", ":")), status=status, content_type="application/json;charset=utf-8"
    )
    response.headers.update(ODATA)
    response.headers.update(headers or {})
    return response


def no_content(headers: dict | None = None) -> Response:
    response = Response(status=204)
    del response.headers["Content-Type"]
    response.headers.update(ODATA)
    response.headers.update(headers or {})
    return response


def error(status: int, message: str, message_id: str | None = None, headers: dict | None = None) -> Response:
    """The Redfish error body: one `@Message.ExtendedInfo` entry from the Base registry."""
    ident = f"{BASE}.{message_id or _MESSAGE_IDS.get(status, 'GeneralError')}"
    info = {
        "@odata.type": "#Message.v1_3_0.Message",
        "MessageId": ident,
        "Message": message,
        "MessageSeverity": "Critical" if status >= 500 else "Warning",
        "Resolution": "None" if status >= 500 else "Correct the request and resubmit it.",
    }
    body = {"error": {"code": ident, "message": message, "@Message.ExtendedInfo": [info]}}
    return document(body, status, headers)


def odata(path: str, kind: str, **fields: object) -> dict:
    return {"@odata.id": path, "@odata.type": kind, **fields}


def link(path: str) -> dict:
    return {"@odata.id": path}


def collection(path: str, kind: str, name: str, members: list[str]) -> dict:
    return odata(
        path,
        f"#{kind}.{kind}",
        Name=name,
        Members=[link(member) for member in members],
        **{"Members@odata.count": len(members)},
    )
