"""A script's switching steps are atomic with the outlet checks, and what stop leaves running."""

from __future__ import annotations

import threading

from tests.api.scripts_support import audit_lines, start
from tests.support import Api, wait_for


def test_a_cycle_step_holds_the_relay_between_its_lock_check_and_its_switches(make_app, monkeypatch):
    functions = {"pair": {"steps": [{"action": "cycle", "outlets": [6, 7]}]}}
    app = make_app(scripts={"functions": functions}, relay={"cycle_delay": 0.2})
    admin = Api(app.test_client())
    relay = app.extensions["powerctl.relay"]
    real_cycle = relay.cycle
    locker = threading.Thread(target=relay.set_field, args=([7], "locked", True, "user admin"))

    def cycle_then_race_a_lock(index: int, actor: str) -> float:
        delay = real_cycle(index, actor)
        if index == 6:  # someone locks outlet 7 while the step is half done
            locker.start()
            locker.join(0.3)
        return delay

    monkeypatch.setattr(relay, "cycle", cycle_then_race_a_lock)
    start(admin, "pair")
    assert wait_for(lambda: admin.get("/restapi/script/threads/").json == {})
    locker.join()
    lines = audit_lines(app)
    # The lock waits for the step: both outlets cycle, then outlet 7 is locked.
    assert "Script thread 1 (pair) finished" in lines, lines
    assert any(line.startswith("Outlet 8: Cycle() by script pair") for line in lines)
    assert admin.get("/restapi/relay/outlets/7/locked/").json is True
    assert wait_for(lambda: admin.get("/restapi/relay/outlets/=6,7/physical_state/").json == [True, True])


def test_stopping_a_thread_completes_what_it_began_and_starts_nothing_new(make_app):
    functions = {
        "night_job": {
            "steps": [
                {"action": "cycle", "outlets": [7]},
                {"action": "off", "outlets": [4, 5, 6]},
                {"action": "on", "outlets": [4, 5, 6]},
                {"action": "sleep", "seconds": 60},
                {"action": "off", "outlets": [0]},
            ]
        }
    }
    app = make_app(scripts={"functions": functions}, relay={"cycle_delay": 1.0, "sequence_delay": 0.2})
    admin = Api(app.test_client())
    ident = start(admin, "night_job").json
    assert wait_for(lambda: "sleep" in admin.get("/restapi/script/threads/").json[ident]["label"])
    assert admin.post("/restapi/script/stop/", json=[ident]).json == [ident]
    physical = "/restapi/relay/outlets/=0,4,5,6,7/physical_state/"
    # The cycle comes back on and the ON sequence finishes; the step after the sleep never runs.
    assert admin.get(physical).json[4] is False
    assert wait_for(lambda: admin.get(physical).json == [True, True, True, True, True])
    lines = audit_lines(app)
    assert f"Script thread {ident} (night_job) stopped by user admin from 127.0.0.1" in lines
    assert not any(line.startswith("Outlet 1: ") for line in lines)


def test_switching_an_outlet_off_cancels_what_a_stopped_thread_left_pending(make_app):
    functions = {
        "slow_on": {
            "steps": [
                {"action": "off", "outlets": [4, 5]},
                {"action": "on", "outlets": [4, 5]},
                {"action": "sleep", "seconds": 60},
            ]
        }
    }
    app = make_app(scripts={"functions": functions}, relay={"sequence_delay": 0.5})
    admin = Api(app.test_client())
    ident = start(admin, "slow_on").json
    assert wait_for(lambda: "sleep" in admin.get("/restapi/script/threads/").json[ident]["label"])
    admin.post("/restapi/script/stop/", json=["all"])
    assert admin.put("/restapi/relay/outlets/5/state/", json=False).status_code == 204
    assert not wait_for(lambda: admin.get("/restapi/relay/outlets/5/physical_state/").json, 0.8)
