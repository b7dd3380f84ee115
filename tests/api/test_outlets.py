"""The outlet tree: reads, writes, locks, cycles, sequences and persistence."""

from __future__ import annotations

import json
import time

import pytest

from tests.support import Api, wait_for

OUTLET_KEYS = ["critical", "transient_state", "state", "physical_state", "name", "locked", "cycle_delay"]


def test_outlet_object_has_the_dli_shape(admin):
    response = admin.get("/restapi/relay/outlets/0/")
    assert response.status_code == 200
    assert list(response.json) == OUTLET_KEYS
    assert response.json["name"] == "Outlet 1"
    assert response.json["cycle_delay"] is None
    assert b" " not in response.data.replace(b"Outlet 1", b"")


def test_outlets_collection_is_a_zero_based_array_of_eight(admin):
    response = admin.get("/restapi/relay/outlets/")
    assert response.status_code == 200
    assert [o["name"] for o in response.json] == [f"Outlet {i}" for i in range(1, 9)]


def test_root_and_relay_list_their_children(admin):
    root = admin.get("/restapi/").json
    assert {"relay", "meter", "config", "auth"} <= set(root)
    relay = admin.get("/restapi/relay/").json
    assert relay["cycle_delay"] == 5.0 and relay["name"] == "powerctl"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "value=false", "content_type": "application/x-www-form-urlencoded"},
        {"data": "false", "content_type": "application/json"},
        {"data": "false", "content_type": "text/plain"},
    ],
    ids=["form", "json", "text"],
)
def test_put_state_switches_the_relay_and_answers_204(admin, app, kwargs):
    response = admin.put("/restapi/relay/outlets/3/state/", **kwargs)
    assert response.status_code == 204
    assert response.data == b""
    assert admin.get("/restapi/relay/outlets/3/state/").json is False
    assert app.extensions["powerctl.relay"].physical(3) is False
    assert admin.get("/restapi/relay/outlets/3/physical_state/").data == b"false"


def test_rename_with_form_json_and_text(admin):
    assert (
        admin.put(
            "/restapi/relay/outlets/1/name/",
            data="value=My%20name",
            content_type="application/x-www-form-urlencoded",
        ).status_code
        == 204
    )
    assert admin.get("/restapi/relay/outlets/1/name/").json == "My name"
    assert (
        admin.put("/restapi/relay/name/", data='"My controller"', content_type="application/json").status_code
        == 204
    )
    assert admin.get("/restapi/relay/name/").json == "My controller"


