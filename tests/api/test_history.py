"""history/ of a meter and of an outlet: the contract, the range checks and the scoping."""

from __future__ import annotations

import base64
import time

import pytest

from powerctl.history import SKEW
from powerctl.store import history as store
from tests.api.clients_support import HELLO_HASH, register
from tests.redfish.support import OUTLET
from tests.support import ADMIN_PASSWORD, Api

VOLTAGE = "/restapi/meter/values/bus.0.voltage/history/"


def _client(app, admin, client_id: str, *scopes: str) -> Api:
    body = {
        "name": client_id,
        "redirect_urls": {},
        "scopes": dict.fromkeys(scopes, True),
        "refresh_tokens": {},
        "access_tokens": {HELLO_HASH: {}},
    }
    assert register(admin, client_id, body).status_code == 204
    return Api(app.test_client(), bearer=f"{client_id}.SGVsbG8")


def _rows(app, meter: str, step: int, rows: list[tuple[int, float]]) -> None:
    """History rows as the sampler and its rollups leave them."""
    db = app.extensions["powerctl.db"]
    ids = store.meter_ids(db, [meter])
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO meter_history (step, meter, t, value, n) VALUES (?, ?, ?, ?, 1)",
            [(step, ids[meter], t, value) for t, value in rows],
        )


@pytest.fixture
def quiet(make_app):
    """An app that samples nothing by itself: the tests write its history."""
    return make_app(history={"interval": 0})


@pytest.fixture
def admin(quiet):
    return Api(quiet.test_client())


def test_the_last_hour_of_samples_by_default(quiet, admin):
    now = int(time.time())
    _rows(quiet, "bus.0.voltage", 0, [(now - 4000, 1.0), (now - 600, 119.5), (now - 300, 120.25)])
    response = admin.get(VOLTAGE)
    assert response.status_code == 200
    assert response.json == {
        "id": "bus.0.voltage",
        "unit": "V",
        "step": 10,
        "points": [[now - 600, 119.5], [now - 300, 120.25]],
    }


def test_the_finest_tier_that_reaches_back_to_from(quiet, admin):
    now = int(time.time())
    _rows(quiet, "bus.0.power", 0, [(now - 3600, 1.0)])
    _rows(quiet, "bus.0.power", 60, [(now - 3 * 86400, 2.0)])
    _rows(quiet, "bus.0.power", 900, [(now - 30 * 86400, 3.0)])
    path = "/restapi/meter/values/bus.0.power/history/"
    for start, step, points in (
        (now - 86400 + 30, 10, [[now - 3600, 1.0]]),  # a margin for the seconds the test takes
        (now - 86400 - 5, 10, [[now - 3600, 1.0]]),  # "the last day" from a clock a little behind
        (now - 86400 - SKEW - 60, 60, []),
        (now - 7 * 86400 + 30, 60, [[now - 3 * 86400, 2.0]]),
        (now - 7 * 86400 - 5, 60, [[now - 3 * 86400, 2.0]]),
        (now - 7 * 86400 - SKEW - 60, 900, []),
        (now - 40 * 86400, 900, [[now - 30 * 86400, 3.0]]),
    ):
        body = admin.get(f"{path}?from={start}&to={now}").json
        assert (body["step"], body["points"]) == (step, points), start


def test_to_bounds_the_points_and_from_alone_runs_to_now(quiet, admin):
    now = int(time.time())
    _rows(quiet, "bus.0.voltage", 0, [(now - 30, 1.0), (now - 20, 2.0), (now - 10, 3.0)])
    assert admin.get(f"{VOLTAGE}?from={now - 25}&to={now - 20}").json["points"] == [[now - 20, 2.0]]
    assert admin.get(f"{VOLTAGE}?from={now - 25}").json["points"] == [[now - 20, 2.0], [now - 10, 3.0]]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("from=abc", "from"),
        ("from=", "from"),
        ("from=1.5", "from"),
        ("from=-1", "from"),
        ("from=%2B5", "from"),  # +5
        ("from=%201", "from"),
        ("from=%D9%A1%D9%A2", "from"),  # Arabic-Indic digits, which int() takes
        ("from=%EF%BC%91", "from"),  # a fullwidth 1
        ("to=1e9", "to"),
        ("to=4294967296", "to"),
        ("to=99999999999999999999", "to"),
        ("from=1&from=2", "from"),
        ("from=20&to=10", "from"),
        ("from=4294967295", "from"),  # after now, with to defaulting to now
    ],
)
def test_a_bad_range_is_400_naming_the_parameter(admin, query, name):
    response = admin.get(f"{VOLTAGE}?{query}")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["code"] == 400 and name in response.json["errors"]


