"""The [scripts] section: every malformed function is refused at start, naming where and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from powerctl import config
from powerctl.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "powerctl.toml"


def on(outlets) -> dict:
    return {"action": "on", "outlets": outlets}


def load(functions: dict, **scripts) -> dict:
    return config.load({"scripts": {"functions": functions, **scripts}})


def refusal(functions: dict) -> str:
    with pytest.raises(config.ConfigError) as caught:
        load(functions)
    message = str(caught.value)
    assert message.startswith("invalid configuration: scripts.functions: ")
    return message


BAD = [
    (
        {"f": {"steps": [{"action": "blink", "outlets": [1]}]}},
        'function "f" step 1: action "blink" is unknown (use one of on, off, cycle, toggle, sleep, call)',
    ),
    ({"f": {"steps": [{"outlets": [1]}]}}, 'function "f" step 1: action missing'),
    ({"f": {"steps": [{"action": "on"}]}}, 'function "f" step 1: action "on" needs outlets'),
    (
        {"f": {"steps": [on([1]), {"action": "sleep", "seconds": 1, "outlets": [1]}]}},
        'function "f" step 2: unknown key "outlets" for action "sleep" (it takes seconds)',
    ),
    ({"f": {"steps": [on([1])], "when": "now"}}, 'function "f": unknown key "when"'),
    ({"f": {"steps": []}}, 'function "f": steps must be a list of 1 to 256 tables'),
    ({"f": {"steps": ["on 1"]}}, 'function "f" step 1: must be a table'),
    ({"9lives": {"steps": [on([1])]}}, 'function name "9lives" must be'),
    ({"f": {"args": ["a", "a"], "steps": [on("$a")]}}, 'function "f": args are not unique'),
    ({"f": {"args": ["a b"], "steps": [on([1])]}}, 'function "f": args must be a list of names'),
    ({"f": {"steps": [on("$who")]}}, 'function "f" step 1: "$who" names no argument'),
    (
        {"f": {"steps": [{"action": "call", "function": "ghost"}]}},
        'function "f" step 1: calls "ghost", which is not defined',
    ),
    (
        {
            "f": {"steps": [{"action": "call", "function": "g", "args": [1]}]},
            "g": {"args": ["a", "b"], "steps": [on("$a")]},
        },
        'function "f" step 1: "g" takes 2 arguments, not 1',
    ),
    (
        {"f": {"steps": [on([0]), {"action": "call", "function": "f"}]}},
        'function "f" step 2: calls form a loop: f -> f',
    ),
    (
        {
            "a": {"steps": [{"action": "call", "function": "b"}]},
            "b": {"steps": [on([0]), {"action": "call", "function": "a"}]},
        },
        'function "b" step 2: calls form a loop: a -> b -> a',
    ),
    ({"f": {"steps": [on([9])]}}, 'function "f" step 1: there is no outlet 9 (outlets are 0-7)'),
    ({"f": {"steps": [on([-1])]}}, 'function "f" step 1: outlet indexes start at 0'),
    ({"f": {"steps": [on([])]}}, 'function "f" step 1: outlets must not be empty'),
    ({"f": {"steps": [on([True])]}}, "True is neither an integer nor an argument"),
    ({"f": {"steps": [on(3)]}}, "outlets must be a list of indexes"),
    ({"f": {"steps": [on("=8")]}}, 'function "f" step 1: there is no outlet 8 (outlets are 0-7)'),
    (
        {"f": {"steps": [on("all;x")]}},
        'function "f" step 1: outlets "all;x": missing "=" in filter at column 5',
    ),
    ({"f": {"steps": [on("all;/state")]}}, 'outlets "all;/state" must be one selector'),
    ({"f": {"steps": [on("=1,x")]}}, '"x" is not an outlet index'),
    ({"f": {"steps": [on("first")]}}, '"first" is not an outlet index (use "all;" for every outlet)'),
    ({"f": {"steps": [on("all;color=red")]}}, 'outlets have no field "color"'),
    (
        {"f": {"steps": [{"action": "sleep", "seconds": -1}]}},
        'function "f" step 1: seconds must be a number from 0 to 86400 or an argument, not -1',
    ),
    ({"f": {"steps": [{"action": "sleep", "seconds": True}]}}, "seconds must be a number"),
    (
        {
            "f": {"steps": [{"action": "call", "function": "g", "args": [12]}]},
            "g": {"args": ["outlet"], "steps": [on("$outlet")]},
        },
        'function "g" step 1 (called from function "f" step 1): there is no outlet 12 ($outlet)',
    ),
]


@pytest.mark.parametrize(
    ("functions", "message"),
    BAD,
    ids=[
        "unknown-action",
        "no-action",
        "no-outlets",
        "extra-step-key",
        "extra-function-key",
        "no-steps",
        "step-not-table",
        "bad-name",
        "duplicate-args",
        "bad-arg-name",
        "unknown-ref",
        "unknown-callee",
        "arity",
        "self-loop",
        "loop",
        "outlet-range",
        "negative-outlet",
        "empty-outlets",
        "bool-outlet",
        "number-outlets",
        "selector-range",
        "bad-selector",
        "two-segments",
        "bad-key",
        "name-not-index",
        "unknown-field",
        "negative-sleep",
        "bool-sleep",
        "called-literal-range",
    ],
)
def test_bad_functions_are_refused_naming_function_step_and_problem(functions, message):
    assert message in refusal(functions)


def test_outlet_indexes_follow_the_configured_boards():
    functions = {"f": {"steps": [on([11])]}}
    with pytest.raises(config.ConfigError):
        load(functions)
    wide = config.load(
        {"hardware": {"boards": [{"relays": 8}, {"relays": 4}]}, "scripts": {"functions": functions}}
    )
    assert list(wide["scripts"]["functions"]) == ["f"]


@pytest.mark.parametrize(
    ("scripts", "message"),
    [
        ({"max_threads": 0}, "scripts.max_threads"),
        ({"max_threads": "4"}, "scripts.max_threads"),
        ({"threads": 4}, "scripts.threads: Unknown field"),
        ({"functions": ["f"]}, "scripts.functions: must be a table of functions"),
    ],
)
def test_bad_scripts_settings_are_refused(scripts, message):
    with pytest.raises(config.ConfigError, match=message.replace(".", r"\.")):
        config.load({"scripts": scripts})


def test_the_documented_example_loads_and_defines_cycle_schedule_1():
    settings = config.load(path=EXAMPLE)
    functions = settings["scripts"]["functions"]
    assert {"cycle_schedule_1", "cycle_an_outlet", "all_unlocked_on"} <= set(functions)
    assert functions["cycle_an_outlet"].args == ("outlet", "seconds")
    assert settings["network"]["driver"] == "sim"


def test_serve_prints_the_problem_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[scripts.functions.f]\nsteps = [{ action = "on", outlets = [0] }, { action = "nap", seconds = 1 }]\n'
    )
    status = main(["serve", "--config", str(bad), "--data-dir", str(tmp_path / "data")])
    assert status == 2
    assert 'function "f" step 2: action "nap" is unknown' in capsys.readouterr().err
