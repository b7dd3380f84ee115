"""The Redfish view through the Flask app: documents, outlets, PATCH and actions, errors, scopes."""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET

import pytest

from tests.redfish.support import CSDL, OUTLET
from tests.support import ADMIN_PASSWORD

BASIC = {"Authorization": "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()}
HTTPS = {"base_url": "https://localhost"}


@pytest.fixture
def rf(app):
    return app.test_client()


def get(rf, path, **kw):
    return rf.get(path, headers=BASIC, **HTTPS, **kw)


def register(admin, client_id: str, *scopes: str) -> dict:
    raw = f"{client_id}-token".encode()
    body = {
        "name": client_id,
        "redirect_urls": {},
        "refresh_tokens": {},
        "scopes": dict.fromkeys(scopes, True),
        "access_tokens": {hashlib.sha256(raw).hexdigest(): {}},
    }
    assert admin.put(f"/restapi/auth/clients/{client_id}/", json=body).status_code == 204
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return {"Authorization": f"Bearer {client_id}.{token}"}


@pytest.mark.parametrize("path", ["/redfish", "/redfish/v1/", "/redfish/v1", "/redfish/v1/odata"])
def test_the_service_root_and_odata_need_no_authentication(rf, path):
    response = rf.get(path)
    assert response.status_code == 200
    assert response.headers["OData-Version"] == "4.0"
    assert response.is_json


def test_the_service_root_names_a_stable_uuid_and_the_links_dsp0266_requires(make_app):
    first = make_app().test_client().get("/redfish/v1/").json
    assert first["PowerEquipment"] == {"@odata.id": "/redfish/v1/PowerEquipment"}
    assert first["Links"]["Sessions"] == {"@odata.id": "/redfish/v1/SessionService/Sessions"}
    assert first["SessionService"] == {"@odata.id": "/redfish/v1/SessionService"}
    again = make_app().test_client().get("/redfish/v1/").json  # same data directory, new app
    assert again["UUID"] == first["UUID"]


def test_metadata_references_exactly_schemas_that_exist(rf):
    response = rf.get("/redfish/v1/$metadata")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.data)
    ns = {"edmx": "http://docs.oasis-open.org/odata/ns/edmx"}
    files = [ref.get("Uri").rsplit("/", 1)[1] for ref in root.findall("edmx:Reference", ns)]
    assert len(files) == len(set(files))
    for name in files:
        assert (CSDL / name).is_file(), name
    # every @odata.type served names a referenced schema
    referenced = {name.removesuffix("_v1.xml") for name in files}
    for path in (
        "/redfish/v1/",
        "/redfish/v1/PowerEquipment",
        OUTLET,
        OUTLET + "1",
        "/redfish/v1/SessionService",
    ):
        kind = get(rf, path).json["@odata.type"]
        assert kind.lstrip("#").split(".")[0] in referenced, kind


def test_everything_else_needs_credentials_and_says_basic(rf):
    response = rf.get(OUTLET + "1", **HTTPS)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert response.headers["OData-Version"] == "4.0"
    info = response.json["error"]["@Message.ExtendedInfo"][0]
    assert info["MessageId"].startswith("Base.")


def test_basic_over_plain_http_is_refused(rf):
    assert rf.get(OUTLET + "1", headers=BASIC).status_code == 401


def test_an_outlet_shows_its_relay_leaves(rf, admin):
    admin.put("/restapi/relay/outlets/2/name/", json="router")
    admin.put("/restapi/relay/outlets/2/cycle_delay/", json=7)
    body = get(rf, OUTLET + "3").json
    assert body["Id"] == "3" and body["@odata.id"].endswith("/Outlets/3")
    assert body["UserLabel"] == "router"
    assert body["PowerState"] == "On"
    assert body["PowerCycleDelaySeconds"] == 7.0
    assert body["PowerControlLocked"] is False
    action = body["Actions"]["#Outlet.PowerControl"]
    assert action["target"] == OUTLET + "3/Actions/Outlet.PowerControl"
    assert action["PowerState@Redfish.AllowableValues"] == ["On", "Off", "PowerCycle"]
    members = get(rf, OUTLET).json
    assert members["Members@odata.count"] == 8
    assert members["Members"][0] == {"@odata.id": OUTLET + "1"}