def test_an_unknown_meter_is_404_like_its_value(admin):
    assert admin.get("/restapi/meter/values/nope/value/").status_code == 404
    response = admin.get("/restapi/meter/values/nope/history/")
    assert response.status_code == 404 and response.json["code"] == 404


def test_history_is_left_out_of_the_meter_and_its_listings(admin):
    meter = admin.get("/restapi/meter/values/bus.0.voltage/").json
    assert set(meter) == {"name", "value", "unit", "bus", "quantity"}
    assert len(admin.get("/restapi/meter/values/bus.0.voltage/all;/").json) == 5
    outlet = admin.get("/restapi/relay/outlets/0/").json
    assert "history" not in outlet


def test_a_meter_history_is_scoped_like_its_value(quiet, admin):
    now = int(time.time())
    _rows(quiet, "bus.0.voltage", 0, [(now - 60, 120.0)])
    _rows(quiet, "bus.0.current", 0, [(now - 60, 2.0)])
    reader = _client(quiet, admin, "reader", "/meter/values/bus.0.voltage/value/?access=get")
    assert reader.get(VOLTAGE).json["points"] == [[now - 60, 120.0]]
    refused = reader.get("/restapi/meter/values/bus.0.current/history/")
    assert refused.status_code == 403
    lines = quiet.extensions["powerctl.audit"].tail(5)
    assert "no get scope covers /meter/values/bus.0.current/history/" in lines[-1]
    assert lines[-1].startswith("access denied for reader (reader@")
    assert any(line.startswith("access allowed for reader (reader@") for line in lines)

    names = _client(quiet, admin, "names", "/meter/values/all;/=name/")
    assert names.get(VOLTAGE).status_code == 403
    writer = _client(quiet, admin, "writer", "/meter/values/bus.0.voltage/value/?access=modify")
    assert writer.get(VOLTAGE).status_code == 403
    whole = _client(quiet, admin, "whole", "/meter/?access=get")
    assert whole.get("/restapi/meter/values/bus.0.current/history/").json["points"] == [[now - 60, 2.0]]


def test_an_outlet_switch_history_names_who_and_through_what(quiet, admin):
    switcher = _client(quiet, admin, "switcher", "/relay/outlets/1/")
    before = int(time.time())
    assert admin.put("/restapi/relay/outlets/1/state/", json=False).status_code == 204
    assert switcher.put("/restapi/relay/outlets/1/transient_state/", json=True).status_code == 204
    assert switcher.post("/restapi/relay/outlets/1/cycle/").status_code in (200, 204)
    assert admin.put("/restapi/relay/outlets/2/state/", json=False).status_code == 204
    history = switcher.get("/restapi/relay/outlets/1/history/").json
    assert [(e["state"], e["by"], e["via"]) for e in history] == [
        (False, "admin", "restapi"),
        (True, "switcher", "restapi"),
        ("cycle", "switcher", "restapi"),
    ]
    assert all(before <= e["time"] <= time.time() for e in history)
    later = admin.get(f"/restapi/relay/outlets/1/history/?from={int(time.time()) + 5}&to={2**32 - 1}")
    assert later.json == []
    assert switcher.get("/restapi/relay/outlets/2/history/").status_code == 403
    assert admin.get("/restapi/relay/outlets/1/history/?from=x").status_code == 400


def test_an_outlet_switch_history_is_scoped_like_its_state(quiet, admin):
    viewer = _client(quiet, admin, "viewer", "/relay/outlets/=0,1/=state/?access=get")
    assert viewer.get("/restapi/relay/outlets/0/history/").status_code == 200
    assert viewer.get("/restapi/relay/outlets/3/history/").status_code == 403
    names = _client(quiet, admin, "onlynames", "/relay/outlets/all;/=name/")
    assert names.get("/restapi/relay/outlets/0/history/").status_code == 403


def test_a_switch_through_another_surface_names_it(quiet, admin):
    basic = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
    response = quiet.test_client().post(
        OUTLET + "1/Actions/Outlet.PowerControl",
        json={"PowerState": "Off"},
        headers={"Authorization": f"Basic {basic}"},
        base_url="https://localhost",
    )
    assert response.status_code == 204
    history = admin.get("/restapi/relay/outlets/0/history/").json
    assert [(e["state"], e["by"], e["via"]) for e in history] == [(False, "admin", "redfish")]