def test_physical_state_is_read_only(admin):
    response = admin.put(
        "/restapi/relay/outlets/0/physical_state/",
        data="value=true",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 405
    assert "read-only" in response.json["message"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/restapi/relay/outlets/0/state/", "value=maybe"),
        ("/restapi/relay/outlets/0/cycle_delay/", "value=-1"),
        ("/restapi/relay/outlets/0/cycle_delay/", "value=nan"),
        ("/restapi/relay/outlets/0/name/", "value="),
        ("/restapi/relay/sequence_delay/", "value=99999"),
        ("/restapi/relay/outlets/0/locked/", "value=2"),
    ],
)
def test_bad_values_get_400_and_change_nothing(admin, path, body):
    before = admin.get("/restapi/relay/").json
    response = admin.put(path, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.json["code"] == 400 and "bad value" in response.json["message"]
    assert admin.get("/restapi/relay/").json == before


def test_locked_outlet_refuses_state_changes_with_409(admin):
    form = {"content_type": "application/x-www-form-urlencoded"}
    assert admin.put("/restapi/relay/outlets/2/locked/", data="value=true", **form).status_code == 204
    response = admin.put("/restapi/relay/outlets/2/state/", data="value=false", **form)
    assert response.status_code == 409
    assert "locked" in response.json["message"]
    assert admin.post("/restapi/relay/outlets/2/cycle/").status_code == 409
    assert admin.get("/restapi/relay/outlets/2/state/").json is True


def test_matrix_put_with_a_locked_outlet_switches_nothing(admin):
    form = {"content_type": "application/x-www-form-urlencoded"}
    admin.put("/restapi/relay/outlets/5/locked/", data="value=true", **form)
    response = admin.put("/restapi/relay/outlets/all;/state/", data="value=false", **form)
    assert response.status_code == 409
    assert admin.get("/restapi/relay/outlets/all;/state/").json == [True] * 8


def test_matrix_cycle_with_a_locked_outlet_cycles_nothing(admin, app):
    relay = app.extensions["powerctl.relay"]
    form = {"content_type": "application/x-www-form-urlencoded"}
    admin.put("/restapi/relay/outlets/5/locked/", data="value=true", **form)
    response = admin.post("/restapi/relay/outlets/all;/cycle/")
    assert response.status_code == 409 and "locked" in response.json["message"]
    assert [relay.physical(i) for i in range(8)] == [True] * 8
    assert admin.get("/restapi/relay/outlets/all;/transient_state/").json == [True] * 8


def test_matrix_cycle_cycles_every_outlet_named(admin, app):
    relay = app.extensions["powerctl.relay"]
    admin.put(
        "/restapi/relay/cycle_delay/", data="value=0.2", content_type="application/x-www-form-urlencoded"
    )
    response = admin.post("/restapi/relay/outlets/=1,3/cycle/")
    assert response.status_code == 207 and response.json == [0.2, 0.2]
    assert [relay.physical(i) for i in (0, 1, 2, 3)] == [True, False, True, False]
    assert wait_for(lambda: relay.physical(1) is True and relay.physical(3) is True)


def test_cycle_goes_off_then_back_on_after_the_delay(admin, app):
    relay = app.extensions["powerctl.relay"]
    admin.put("/restapi/relay/outlets/4/cycle_delay/", data="0.3", content_type="application/json")
    started = time.monotonic()
    response = admin.post("/restapi/relay/outlets/4/cycle/")
    assert time.monotonic() - started < 0.25, "cycle must not hold the request open"
    assert response.status_code == 200 and response.json == 0.3
    assert relay.physical(4) is False
    outlet = admin.get("/restapi/relay/outlets/4/").json
    assert outlet["physical_state"] is False and outlet["transient_state"] is True
    assert outlet["state"] is True
    assert wait_for(lambda: relay.physical(4) is True)
    assert admin.get("/restapi/relay/outlets/4/transient_state/").json is True


def test_cycle_uses_the_relay_default_when_the_outlet_has_none(admin, app):
    admin.put(
        "/restapi/relay/cycle_delay/", data="value=0.2", content_type="application/x-www-form-urlencoded"
    )
    assert admin.post("/restapi/relay/outlets/1/cycle/").json == 0.2
    assert wait_for(lambda: app.extensions["powerctl.relay"].physical(1) is True)


def test_matrix_reads_answer_207_with_compact_arrays(admin):
    response = admin.get("/restapi/relay/outlets/all;/physical_state/")
    assert response.status_code == 207 and response.data == b"[" + b",".join([b"true"] * 8) + b"]"
    assert admin.get("/restapi/relay/outlets/=0/state/").data == b"[true]"
    both = admin.get("/restapi/relay/outlets/=1,3/=name,physical_state/")
    assert both.status_code == 207
    assert both.json == ["Outlet 2", True, "Outlet 4", True]


def test_filters_select_children_by_field(admin):
    form = {"content_type": "application/x-www-form-urlencoded"}
    admin.put("/restapi/relay/outlets/=1,6/locked/", data="value=true", **form)
    assert admin.get("/restapi/relay/outlets/all;locked=true/name/").json == ["Outlet 2", "Outlet 7"]
    assert len(admin.get("/restapi/relay/outlets/all;locked=false/name/").json) == 6
    one = admin.get("/restapi/relay/outlets/one;name=Outlet%203/state/")
    assert one.status_code == 200 and one.json is True
    short = admin.get("/restapi/relay/outlets/name=Outlet%203/state/")
    assert short.status_code == 207 and short.json == [True]


def test_one_with_no_match_is_404_and_with_several_is_409(admin):
    assert admin.get("/restapi/relay/outlets/one;name=nothing/state/").status_code == 404
    assert admin.get("/restapi/relay/outlets/one;locked=false/state/").status_code == 409


def test_matrix_put_switches_each_listed_outlet_and_answers_207(admin):
    response = admin.put(
        "/restapi/relay/outlets/=0,2/state/",
        data="value=false",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 207
    assert response.json == [False, False]
    assert admin.get("/restapi/relay/outlets/all;/state/").json == [
        False,
        True,
        False,
        True,
        True,
        True,
        True,
        True,
    ]


def test_switching_several_on_honours_the_sequence_delay(make_app):
    app = make_app(relay={"sequence_delay": 0.25})
    admin = Api(app.test_client())
    relay = app.extensions["powerctl.relay"]
    form = {"content_type": "application/x-www-form-urlencoded"}
    admin.put("/restapi/relay/outlets/all;/state/", data="value=false", **form)
    started = time.monotonic()
    response = admin.put("/restapi/relay/outlets/=1,2,3/state/", data="value=true", **form)
    assert response.status_code == 207 and time.monotonic() - started < 0.2
    assert relay.physical(1) is True and relay.physical(2) is False
    assert admin.get("/restapi/relay/outlets/=1,2,3/transient_state/").json == [True] * 3
    assert wait_for(lambda: relay.physical(2) is True, 1.0)
    assert relay.physical(3) is False
    assert wait_for(lambda: relay.physical(3) is True, 1.0)


def test_configured_settings_survive_a_restart_and_are_applied_to_the_hardware(make_app):
    first = make_app()
    admin = Api(first.test_client())
    form = {"content_type": "application/x-www-form-urlencoded"}
    admin.put("/restapi/relay/outlets/6/state/", data="value=false", **form)
    admin.put("/restapi/relay/outlets/6/name/", data="value=Router", **form)
    admin.put("/restapi/relay/outlets/6/locked/", data="value=true", **form)
    admin.put("/restapi/relay/outlets/6/cycle_delay/", data="value=7", **form)
    first.extensions["powerctl.relay"].close()
    second = make_app()
    outlet = Api(second.test_client()).get("/restapi/relay/outlets/6/").json
    assert outlet == {
        "critical": False,
        "transient_state": False,
        "state": False,
        "physical_state": False,
        "name": "Router",
        "locked": True,
        "cycle_delay": 7.0,
    }


def test_transient_state_switches_without_changing_the_configured_state(admin, app):
    response = admin.put(
        "/restapi/relay/outlets/0/transient_state/", data="false", content_type="application/json"
    )
    assert response.status_code == 204
    outlet = admin.get("/restapi/relay/outlets/0/").json
    assert outlet["state"] is True and outlet["transient_state"] is False
    assert outlet["physical_state"] is False


def test_meter_values_follow_the_outlets(admin):
    values = admin.get("/restapi/meter/values/").json
    assert {"bus.0.voltage", "bus.0.current", "bus.0.power", "temperature.0"} <= set(values)
    reading = values["bus.0.voltage"]
    assert set(reading) == {"name", "value", "unit", "bus", "quantity"}
    names = admin.get("/restapi/meter/values/all;bus=0/=name,value/")
    assert names.status_code == 207 and len(names.json) % 2 == 0
    assert json.loads(admin.get("/restapi/meter/values/all;/value/").data)
