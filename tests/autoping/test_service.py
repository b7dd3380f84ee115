"""The service in an app: a script item starts its function with the item's outlets."""

from __future__ import annotations

import socket

from tests.support import Api, wait_for

FUNCTIONS = {
    "reboot_pair": {
        "args": ["first", "second"],
        "steps": [{"action": "off", "outlets": "$first"}, {"action": "off", "outlets": "$second"}],
    },
    "restart_lab": {"steps": [{"action": "off", "outlets": [7]}]},
}
FAST = {"ping_interval": 0.05, "ping_timeout": 0.2, "failures_before_reboot": 1, "pings_before_enabling": 0}


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{sock.getsockname()[1]}"


def test_a_script_item_gets_its_outlets_as_zero_based_arguments(make_app):
    item = {"addresses": [closed_port()], "outlets": [2, 5], "script": "reboot_pair"}
    app = make_app(scripts={"functions": FUNCTIONS}, autoping={**FAST, "items": [item]})
    relay = app.extensions["powerctl.relay"]
    assert wait_for(lambda: not relay.outlet(2).state and not relay.outlet(5).state, timeout=10)
    assert [relay.outlet(i).state for i in range(8)] == [True, True, False, True, True, False, True, True]
    lines = app.extensions["powerctl.audit"].tail(50)
    assert any(line.endswith("starting reboot_pair(2,5)") for line in lines)
    assert any(
        line.startswith("Script reboot_pair(2,5) started as thread 1 by autoping item 0") for line in lines
    )


def test_a_function_must_take_one_argument_per_outlet(make_app):
    admin = Api(make_app(scripts={"functions": FUNCTIONS}).test_client())
    bad = {"addresses": ["tcp://127.0.0.1:9"], "outlets": [2], "script": "reboot_pair"}
    answer = admin.post("/restapi/autoping/items/", json=bad)
    assert answer.status_code == 400 and "one outlet per argument" in answer.get_json()["message"]
    fine = {**bad, "script": "restart_lab", "enabled": False}
    assert admin.post("/restapi/autoping/items/", json=fine).get_json() == 0


def test_turning_autoping_off_pauses_every_item(make_app):
    item = {"addresses": [closed_port()], "outlets": [3]}
    app = make_app(autoping={**FAST, "enabled": False, "items": [item]})
    admin = Api(app.test_client())
    assert admin.get("/restapi/autoping/items/0/").get_json()["status"] == "disabled"
    assert admin.put("/restapi/autoping/enabled/", json=True).status_code == 204
    relay = app.extensions["powerctl.relay"]
    assert wait_for(lambda: admin.get("/restapi/autoping/items/0/").get_json()["hits"] == 1, timeout=10)
    assert admin.put("/restapi/autoping/enabled/", json=False).status_code == 204
    sent = admin.get("/restapi/autoping/items/0/").get_json()["tx"]
    assert not wait_for(
        lambda: admin.get("/restapi/autoping/items/0/").get_json()["tx"] > sent + 1, timeout=0.5
    )
    assert relay.physical(3) is False  # the cycle it made is under way


def test_a_locked_outlet_refuses_the_cycle_and_the_audit_says_so(make_app):
    item = {"addresses": [closed_port()], "outlets": [3, 4]}
    app = make_app(autoping={**FAST, "post_reboot_delay": 30, "items": [{**item, "enabled": False}]})
    admin = Api(app.test_client())
    assert admin.put("/restapi/relay/outlets/4/locked/", json=True).status_code == 204
    assert admin.put("/restapi/autoping/items/0/", json=item).status_code == 204
    trail = app.extensions["powerctl.audit"]
    assert wait_for(lambda: any("could not reboot" in line for line in trail.tail(50)), timeout=10)
    line = next(line for line in trail.tail(50) if "could not reboot" in line)
    assert line == "AutoPing item 0: could not reboot: outlet 4 (Outlet 5) is locked"
    relay = app.extensions["powerctl.relay"]
    assert relay.physical(3) is True and relay.physical(4) is True  # all or nothing, as a matrix POST
    state = admin.get("/restapi/autoping/items/0/").get_json()
    assert state["hits"] == 0 and state["status"] == "rebooting"
