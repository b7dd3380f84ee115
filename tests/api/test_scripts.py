"""script/: listing, starting and stopping user functions, and what their steps do."""

from __future__ import annotations

import time

import pytest

from hw.drivers.numato_emulator import NumatoEmulator
from tests.api.scripts_support import FUNCTIONS, audit_lines, start, states, threads
from tests.support import Api, wait_for


@pytest.fixture
def app(make_app):
    return make_app(scripts={"functions": FUNCTIONS})


def test_user_functions_are_listed_with_their_arguments(admin):
    response = admin.get("/restapi/script/user_functions/")
    assert response.status_code == 200
    assert response.json == {
        "cycle_schedule_1": {},
        "cycle_an_outlet": {"args": ["outlet", "seconds"]},
        "long_nap": {},
        "other": {},
    }


def test_no_functions_configured_means_an_empty_object(make_app):
    admin = Api(make_app().test_client())
    assert admin.get("/restapi/script/user_functions/").json == {}
    assert admin.get("/restapi/script/threads/").json == {}


def test_a_started_function_switches_its_outlets_then_finishes(admin, app):
    response = start(admin, "cycle_schedule_1")
    assert response.status_code == 200 and response.data == b'"1"'
    assert wait_for(lambda: states(admin)[2:4] == [False, False])
    assert wait_for(lambda: threads(admin) == {})
    assert states(admin)[2:4] == [True, True]
    lines = audit_lines(app)
    assert "Script cycle_schedule_1 started as thread 1 by user admin from 127.0.0.1" in lines
    assert (
        "Outlet 3: Configured state set to Off by script cycle_schedule_1 (thread 1)"
        " for user admin from 127.0.0.1"
    ) in lines
    assert "Script thread 1 (cycle_schedule_1) finished" in lines


def test_thread_ids_are_increasing_integers_sent_as_json_strings(admin):
    ids = [start(admin, "long_nap").json for _ in range(3)]
    assert ids == ["1", "2", "3"]


def test_thread_ids_go_on_after_a_restart(make_app):
    """An id a client kept from before a restart never names a thread started after it."""
    import powerctl

    first = make_app(scripts={"functions": FUNCTIONS})
    assert [start(Api(first.test_client()), "other").json for _ in range(2)] == ["1", "2"]
    powerctl.shutdown(first)
    again = make_app(scripts={"functions": FUNCTIONS})
    assert start(Api(again.test_client()), "other").json == "3"


def test_threads_carry_dli_labels_and_stop_is_prompt_during_a_long_sleep(admin, app):
    ident = start(admin, "long_nap").json
    assert wait_for(lambda: "sleep" in threads(admin)[ident]["label"])
    assert threads(admin) == {ident: {"label": "long_nap (admin via rest) sleep 60"}}
    assert admin.get(f"/restapi/script/threads/{ident}/label/").json.startswith("long_nap ")
    began = time.monotonic()
    response = admin.post("/restapi/script/stop/", json=[ident])
    assert time.monotonic() - began < 0.5
    assert response.status_code == 200 and response.json == [ident]
    assert threads(admin) == {}
    assert states(admin)[0] is False  # stopped before the step that turns it back on
    assert f"Script thread {ident} (long_nap) stopped by user admin from 127.0.0.1" in audit_lines(app)


def test_stop_all_stops_every_thread(admin):
    for _ in range(3):
        start(admin, "long_nap")
    response = admin.post("/restapi/script/stop/", json=["all"])
    assert response.status_code == 200 and sorted(response.json) == ["1", "2", "3"]
    assert threads(admin) == {}


def test_stopping_a_thread_that_is_not_running_is_409_and_stops_nothing(admin):
    ident = start(admin, "long_nap").json
    response = admin.post("/restapi/script/stop/", json=[ident, "99"])
    assert response.status_code == 409 and '"99"' in response.json["message"]
    assert ident in threads(admin)


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ({"user_function": "nope"}, 'no user function "nope"'),
        ({"user_function": "cycle_an_outlet"}, "takes 2 arguments (outlet, seconds), not 0"),
        ({"user_function": "cycle_an_outlet", "args": [9, 1]}, "there is no outlet 9 ($outlet)"),
        ({"user_function": "cycle_an_outlet", "args": [1, -5]}, "cannot sleep -5 ($seconds)"),
        ({"user_function": "cycle_an_outlet", "source": "other(1,2)"}, 'source must call "cycle_an_outlet"'),
        ({"user_function": "cycle_an_outlet", "source": "cycle_an_outlet(a,2)"}, "integer arguments"),
    ],
    ids=["unknown", "arity", "outlet", "sleep", "source-name", "source-args"],
)
def test_unknown_functions_and_bad_arguments_answer_409(admin, item, fragment):
    response = admin.post("/restapi/script/start/", json=[item])
    assert response.status_code == 409
    assert fragment in response.json["message"]
    assert threads(admin) == {}


