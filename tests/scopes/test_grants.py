"""Grant sets: which concrete leaves a client's compiled scopes cover, per access word."""

from __future__ import annotations

import time

import pytest

from scopes import Access, GrantSet, parse_scope

# DLI token-access page, Registration Example 1
EXAMPLE_1 = GrantSet.compile(
    [
        "/relay/outlets/all;/=name/",
        "/relay/outlets/=1,3,5/=state,transient_state,physical_state/?access=get",
        "/relay/outlets/3/=state,transient_state/?access=modify",
        "/relay/outlets/5/=cycle/?access=invoke,get",
        "/meter/values/all;/value/",
    ]
)

# DLI token-access page, Registration Example 2
EXAMPLE_2 = GrantSet.compile(
    [
        "/relay/outlets/all;/=name/",
        "/relay/outlets/all;/=state,transient_state,physical_state/?access=get",
        "/relay/outlets/=2,3,5;/=state,transient_state/?access=modify,get",
        "/relay/outlets/=2,3,6/=cycle/?access=invoke,get",
        "/network/wireless/enabled/?access=modify,get",
        "/script/start/?access=invoke",
    ]
)


def outlet(index, field):
    return ("relay", "outlets", str(index), field)


def meter(key, field):
    return ("meter", "values", key, field)


# leaf, access word -> allowed
EXAMPLE_1_TABLE = [
    (outlet(0, "name"), "get", True),
    (outlet(0, "name"), "modify", True),
    (outlet(7, "name"), "invoke", True),
    (outlet(8, "name"), "modify", True),  # all; covers outlets added later
    (outlet(1, "state"), "get", True),
    (outlet(1, "physical_state"), "get", True),
    (outlet(1, "state"), "modify", False),
    (outlet(0, "state"), "get", False),
    (outlet(3, "state"), "modify", True),
    (outlet(3, "transient_state"), "modify", True),
    (outlet(3, "state"), "get", True),
    (outlet(3, "state"), "invoke", False),
    (outlet(3, "physical_state"), "modify", False),
    (outlet(3, "locked"), "modify", False),
    (outlet(5, "state"), "modify", False),
    (outlet(5, "cycle"), "invoke", True),
    (outlet(5, "cycle"), "get", True),
    (outlet(5, "cycle"), "modify", False),
    (outlet(3, "cycle"), "invoke", False),
    (meter("bus.0.voltage", "value"), "get", True),
    (meter("bus.9.power", "value"), "get", True),
    (meter("bus.0.voltage", "name"), "get", False),
    (meter("bus.0.voltage", "unit"), "get", False),
    (("meter", "values", "bus.0.voltage"), "get", False),  # a scope longer than the leaf
    (("meter", "values"), "get", False),
    (("meter",), "get", False),
    (("relay", "outlets", "3"), "get", False),
    (("relay", "name"), "get", False),
    (("network", "wireless", "enabled"), "get", False),
    ((), "get", False),
]

EXAMPLE_2_TABLE = [
    (outlet(0, "name"), "modify", True),
    (outlet(0, "state"), "get", True),
    (outlet(7, "physical_state"), "get", True),
    (outlet(7, "physical_state"), "modify", False),
    (outlet(2, "state"), "modify", True),
    (outlet(5, "transient_state"), "modify", True),
    (outlet(5, "physical_state"), "modify", False),
    (outlet(4, "state"), "modify", False),
    (outlet(6, "cycle"), "invoke", True),
    (outlet(2, "cycle"), "get", True),
    (outlet(5, "cycle"), "invoke", False),
    (("network", "wireless", "enabled"), "modify", True),
    (("network", "wireless", "enabled"), "get", True),
    (("network", "wireless", "enabled"), "invoke", False),
    (("network", "wireless"), "get", False),
    (("script", "start"), "invoke", True),
    (("script", "start"), "get", False),
    (("script", "stop"), "invoke", False),
    (("auth", "users", "0", "name"), "get", False),
]


@pytest.mark.parametrize(("leaf", "access", "allowed"), EXAMPLE_1_TABLE)
def test_registration_example_1(leaf, access, allowed):
    assert EXAMPLE_1.allows(leaf, access) is allowed


