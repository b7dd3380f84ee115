"""Expanding request paths against a tree into the concrete targets they name."""

from __future__ import annotations

import pickle

import pytest

from scopes import AmbiguousPath, NoSuchPath, ScopeError, expand, parse_path


def outlets(*items):
    """Targets under relay/outlets: ("3", "state") -> ("relay", "outlets", "3", "state")."""
    return [("relay", "outlets", *item) for item in items]


METER = ("meter", "values")

# path -> targets, in the order a 207 body lists them
EXPANSIONS = [
    ("/", [()]),
    ("/relay/", [("relay",)]),
    ("/relay/outlets/3/state/", outlets(("3", "state"))),
    ("/relay/outlets/all;/state/", outlets(*((str(i), "state") for i in range(8)))),
    ("/relay/outlets/all;/", outlets(*((str(i),) for i in range(8)))),
    ("/relay/outlets/=1,3,5/state/", outlets(("1", "state"), ("3", "state"), ("5", "state"))),
    ("/relay/outlets/=5,1,5,1/state/", outlets(("5", "state"), ("1", "state"))),
    ("/relay/outlets/=0,1;/state/", outlets(("0", "state"), ("1", "state"))),
    ("/relay/outlets/0/=state,name/", outlets(("0", "state"), ("0", "name"))),
    (
        "/relay/outlets/=0,1/=name,physical_state/",
        outlets(("0", "name"), ("0", "physical_state"), ("1", "name"), ("1", "physical_state")),
    ),
    (
        "/relay/outlets/all;/=name,physical_state/",
        outlets(*((str(i), field) for i in range(8) for field in ("name", "physical_state"))),
    ),
    ("/relay/outlets/all;locked=true/name/", outlets(("2", "name"), ("5", "name"))),
    ("/relay/outlets/locked=true/name/", outlets(("2", "name"), ("5", "name"))),
    ("/relay/outlets/all;locked=false;state=true/", outlets(("0",), ("4",), ("6",))),
    ("/relay/outlets/all;critical=true/=name,state/", outlets(("0", "name"), ("0", "state"))),
    ("/relay/outlets/all;cycle_delay=null/", outlets(*((str(i),) for i in range(8)))),
    ("/relay/outlets/all;name=Nope/state/", []),
    ("/relay/outlets/all;name=Nope/state/deeper/", []),
    ("/relay/outlets/all;color=red/state/", []),
    ("/relay/outlets/name=Spare/", outlets(("6",), ("7",))),
    ("/relay/outlets/one;name=Outlet%204/state/", outlets(("3", "state"))),
    ("/relay/outlets/one;name=Spare;state=true/", outlets(("6",))),
    (
        "/meter/values/all;/value/",
        [(*METER, key, "value") for key in ("bus.0.voltage", "bus.0.current", "bus.0.total_energy")],
    ),
    (
        "/meter/values/bus.0.voltage/=value,unit/",
        [(*METER, "bus.0.voltage", "value"), (*METER, "bus.0.voltage", "unit")],
    ),
    ("/meter/values/all;value=120.5/name/", [(*METER, "bus.0.voltage", "name")]),
    ("/meter/values/all;value=1.0/", [(*METER, "bus.0.current")]),
    ("/meter/values/all;bus=0;quantity=energy/", [(*METER, "bus.0.total_energy")]),
]

# path -> error class, column, part of the message, prefix resolved before the failure
FAILURES = [
    ("/nope/", NoSuchPath, 2, 'no "nope" under /', ()),
    ("/relay/outlets/9/state/", NoSuchPath, 16, 'no "9" under /relay/outlets/', ("relay", "outlets")),
    ("/relay/outlets/=1,9,10/state/", NoSuchPath, 16, 'no "9" under /relay/outlets/', ("relay", "outlets")),
    (
        "/relay/outlets/all;/nope/",
        NoSuchPath,
        21,
        'no "nope" under /relay/outlets/0/',
        ("relay", "outlets", "0"),
    ),
    (
        "/relay/outlets/3/state/deeper/",
        NoSuchPath,
        24,
        "/relay/outlets/3/state/ is a value, not a collection",
        ("relay", "outlets", "3", "state"),
    ),
    ("/relay/name/all;/", NoSuchPath, 13, "is a value", ("relay", "name")),
    (
        "/relay/outlets/one;name=Nope/state/",
        NoSuchPath,
        16,
        "nothing under /relay/outlets/ matches one;name=Nope",
        ("relay", "outlets"),
    ),
    ("/relay/outlets/one;color=red/", NoSuchPath, 16, "matches one;color=red", ("relay", "outlets")),
    (
        "/relay/outlets/one;name=Spare/state/",
        AmbiguousPath,
        16,
        "2 children of /relay/outlets/ match one;name=Spare",
        ("relay", "outlets"),
    ),
    ("/relay/outlets/one;locked=true/", AmbiguousPath, 16, "2 children", ("relay", "outlets")),
    (
        "/meter/values/bus.0.power/",
        NoSuchPath,
        15,
        'no "bus.0.power" under /meter/values/',
        ("meter", "values"),
    ),
    ("/meter/values/=a%0Ab/", NoSuchPath, 15, 'no "a%0Ab"', ("meter", "values")),
]


@pytest.mark.parametrize(("text", "targets"), EXPANSIONS)
def test_path_expands_to_targets_in_item_major_order(tree, text, targets):
    assert expand(parse_path(text), tree) == targets


@pytest.mark.parametrize(("text", "error", "column", "message", "prefix"), FAILURES)
def test_unresolvable_path_fails_at_segment(tree, text, error, column, message, prefix):
    with pytest.raises(error) as caught:
        expand(parse_path(text), tree)
    assert (caught.value.column, caught.value.text, caught.value.prefix) == (column, text, prefix)
    assert message in caught.value.message
    assert f"at column {column}" in str(caught.value)


def test_ambiguity_is_not_absence():
    assert not issubclass(AmbiguousPath, NoSuchPath)
    assert issubclass(AmbiguousPath, ScopeError)
    assert issubclass(NoSuchPath, ScopeError)


def test_resolve_error_survives_pickling(tree):
    with pytest.raises(NoSuchPath) as caught:
        expand(parse_path("/relay/outlets/9/"), tree)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.message, copy.column, copy.prefix) == (
        caught.value.message,
        caught.value.column,
        caught.value.prefix,
    )


def test_new_children_are_seen_on_the_next_expansion(tree):
    path = parse_path("/relay/outlets/all;/name/")
    before = len(expand(path, tree))
    tree.root["relay"]["outlets"].append({"name": "Outlet 9"})
    assert len(expand(path, tree)) == before + 1


class VanishingTree:
    """A tree whose node disappears between listing it and reading its children."""

    def children(self, prefix):
        if prefix:
            raise KeyError(prefix[-1])
        return ["gone"]

    def attr(self, prefix, name):
        raise KeyError(name)


def test_node_vanishing_mid_expansion_is_no_such_path():
    with pytest.raises(NoSuchPath) as caught:
        expand(parse_path("/gone/x/"), VanishingTree())
    assert (caught.value.column, caught.value.prefix) == (7, ("gone",))


def test_filters_read_fields_of_each_child():
    calls = []

    class Recording(VanishingTree):
        def children(self, prefix):
            return ["a", "b"]

        def attr(self, prefix, name):
            calls.append((prefix, name))
            return prefix[-1] == "b"

    assert expand(parse_path("/all;on=true/"), Recording()) == [("b",)]
    assert calls == [(("a",), "on"), (("b",), "on")]
