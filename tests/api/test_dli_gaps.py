"""Leaves and habits of DLI clients found in the field: relay/model etc., plaintext Basic, form GETs."""

from __future__ import annotations

import base64

import pytest

from tests.support import ADMIN_PASSWORD

BASIC = {"Authorization": "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()}
FORM = "application/x-www-form-urlencoded"


def test_relay_answers_model_version_online_and_recovery_mode(admin):
    import powerctl

    relay = admin.get("/restapi/relay/").json
    assert relay["model"] == "powerctl"
    assert relay["version"] == powerctl.__version__
    assert relay["online"] is True
    assert relay["recovery_mode"] == 2
    assert admin.get("/restapi/relay/online/").json is True


@pytest.mark.parametrize("value", ["3", "-1", "true", "x"])
def test_recovery_mode_refuses_values_dli_does_not_have(admin, value):
    response = admin.put("/restapi/relay/recovery_mode/", data=f"value={value}", content_type=FORM)
    assert response.status_code == 400
    assert admin.get("/restapi/relay/recovery_mode/").json == 2


@pytest.mark.parametrize(("mode", "expected"), [(0, False), (1, True), (2, None)])
def test_recovery_mode_decides_the_outlets_at_the_next_start(make_app, mode, expected):
    from tests.support import Api

    app = make_app()
    admin = Api(app.test_client())
    admin.put("/restapi/relay/outlets/0/state/", data="value=false", content_type=FORM)
    admin.put("/restapi/relay/outlets/1/state/", data="value=true", content_type=FORM)
    assert (
        admin.put("/restapi/relay/recovery_mode/", data=f"value={mode}", content_type=FORM).status_code == 204
    )
    import powerctl

    powerctl.shutdown(app)
    again = Api(make_app().test_client())
    states = again.get("/restapi/relay/outlets/all;/physical_state/").json
    if expected is None:  # as configured
        assert states[:2] == [False, True]
    else:
        assert states == [expected] * 8
        assert again.get("/restapi/relay/outlets/0/state/").json is expected


def test_basic_over_plain_http_is_off_until_allow_plaintext_logins_and_says_why(app, admin):
    client = app.test_client()
    refused = client.get("/restapi/relay/name/", headers=BASIC)
    assert refused.status_code == 401
    assert "allow_plaintext_logins" in refused.json["message"]
    assert admin.get("/restapi/config/allow_plaintext_logins/").json is False
    turned_on = admin.put("/restapi/config/allow_plaintext_logins/", data="value=true", content_type=FORM)
    assert turned_on.status_code == 204
    assert client.get("/restapi/relay/name/", headers=BASIC).status_code == 200
    wrong = base64.b64encode(b"admin:wrong").decode()
    assert client.get("/restapi/relay/name/", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    trail = app.extensions["powerctl.audit"].tail(20)
    assert any("allow_plaintext_logins set to true by user admin" in line for line in trail)


def test_a_client_may_not_turn_on_plaintext_logins(admin, app):
    import hashlib

    body = {
        "name": "lab",
        "redirect_urls": {},
        "refresh_tokens": {},
        "scopes": {"/config/?access=get,modify": True},
        "access_tokens": {hashlib.sha256(b"Hello").hexdigest(): {}},
    }
    assert admin.put("/restapi/auth/clients/lab/", json=body).status_code == 204
    response = app.test_client().put(
        "/restapi/config/allow_plaintext_logins/",
        data="value=true",
        content_type=FORM,
        headers={"Authorization": "Bearer lab.SGVsbG8", "X-CSRF": "x"},
    )
    assert response.status_code == 403
    assert admin.get("/restapi/config/allow_plaintext_logins/").json is False


def test_a_get_with_a_form_content_type_and_no_body_is_answered(admin):
    response = admin.get("/restapi/relay/outlets/0/state/", headers={"Content-Type": FORM})
    assert response.status_code == 200
    assert response.json is True