@pytest.mark.parametrize(("leaf", "access", "allowed"), EXAMPLE_2_TABLE)
def test_registration_example_2(leaf, access, allowed):
    assert EXAMPLE_2.allows(leaf, access) is allowed


@pytest.mark.parametrize(
    ("scope", "leaf", "allowed"),
    [
        ("/relay/outlets/all;/state/", outlet(8, "state"), True),
        ("/relay/outlets/=0,1,2,3,4,5,6,7/state/", outlet(7, "state"), True),
        ("/relay/outlets/=0,1,2,3,4,5,6,7/state/", outlet(8, "state"), False),
        ("/relay/outlets/3/=state,name/", outlet(3, "name"), True),
        ("/relay/outlets/3/=state,name/", outlet(3, "locked"), False),
        ("/relay/outlets/3/", outlet(3, "locked"), True),
        ("/relay/outlets/3/state/", (*outlet(3, "state"), "deeper"), True),
        ("/relay/outlets/%33/", outlet(3, "state"), True),
        ("/a%2Fb/", ("a/b",), True),
        ("/a%2Fb/", ("a", "b"), False),
        ("/!./", (".",), True),
    ],
)
def test_scope_path_is_a_prefix_pattern(scope, leaf, allowed):
    assert GrantSet.compile([scope]).allows(leaf, "get") is allowed


@pytest.mark.parametrize(
    ("scope", "access", "allowed"),
    [
        ("/relay/", "get", True),
        ("/relay/", "modify", True),
        ("/relay/", "invoke", True),
        ("/relay/?access=get", "modify", False),
        ("/relay/?access=modify,invoke", "get", False),
        ("/relay/?access=modify,invoke", "invoke", True),
    ],
)
def test_scope_grants_only_its_access_words(scope, access, allowed):
    assert GrantSet.compile([scope]).allows(("relay", "name"), access) is allowed


@pytest.mark.parametrize("word", list(Access))
def test_a_scope_without_access_grants_every_word_the_enum_holds(word):
    # Read from the enum, not a list of today's words: a word added later is granted too
    # (docs/security.md); a scope that lists its words never gains one.
    assert GrantSet.compile(["/relay/"]).allows(("relay", "name"), word)
    listed = GrantSet.compile(["/relay/?access=" + ",".join(w for w in Access if w != word)])
    assert not listed.allows(("relay", "name"), word)


def test_root_scope_covers_everything_for_its_words():
    grants = GrantSet.compile(["/?access=get"])
    assert grants.allows((), "get")
    assert grants.allows(outlet(3, "state"), "get")
    assert not grants.allows(outlet(3, "state"), "modify")


def test_unknown_access_word_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown access word 'delete'"):
        EXAMPLE_1.allows(outlet(3, "state"), "delete")


def test_empty_grant_set_allows_nothing():
    grants = GrantSet.compile([])
    assert len(grants) == 0
    assert not grants.allows((), "get")
    assert not grants.allows(outlet(0, "name"), "get")


UNLOCKED_STATE = GrantSet.compile(["/relay/outlets/all;locked=false/state/?access=modify"])


@pytest.mark.parametrize(
    ("leaf", "allowed"),
    [
        (outlet(0, "state"), True),
        (outlet(2, "state"), False),  # locked
        (outlet(0, "name"), False),
        (outlet(99, "state"), False),  # no such outlet: its fields raise KeyError
    ],
)
def test_filtered_scope_reads_fields_through_attrs(tree, leaf, allowed):
    assert UNLOCKED_STATE.allows(leaf, "modify", tree.attr) is allowed


def test_filtered_scope_without_attrs_matches_nothing():
    assert not UNLOCKED_STATE.allows(outlet(0, "state"), "modify")


@pytest.mark.parametrize(
    "scope",
    [
        "/relay/outlets/all;name=Outlet%201/state/",
        "/relay/outlets/name=Outlet%201/state/",
        "/relay/outlets/one;name=Outlet%201/state/",
        "/relay/outlets/all;name=Outlet%201;critical=true/state/",
    ],
)
def test_filter_forms_are_checked_against_the_leaf_prefix(tree, scope):
    grants = GrantSet.compile([scope])
    assert grants.allows(outlet(0, "state"), "get", tree.attr)
    assert not grants.allows(outlet(1, "state"), "get", tree.attr)


