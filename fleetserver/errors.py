"""The fleet server's exceptions; `powerctl.errors` turns them into the JSON envelope."""

from __future__ import annotations

from powerctl.errors import BadRequest, Conflict, Forbidden, NotFound


class FleetServerError(Exception):
    """Root of the fleet server's store errors."""


class Invalid(FleetServerError):
    """Input that is well formed JSON but wrong (a certificate that does not verify, ...)."""


class Missing(FleetServerError):
    """No such controller, client, peer or certificate."""


class Clash(FleetServerError):
    """The request conflicts with the current state (already registered, still active, ...)."""


class NotAllowed(FleetServerError):
    """The caller sees the object but this step is another account's (accepting one's own
    transfer, cancelling one made to oneself)."""


class Refused(FleetServerError):
    """A sync call that may not have the bundle; the message says why, for the controller."""


def as_api_error(err: FleetServerError):
    """The `powerctl.errors.ApiError` the store error answers as."""
    kind = {Invalid: BadRequest, Missing: NotFound, Clash: Conflict, NotAllowed: Forbidden}.get(
        type(err), BadRequest
    )
    return kind(str(err))