@pytest.mark.parametrize(
    "body",
    [
        {"user_function": "long_nap"},
        [],
        [{"user_function": "long_nap"}, {"user_function": "other"}],
        [{"function": "long_nap"}],
        [{"user_function": "long_nap", "when": "now"}],
        [{"user_function": "cycle_an_outlet", "args": ["1", 2]}],
        [{"user_function": "cycle_an_outlet", "args": [1, 2], "source": "cycle_an_outlet(1,2)"}],
    ],
    ids=["object", "empty", "two", "no-name", "extra-key", "string-arg", "args-and-source"],
)
def test_malformed_start_bodies_answer_400(admin, body):
    response = admin.post("/restapi/script/start/", json=body)
    assert response.status_code == 400
    assert "user_function" in response.json["message"] or "not both" in response.json["message"]
    assert threads(admin) == {}


def test_dli_source_form_passes_integer_arguments(admin):
    response = start(admin, "cycle_an_outlet", source="cycle_an_outlet(4, 0)")
    assert response.status_code == 200
    assert wait_for(lambda: threads(admin) == {})
    assert states(admin)[4] is True


def test_args_form_passes_arguments(admin):
    start(admin, "cycle_an_outlet", args=[6, 30])
    assert wait_for(
        lambda: threads(admin).get("1", {}).get("label") == "cycle_an_outlet (admin via rest) sleep 30"
    )
    assert states(admin)[6] is False


def test_more_than_max_threads_answers_409_until_one_ends(make_app):
    admin = Api(make_app(scripts={"functions": FUNCTIONS, "max_threads": 2}).test_client())
    assert [start(admin, "long_nap").status_code for _ in range(2)] == [200, 200]
    refused = start(admin, "long_nap")
    assert refused.status_code == 409 and "max_threads" in refused.json["message"]
    assert len(threads(admin)) == 2
    admin.post("/restapi/script/stop/", json=["1"])
    assert start(admin, "long_nap").status_code == 200


def test_a_locked_outlet_stops_the_thread_and_the_audit_says_why(admin, app):
    admin.put("/restapi/relay/outlets/3/locked/", json=True)
    start(admin, "cycle_schedule_1")
    assert wait_for(lambda: threads(admin) == {})
    assert states(admin)[2:4] == [True, True]  # the step refused as a whole: outlet 2 stayed on
    assert any(
        line.startswith(
            "Script thread 1 (cycle_schedule_1) stopped at function"
            ' "cycle_schedule_1" step 1 (off 2,3): outlet 3 (Outlet 4) is locked'
        )
        for line in audit_lines(app)
    )


def test_a_step_switches_outlets_chosen_by_a_selector_when_it_runs(make_app):
    functions = {"unlocked_off": {"steps": [{"action": "off", "outlets": "all;locked=false"}]}}
    admin = Api(make_app(scripts={"functions": functions}).test_client())
    admin.put("/restapi/relay/outlets/=1,5/locked/", json=True)
    start(admin, "unlocked_off")
    assert wait_for(lambda: threads(admin) == {})
    assert states(admin) == [False, True, False, False, False, True, False, False]


def test_toggle_cycle_and_call_steps(make_app):
    functions = {
        **FUNCTIONS,
        "mixed": {
            "steps": [
                {"action": "toggle", "outlets": [0, 1]},
                {"action": "cycle", "outlets": "=7"},
                {"action": "call", "function": "cycle_an_outlet", "args": [5, 0]},
            ]
        },
    }
    app = make_app(scripts={"functions": functions}, relay={"cycle_delay": 0.3})
    admin = Api(app.test_client())
    admin.put("/restapi/relay/outlets/1/state/", json=False)
    start(admin, "mixed")
    assert wait_for(lambda: threads(admin) == {})
    assert states(admin)[:2] == [False, True]
    assert wait_for(lambda: admin.get("/restapi/relay/outlets/7/physical_state/").json is True)
    lines = audit_lines(app)
    assert "Outlet 8: Cycle() by script mixed (thread 1) for user admin from 127.0.0.1" in lines
    assert (
        "Outlet 6: Configured state set to On by script mixed (thread 1) for user admin"
        " from 127.0.0.1" in lines
    )


def test_a_board_that_goes_down_stops_the_thread_and_the_audit_names_it(make_app):
    functions = {
        "bench": {
            "steps": [
                {"action": "off", "outlets": [0]},
                {"action": "sleep", "seconds": 0.3},
                {"action": "on", "outlets": [0]},
            ]
        }
    }
    with NumatoEmulator(4) as emu:
        app = make_app(
            scripts={"functions": functions},
            hardware={
                "poll_interval": 0.05,
                "boards": [
                    {"name": "bench", "driver": "numato", "url": emu.path, "relays": 4, "timeout": 0.3}
                ],
            },
        )
        admin = Api(app.test_client())
        start(admin, "bench")
        assert wait_for(lambda: "sleep" in threads(admin)["1"]["label"])
        emu.vanish()
        assert wait_for(lambda: threads(admin) == {})
        assert any(
            line.startswith(
                'Script thread 1 (bench) stopped at function "bench" step 3 (on 0): board "bench"'
            )
            for line in audit_lines(app)
        )


def test_shutdown_stops_running_threads(make_app):
    app = make_app(scripts={"functions": FUNCTIONS})
    admin = Api(app.test_client())
    start(admin, "long_nap")
    runner = app.extensions["powerctl.scripts"]
    began = time.monotonic()
    runner.close()
    assert time.monotonic() - began < 0.5 and runner.ids() == []
    assert start(admin, "long_nap").status_code == 503
