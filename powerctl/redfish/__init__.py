"""A Redfish view of the outlets (DSP0266, the DSP2043 rack-PDU model) beside /restapi/.

Each Redfish property and action maps onto the /restapi/ leaf it shows or changes, so the same
scopes govern both surfaces; docs/redfish.md has the table.
"""

from __future__ import annotations

import re
import uuid

from flask import Blueprint, Flask, Response, current_app, request

import hw
from powerctl.domain import PowerctlError
from powerctl.errors import ApiError, Unauthorized, describe
from powerctl.redfish import outlets as rf_outlets
from powerctl.redfish import service, wire
from powerctl.redfish.access import Gatekeeper
from powerctl.redfish.outlets import PropertyError
from powerctl.redfish.sessions import (
    RedfishSessions,
    session_collection,
    session_document,
    session_service,
)
from powerctl.relay import Actor, Relay
from powerctl.store import Database
from powerctl.version import __version__
from scopes import Access

bp = Blueprint("redfish", __name__)
ALL_METHODS = ["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"]


class Redfish:
    """Per-app state: the relay it shows, its sessions and the device's identity."""

    def __init__(self, relay: Relay, db: Database, identity: dict, session_timeout: int):
        self.relay = relay
        self.db = db
        self.identity = identity
        self.sessions = RedfishSessions(session_timeout)
        self.gate = Gatekeeper(relay, self.sessions)


def _state() -> Redfish:
    return current_app.extensions["powerctl.redfish"]


def resource(rule: str, **handlers):
    """Register one URI for every method; methods without a handler answer a Redfish 405."""

    def view(**kwargs) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        handler = handlers.get(method.lower())
        allowed = ", ".join(
            sorted({m.upper() for m in handlers} | ({"HEAD"} if "get" in handlers else set()))
        )
        if handler is None:
            return wire.error(
                405, f"{request.method} is not supported on {request.path}", headers={"Allow": allowed}
            )
        response = handler(**kwargs)
        response.headers.setdefault("Allow", allowed)
        return response

    endpoint = re.sub(r"[^A-Za-z0-9]+", "_", rule.removeprefix("/redfish")).strip("_") or "redfish"
    bp.add_url_rule(rule, endpoint, view, methods=ALL_METHODS, strict_slashes=False)


def _json_body() -> object:
    if not request.get_data():
        raise PropertyError("the request has no JSON body", "MalformedJSON")
    body = request.get_json(silent=True)
    if body is None:
        raise PropertyError("the body is not JSON", "MalformedJSON")
    return body


# documents without authentication (DSP0266 section 13.3.1)
resource("/redfish", get=lambda: wire.document({"v1": "/redfish/v1/"}))
resource(
    "/redfish/v1/",
    get=lambda: wire.document(service.service_root(_state().identity["uuid"], "powerctl")),
)
resource("/redfish/v1/odata", get=lambda: wire.document(service.odata_service()))
resource(
    "/redfish/v1/$metadata",
    get=lambda: Response(service.metadata(), content_type="application/xml", headers=wire.ODATA),
)


def _outlet_reader(render):
    """A resource above the outlets: for anyone who may read some outlet's state (403 else)."""

    def handler(**kwargs) -> Response:
        state = _state()
        state.gate.sees_outlets(state.gate.principal())
        return wire.document(render(**kwargs))

    return handler


resource("/redfish/v1/PowerEquipment", get=_outlet_reader(service.power_equipment))
resource("/redfish/v1/PowerEquipment/RackPDUs", get=_outlet_reader(service.rack_pdus))


def _rack_pdu() -> Response:
    state = _state()
    state.gate.sees_outlets(state.gate.principal())
    health = "OK" if state.relay.online else "Warning"
    return wire.document(service.rack_pdu(state.relay.setting("name"), state.identity, health))


resource(service.PDU, get=_rack_pdu)


def _outlet_index(outlet_id: str) -> int:
    index = rf_outlets.index_of(_state().relay, outlet_id)
    if index is None:
        raise _NotFound(f"there is no outlet {outlet_id}; outlets are numbered 1 to {_state().relay.count}")
    return index


class _NotFound(ApiError):
    code = 404


def _outlets() -> Response:
    state = _state()
    members = state.gate.sees_outlets(state.gate.principal())
    return wire.document(rf_outlets.outlets(members))


def _outlet_get(outlet_id: str) -> Response:
    state = _state()
    principal = state.gate.principal()
    index = _outlet_index(outlet_id)
    shown = state.gate.shown(principal, index)
    if rf_outlets.REQUIRED not in shown:
        state.gate.require(principal, [rf_outlets.READABLE[rf_outlets.REQUIRED](index)], Access.GET)
    state.gate.allowed(principal)
    return wire.document(rf_outlets.outlet(state.relay, index, shown))