def test_attrs_is_called_only_for_filtered_segments():
    calls = []

    def attrs(prefix, name):
        calls.append((prefix, name))
        return True

    plain = GrantSet.compile(["/relay/outlets/all;/name/"])
    assert plain.allows(outlet(4, "name"), "get", attrs)
    assert calls == []
    filtered = GrantSet.compile(["/relay/outlets/all;/name/", "/relay/outlets/all;locked=false/"])
    assert filtered.allows(outlet(4, "name"), "get", attrs)
    assert not filtered.allows(outlet(4, "state"), "get", attrs)
    assert calls == [(("relay", "outlets", "4"), "locked")] * 2


def test_first_uncovered_names_the_first_refused_leaf():
    leaves = [outlet(1, "state"), outlet(3, "state"), outlet(4, "state"), outlet(6, "state")]
    assert EXAMPLE_1.first_uncovered(leaves, "get") == outlet(4, "state")
    assert EXAMPLE_1.first_uncovered(leaves[:2], "get") is None
    assert EXAMPLE_1.first_uncovered([], "modify") is None
    assert EXAMPLE_1.first_uncovered(iter(leaves), "modify") == outlet(1, "state")


def test_first_uncovered_answers_the_same_once_its_decisions_are_remembered():
    # the first round decides each leaf; later rounds read every answer from memory
    grants = GrantSet.compile(["/relay/outlets/=1,3,5/state/?access=get"])
    leaves = [outlet(1, "state"), outlet(3, "state"), outlet(4, "state"), outlet(6, "state")]
    for _ in range(3):
        assert grants.first_uncovered(leaves, "get") == outlet(4, "state")
        assert grants.first_uncovered(leaves[:2], "get") is None
        assert grants.first_uncovered(leaves[::-1], "get") == outlet(6, "state")
        assert grants.first_uncovered(tuple(leaves[:2]), "modify") == outlet(1, "state")


def test_a_list_of_leaves_is_answered_alike_however_long_and_however_many_lists_came_before():
    # answers for whole lists are remembered (up to a size and a count); each must still be
    # the first leaf not allowed, in the list's own order
    grants = GrantSet.compile(["/relay/outlets/=1,3,5/state/?access=get"])
    for count in (1, 2, 8, 64, 65, 300):
        leaves = [outlet(n % 7, "state") for n in range(count)]
        expected = next((leaf for leaf in leaves if leaf[2] not in ("1", "3", "5")), None)
        for _ in range(2):
            assert grants.first_uncovered(leaves, "get") == expected, count
    allowed = [outlet(1, "state"), outlet(3, "state")]
    for n in range(3000):  # many lists: what is remembered is bounded, and stays right
        assert grants.first_uncovered([*allowed, outlet(n, "state")], "get") == (
            None if n in (1, 3, 5) else outlet(n, "state")
        )
        assert grants.first_uncovered(allowed, "get") is None
    assert len(grants._batches) <= GrantSet._MAX_DECISIONS


def test_a_filtered_grant_answers_a_list_from_the_attributes_it_is_asked_with_each_time():
    grants = GrantSet.compile(["/relay/outlets/all;locked=false/state/?access=get"])
    leaves = [outlet(1, "state"), outlet(2, "state")]
    locked: set[str] = set()

    def attrs(prefix, name):
        return "true" if prefix[-1] in locked else "false"

    assert grants.first_uncovered(leaves, "get", attrs) is None
    locked.add("2")
    assert grants.first_uncovered(leaves, "get", attrs) == outlet(2, "state")
    locked.clear()
    assert grants.first_uncovered(leaves, "get", attrs) is None