@pytest.mark.parametrize("outlet_id", ["0", "9", "01", "x", "-1"])
def test_an_outlet_that_does_not_exist_is_404(rf, outlet_id):
    response = get(rf, OUTLET + outlet_id)
    assert response.status_code == 404
    assert response.json["error"]["@Message.ExtendedInfo"][0]["MessageId"].endswith("ResourceNotFound")


def test_power_control_switches_the_outlet_and_a_locked_outlet_is_409(rf, admin):
    target = OUTLET + "2/Actions/Outlet.PowerControl"
    off = rf.post(target, json={"PowerState": "Off"}, headers=BASIC, **HTTPS)
    assert off.status_code == 204
    assert admin.get("/restapi/relay/outlets/1/state/").json is False
    assert get(rf, OUTLET + "2").json["PowerState"] == "Off"
    assert (
        rf.patch(OUTLET + "2", json={"PowerControlLocked": True}, headers=BASIC, **HTTPS).status_code == 200
    )
    refused = rf.post(target, json={"PowerState": "On"}, headers=BASIC, **HTTPS)
    assert refused.status_code == 409
    info = refused.json["error"]["@Message.ExtendedInfo"][0]
    assert info["MessageId"].startswith("Base.") and "locked" in info["Message"]
    assert admin.get("/restapi/relay/outlets/1/state/").json is False


@pytest.mark.parametrize(
    ("body", "message_id"),
    [
        ({"PowerState": "Sideways"}, "ActionParameterValueNotInList"),
        ({}, "ActionParameterMissing"),
        ({"PowerState": "On", "When": "now"}, "ActionParameterUnknown"),
        ([1, 2], "ActionParameterMissing"),
    ],
)
def test_a_bad_power_control_is_400_and_switches_nothing(rf, admin, body, message_id):
    response = rf.post(OUTLET + "1/Actions/Outlet.PowerControl", json=body, headers=BASIC, **HTTPS)
    assert response.status_code == 400
    assert response.json["error"]["@Message.ExtendedInfo"][0]["MessageId"].endswith(message_id)
    assert admin.get("/restapi/relay/outlets/0/state/").json is True


@pytest.mark.parametrize(
    ("body", "message_id"),
    [
        ({"UserLabel": "ok", "Bogus": 1}, "PropertyUnknown"),
        ({"UserLabel": "ok", "PowerState": "Off"}, "PropertyNotWritable"),
        ({"UserLabel": "ok", "PowerCycleDelaySeconds": "soon"}, "PropertyValueTypeError"),
        ({"UserLabel": "ok", "PowerCycleDelaySeconds": 10**400}, "PropertyValueTypeError"),
        ({"UserLabel": ""}, "PropertyValueTypeError"),
    ],
)
def test_a_bad_patch_is_400_and_writes_nothing(rf, admin, body, message_id):
    response = rf.patch(OUTLET + "1", json=body, headers=BASIC, **HTTPS)
    assert response.status_code == 400
    assert response.json["error"]["@Message.ExtendedInfo"][0]["MessageId"].endswith(message_id)
    assert admin.get("/restapi/relay/outlets/0/name/").json == "Outlet 1"


def test_a_patch_sets_every_property_it_names(rf, admin):
    body = {"UserLabel": "switch", "PowerCycleDelaySeconds": 3, "PowerOnDelaySeconds": 2}
    response = rf.patch(OUTLET + "1", json=body, headers=BASIC, **HTTPS)
    assert response.status_code == 200
    assert response.json["UserLabel"] == "switch"
    assert admin.get("/restapi/relay/outlets/0/cycle_delay/").json == 3
    assert admin.get("/restapi/relay/sequence_delay/").json == 2


def test_an_unknown_method_is_405_with_allow(rf):
    response = rf.delete(OUTLET + "1", headers=BASIC, **HTTPS)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "PATCH"}