def _outlet_patch(outlet_id: str) -> Response:
    state = _state()
    principal = state.gate.principal()
    index = _outlet_index(outlet_id)
    # who may change nothing of this outlet learns nothing of how to word a PATCH
    state.gate.may_any(principal, [(w.leaf(index), Access.MODIFY) for w in rf_outlets.WRITABLE.values()])
    plan = rf_outlets.patch_plan(_json_body(), index)
    state.gate.require(principal, [writable.leaf(index) for writable, _ in plan], Access.MODIFY)
    actor = principal.actor()
    for writable, value in plan:
        writable.apply(state.relay, index, value, actor)
    return wire.document(rf_outlets.outlet(state.relay, index, state.gate.shown(principal, index)))


def _power_control(outlet_id: str) -> Response:
    state = _state()
    principal = state.gate.principal()
    index = _outlet_index(outlet_id)
    state.gate.may_any(
        principal,
        [(rf_outlets.leaf(index, "state"), Access.MODIFY), (rf_outlets.leaf(index, "cycle"), Access.INVOKE)],
    )
    wanted = rf_outlets.power_control_plan(_json_body())
    if wanted == "PowerCycle":
        state.gate.require(principal, [rf_outlets.leaf(index, "cycle")], Access.INVOKE)
        state.relay.cycle(index, Actor.of(principal, "redfish"))
    else:
        state.gate.require(principal, [rf_outlets.leaf(index, "state")], Access.MODIFY)
        state.relay.set_state([index], wanted == "On", Actor.of(principal, "redfish"))
    return wire.no_content()


resource(rf_outlets.OUTLETS, get=_outlets)
resource(f"{rf_outlets.OUTLETS}/<outlet_id>", get=_outlet_get, patch=_outlet_patch)
resource(f"{rf_outlets.OUTLETS}/<outlet_id>/Actions/{rf_outlets.POWER_CONTROL}", post=_power_control)


# sessions
def _session_service() -> Response:
    state = _state()
    state.gate.admin()  # Redfish sessions are the admins'; clients use their own tokens
    return wire.document(session_service(state.sessions.timeout))


def _sessions_list() -> Response:
    state = _state()
    principal = state.gate.admin()
    own = [i for i in state.sessions.ids() if principal.is_admin]
    return wire.document(session_collection(own))


def _session_create() -> Response:
    state = _state()
    body = _json_body()
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("UserName"), str)
        or not isinstance(body.get("Password"), str)
    ):
        raise PropertyError("a session needs UserName and Password, both strings", "ActionParameterMissing")
    principal = state.gate.login(body["UserName"], body["Password"])
    opened = state.sessions.open(principal.name)
    if opened is None:
        return wire.error(503, "too many open sessions; delete one first", "SessionLimitExceeded")
    session, token = opened
    state.gate.audit(f"Redfish session {session.id} opened by {principal.actor()}")
    location = f"{service.SESSIONS}/{session.id}"
    return wire.document(session_document(session), 201, {"X-Auth-Token": token, "Location": location})


def _session_get(session_id: str) -> Response:
    state = _state()
    state.gate.admin()
    session = state.sessions.get(session_id)
    if session is None:
        raise _NotFound(f"there is no session {session_id}")
    return wire.document(session_document(session))


def _session_delete(session_id: str) -> Response:
    state = _state()
    principal = state.gate.admin()
    if not state.sessions.close(session_id):
        raise _NotFound(f"there is no session {session_id}")
    state.gate.audit(f"Redfish session {session_id} closed by {principal.actor()}")
    return wire.no_content()


resource(service.SESSION_SERVICE, get=_session_service)
resource(service.SESSIONS, get=_sessions_list, post=_session_create)
resource(f"{service.SESSIONS}/<session_id>", get=_session_get, delete=_session_delete)


@bp.route("/redfish/v1/<path:rest>", methods=ALL_METHODS)
def unknown(rest: str) -> Response:
    return wire.error(404, f"there is no resource /redfish/v1/{rest}")


@bp.errorhandler(PropertyError)
def property_error(err: PropertyError) -> Response:
    return wire.error(400, str(err), err.message_id)


@bp.errorhandler(ApiError)
def api_error(err: ApiError) -> Response:
    headers = dict(err.headers)
    if isinstance(err, Unauthorized):
        headers["WWW-Authenticate"] = f'Basic realm="{_state().gate.realm}"'
    return wire.error(err.code, err.message, headers=headers)


@bp.errorhandler(PowerctlError)
@bp.errorhandler(hw.HardwareError)
def service_error(err: PowerctlError | hw.HardwareError) -> Response:
    return wire.error(*describe(err))


def init_app(app: Flask, relay: Relay, db: Database, settings: dict) -> None:
    """Serve /redfish/ unless `[redfish] enabled = false`."""
    if not settings["enabled"]:
        return
    identity = {
        "uuid": db.setting_or_create("redfish.uuid", lambda: str(uuid.uuid4())),
        "manufacturer": settings["manufacturer"],
        "model": settings["model"],
        "serial": db.get_setting("serial"),
        "firmware": settings["firmware_version"] or __version__,
    }
    app.extensions["powerctl.redfish"] = Redfish(relay, db, identity, settings["session_timeout"])
    app.register_blueprint(bp)