# grants, other scope -> whether the grants hold every right the other scope would give
COVERS = [
    (EXAMPLE_1, "/relay/outlets/3/state/?access=modify", True),
    (EXAMPLE_1, "/relay/outlets/3/state/?access=get,modify", True),
    (EXAMPLE_1, "/relay/outlets/3/state/", False),  # no invoke
    (EXAMPLE_1, "/relay/outlets/=1,3/state/?access=get", True),
    (EXAMPLE_1, "/relay/outlets/=1,2/state/?access=get", False),
    (EXAMPLE_1, "/relay/outlets/=1,3,5/=state,physical_state/?access=get", True),
    (EXAMPLE_1, "/relay/outlets/3/?access=get", False),
    (EXAMPLE_1, "/relay/outlets/all;/name/", True),
    (EXAMPLE_1, "/relay/outlets/7/name/", True),
    (EXAMPLE_1, "/relay/outlets/one;name=x/name/?access=get", True),
    (EXAMPLE_1, "/relay/outlets/all;/state/?access=get", False),
    (EXAMPLE_1, "/relay/outlets/all;locked=false/state/?access=get", False),
    (EXAMPLE_1, "/meter/values/bus.0.voltage/value/", True),
    (EXAMPLE_1, "/meter/values/all;bus=0/value/?access=get", True),
    (EXAMPLE_1, "/meter/values/all;/?access=get", False),
    (EXAMPLE_1, "/?access=get", False),
    (GrantSet.compile(["/"]), "/", True),
    (GrantSet.compile(["/?access=get"]), "/relay/outlets/all;/?access=get", True),
    (GrantSet.compile(["/?access=get"]), "/relay/?access=get,modify", False),
    (GrantSet.compile(["/a/all;/"]), "/a/", False),  # the leaf ("a",) itself
    (GrantSet.compile(["/a/x/", "/all;/y/"]), "/a/=x,y/", True),  # one key each
    (GrantSet.compile(["/a/x/", "/all;/y/"]), "/a/=x,y,z/", False),
    (GrantSet.compile(["/a/x/", "/a/all;/y/"]), "/a/=x,y/", False),
    (UNLOCKED_STATE, "/relay/outlets/all;locked=false/state/?access=modify", True),
    (UNLOCKED_STATE, "/relay/outlets/all;critical=true;locked=false/state/?access=modify", True),
    (UNLOCKED_STATE, "/relay/outlets/one;locked=false/state/?access=modify", True),
    (UNLOCKED_STATE, "/relay/outlets/all;locked=true/state/?access=modify", False),
    (UNLOCKED_STATE, "/relay/outlets/all;/state/?access=modify", False),
    (UNLOCKED_STATE, "/relay/outlets/0/state/?access=modify", False),  # may be locked
    (GrantSet.compile([]), "/a/?access=get", False),
]


@pytest.mark.parametrize(("grants", "other", "covered"), COVERS)
def test_covers_scope_never_overstates(grants, other, covered):
    assert grants.covers_scope(parse_scope(other)) is covered


def test_grant_set_keeps_its_sources():
    texts = ["/b/?access=get", "/a/", "/b/?access=get"]
    grants = GrantSet.compile([parse_scope(texts[0]), texts[1], texts[2]])
    assert len(grants) == 2
    assert [scope.text for scope in grants] == ["/b/?access=get", "/a/"]
    assert grants.scopes_text == ("/a/", "/b/?access=get")
    assert repr(grants) == "<GrantSet of 2 scopes>"
    with pytest.raises(AttributeError):
        grants.extra = 1


def test_nested_key_lists_compile_without_multiplying():
    # 8 levels of 60 keys would be 10**14 paths if each combination got its own node
    keys = ",".join(f"k{i}" for i in range(60))
    text = "/" + f"={keys}/" * 8
    started = time.perf_counter()
    grants = GrantSet.compile([text, text + "x/?access=get", "/" + f"={keys}/" * 7 + "y/"])
    assert grants.allows(("k59",) * 8, "modify")
    assert not grants.allows(("k59",) * 7 + ("k60",), "modify")
    assert grants.covers_scope(parse_scope(text))
    assert time.perf_counter() - started < 1


def test_thousand_literal_scopes_answer_in_microseconds():
    grants = GrantSet.compile(f"/relay/outlets/{i}/=state,name/?access=modify" for i in range(1000))
    leaves = [outlet(i, "state") for i in range(0, 2000, 2)]
    started = time.perf_counter()
    for leaf in leaves:
        grants.allows(leaf, "modify")
    per_query = (time.perf_counter() - started) / len(leaves)
    assert grants.allows(outlet(998, "name"), "modify")
    assert not grants.allows(outlet(1000, "name"), "modify")
    # a few microseconds on a laptop; the bound leaves room for a slow, busy CI machine
    assert per_query < 100e-6