def test_a_client_scoped_to_outlet_1_is_refused_on_outlet_2_everywhere(rf, admin):
    bearer = register(
        admin,
        "lab",
        "/relay/outlets/0/?access=get,modify,invoke",
    )
    assert rf.get(OUTLET + "1", headers=bearer).status_code == 200
    assert [m["@odata.id"] for m in rf.get(OUTLET, headers=bearer).json["Members"]] == [OUTLET + "1"]
    assert rf.get(OUTLET + "2", headers=bearer).status_code == 403
    for state in ("On", "Off", "PowerCycle"):
        action = rf.post(OUTLET + "2/Actions/Outlet.PowerControl", json={"PowerState": state}, headers=bearer)
        assert action.status_code == 403, state
    assert rf.patch(OUTLET + "2", json={"UserLabel": "mine"}, headers=bearer).status_code == 403
    # the relay-wide delay is not the client's either: the whole PATCH is refused
    mixed = rf.patch(OUTLET + "1", json={"UserLabel": "mine", "PowerOnDelaySeconds": 9}, headers=bearer)
    assert mixed.status_code == 403
    assert admin.get("/restapi/relay/outlets/0/name/").json == "Outlet 1"
    assert (
        rf.post(
            OUTLET + "1/Actions/Outlet.PowerControl", json={"PowerState": "Off"}, headers=bearer
        ).status_code
        == 204
    )
    assert admin.get("/restapi/relay/outlets/1/state/").json is True
    assert admin.get("/restapi/relay/outlets/0/state/").json is False
    assert rf.get("/redfish/v1/SessionService/Sessions", headers=bearer).status_code == 403


def test_a_read_only_client_sees_state_but_may_not_switch(rf, admin):
    bearer = register(admin, "viewer", "/relay/outlets/all;/physical_state/?access=get")
    body = rf.get(OUTLET + "4", headers=bearer).json
    assert body["PowerState"] == "On"
    assert "UserLabel" not in body  # no scope covers relay/outlets/3/name
    refused = rf.post(OUTLET + "4/Actions/Outlet.PowerControl", json={"PowerState": "Off"}, headers=bearer)
    assert refused.status_code == 403
    assert admin.get("/restapi/relay/outlets/3/state/").json is True


def test_sessions_log_in_and_out_and_a_bad_password_counts_as_a_failure(app, rf):
    # first, so that its denial is this address's first and stored in full (later ones coalesce)
    wrong = rf.post(
        "/redfish/v1/SessionService/Sessions", json={"UserName": "admin", "Password": "nope"}, **HTTPS
    )
    assert wrong.status_code == 401
    assert app.extensions["powerctl.auth"].lockout.counting("127.0.0.1")
    login = rf.post(
        "/redfish/v1/SessionService/Sessions", json={"UserName": "admin", "Password": ADMIN_PASSWORD}, **HTTPS
    )
    assert login.status_code == 201
    token, location = login.headers["X-Auth-Token"], login.headers["Location"]
    assert location.startswith("/redfish/v1/SessionService/Sessions/")
    assert login.json["UserName"] == "admin"
    assert token not in login.get_data(as_text=True)
    auth = {"X-Auth-Token": token}
    assert rf.get(OUTLET + "1", headers=auth).status_code == 200
    assert rf.delete(location, headers=auth).status_code == 204
    assert rf.get(OUTLET + "1", headers=auth).status_code == 401
    trail = app.extensions["powerctl.audit"].tail(50)
    assert any("bad user name or password" in line for line in trail)
    assert not any(token in line or ADMIN_PASSWORD in line for line in trail)


def test_redfish_sessions_are_for_admins_and_follow_the_users_record(app, rf, admin):
    sessions = "/redfish/v1/SessionService/Sessions"
    for name, is_admin in (("ned", False), ("ana", True)):
        body = {"password": "s3cret-pass", "is_admin": is_admin, "outlet_access": [True]}
        assert admin.put(f"/restapi/auth/users/{name}/", json=body).status_code == 204
    refused = rf.post(sessions, json={"UserName": "ned", "Password": "s3cret-pass"}, **HTTPS)
    assert refused.status_code == 403
    login = rf.post(sessions, json={"UserName": "ana", "Password": "s3cret-pass"}, **HTTPS)
    assert login.status_code == 201
    auth = {"X-Auth-Token": login.headers["X-Auth-Token"]}
    assert rf.get(OUTLET + "2", headers=auth).status_code == 200
    assert admin.put("/restapi/auth/users/ana/", json={"is_admin": False}).status_code == 204
    assert rf.get(OUTLET + "2", headers=auth).status_code in (403, 404)
    assert rf.get(OUTLET + "1", headers=auth).status_code == 200  # outlet 0, which it may read
