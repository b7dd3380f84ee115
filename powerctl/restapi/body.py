"""Request bodies as DLI clients send them: form `value=...`, a bare JSON value, or text."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import request
from marshmallow import ValidationError, fields

from powerctl.errors import BadRequest, UnsupportedMediaType, describe_validation

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True, slots=True)
class Body:
    """A parsed body: `json` holds a decoded JSON value, `text` a raw string."""

    kind: str  # "json", "text", "form" (named fields, for a field that takes them) or "empty"
    value: object = None


def read_body(forms: bool = False) -> Body:
    """Parse the request body by its Content-Type.

    `forms`: the target takes a form of named fields (DLI's password change sends
    `old_password=...&new_password=...`), read as Body("form", {name: value}).
    """
    data = request.get_data(cache=True)
    mimetype = request.mimetype
    if mimetype in FORM_TYPES:
        form = request.form
        if "value" not in form:
            if not data:
                return Body("empty")
            if forms and form:
                return Body("form", {key: form[key] for key in form})
            raise BadRequest(
                'form body has no "value" field; send value=...', errors={"body": ["missing field value"]}
            )
        return Body("text", form["value"])
    if not data:
        return Body("empty")
    if mimetype == "application/json" or mimetype.endswith("+json"):
        try:
            value = json.loads(data)
            # json accepts lone surrogates (\ud800, or their raw bytes); they are no text, so
            # SQLite and the audit trail could not store them: refuse them here, as bad UTF-8.
            json.dumps(value, ensure_ascii=False).encode("utf-8")
            return Body("json", value)
        except UnicodeEncodeError as err:
            raise BadRequest(
                "JSON body holds a lone surrogate, which is not text", errors={"body": ["lone surrogate"]}
            ) from err
        except UnicodeDecodeError as err:
            raise BadRequest("JSON body is not UTF-8") from err
        except json.JSONDecodeError as err:
            raise BadRequest(
                f"body is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}",
                errors={"body": [err.msg]},
            ) from err
        except (RecursionError, ValueError) as err:
            raise _unreadable("JSON body", err) from err
    if mimetype in ("text/plain", ""):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise BadRequest("text body is not UTF-8") from err
        return Body("text", text.removesuffix("\n").removesuffix("\r"))
    raise UnsupportedMediaType(
        f"cannot read a {mimetype} body; send application/json, text/plain or a form",
    )


def convert(body: Body, field: fields.Field, where: str) -> object:
    """The body as a value of `field`; text is read as JSON unless the field is a string."""
    if body.kind == "empty":
        raise BadRequest(f"{where} needs a value: send value=..., a JSON value or text/plain")
    value = body.value
    if body.kind == "form" and not getattr(field, "takes_forms", False):
        raise BadRequest(
            'form body has no "value" field; send value=...', errors={"body": ["missing field value"]}
        )
    if body.kind == "text" and not isinstance(field, fields.String):
        try:
            value = loads_text(value, f"value for {where}")  # type: ignore[arg-type]
        except json.JSONDecodeError:
            pass  # leave it as text: the field says whether it is acceptable
    try:
        return field.deserialize(value)
    except ValidationError as err:
        messages = err.messages
        summary = "; ".join(describe_validation(messages))
        raise BadRequest(
            f"bad value for {where}: {summary}",
            errors={where: messages},
        ) from err


def loads_text(text: str, what: str) -> object:
    """A text value read as JSON; JSONDecodeError when it is none, 400 when Python cannot hold it."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError) as err:
        raise _unreadable(what, err) from err


def _unreadable(what: str, err: RecursionError | ValueError) -> BadRequest:
    """The 400 for JSON that parses but Python will not hold: too deep, or too many digits."""
    if isinstance(err, RecursionError):
        return BadRequest(f"{what} is nested too deeply", errors={"body": ["nested too deeply"]})
    # int() refuses more than sys.get_int_max_str_digits() (4300) digits: no value needs them
    return BadRequest(f"{what} holds a number with too many digits", errors={"body": ["number too long"]})
