"""Parsing path and scope text: what valid text becomes, and where malformed text fails."""

from __future__ import annotations

import pickle

import pytest

import scopes.parse
from scopes import (
    Access,
    All,
    Filter,
    Keys,
    Name,
    One,
    ScopeError,
    parse_path,
    parse_scope,
)

F = Filter
GET, MODIFY, INVOKE = Access
EVERY = frozenset(Access)
OUTLETS = (Name("relay"), Name("outlets"))

# text -> segments
VALID_PATHS = [
    ("/", ()),
    ("/relay/", (Name("relay"),)),
    ("/relay/outlets/3/state/", (*OUTLETS, Name("3"), Name("state"))),
    (
        "/meter/values/bus.0.voltage/value/",
        (Name("meter"), Name("values"), Name("bus.0.voltage"), Name("value")),
    ),
    ("/relay/outlets/all;/state/", (*OUTLETS, All(), Name("state"))),
    ("/relay/outlets/all;/=name,physical_state/", (*OUTLETS, All(), Keys(("name", "physical_state")))),
    ("/relay/outlets/=0/state/", (*OUTLETS, Keys(("0",)), Name("state"))),
    ("/relay/outlets/=5,1,1/state/", (*OUTLETS, Keys(("5", "1", "1")), Name("state"))),
    ("/config/=version/", (Name("config"), Keys(("version",)))),
    ("/relay/outlets/=0,1,2;/state/", (*OUTLETS, Keys(("0", "1", "2")), Name("state"))),
    ("/auth/users/is_admin=true/", (Name("auth"), Name("users"), All((F("is_admin", "true"),)))),
    ("/relay/outlets/x=1;y_2=b/", (*OUTLETS, All((F("x", "1"), F("y_2", "b"))))),
    (
        "/relay/outlets/all;locked=false;critical=true/state/",
        (*OUTLETS, All((F("locked", "false"), F("critical", "true"))), Name("state")),
    ),
    (
        "/relay/outlets/one;name=Spare;locked=false/",
        (*OUTLETS, One((F("name", "Spare"), F("locked", "false")))),
    ),
    ("/a%3Bb/%3D%2C%2F/", (Name("a;b"), Name("=,/"))),
    ("/=a%2Cb,c%3B/", (Keys(("a,b", "c;")),)),
    ("/all;name=a%3Db%2Cc%3B/", (All((F("name", "a=b,c;"),)),)),
    ("/%C3%A9t%C3%A9/", (Name("été"),)),
    ("/%41%62/", (Name("Ab"),)),
    ("/!./!../", (Name("."), Name(".."))),
    ("/%21/", (Name("!"),)),
    ("/.../.a/", (Name("..."), Name(".a"))),
    ("/%61ll/one/", (Name("all"), Name("one"))),
    ("/all/one/", (All(()), Name("one"))),
    ("/a:b@c$&'()*+-_~/", (Name("a:b@c$&'()*+-_~"),)),
    ("/=./", (Keys((".",)),)),
    ("/" + "a/" * 16, (Name("a"),) * 16),
]

# every scope from the DLI token-access page and the clients it quotes: text -> segments, access
DLI_SCOPES = [
    ("/relay/outlets/all;/=name/", (*OUTLETS, All(), Keys(("name",))), EVERY),
    (
        "/relay/outlets/=1,3,5/=state,transient_state,physical_state/?access=get",
        (*OUTLETS, Keys(("1", "3", "5")), Keys(("state", "transient_state", "physical_state"))),
        {GET},
    ),
    (
        "/relay/outlets/3/=state,transient_state/?access=modify",
        (*OUTLETS, Name("3"), Keys(("state", "transient_state"))),
        {MODIFY},
    ),
    (
        "/relay/outlets/3/=state,transient_state/?access=modify,get",
        (*OUTLETS, Name("3"), Keys(("state", "transient_state"))),
        {MODIFY, GET},
    ),
    ("/relay/outlets/5/=cycle/?access=invoke,get", (*OUTLETS, Name("5"), Keys(("cycle",))), {INVOKE, GET}),
    ("/meter/values/all;/value/", (Name("meter"), Name("values"), All(), Name("value")), EVERY),
    (
        "/relay/outlets/all;/=state,transient_state,physical_state/?access=get",
        (*OUTLETS, All(), Keys(("state", "transient_state", "physical_state"))),
        {GET},
    ),
    (
        "/relay/outlets/=2,3,5;/=state,transient_state/?access=modify,get",
        (*OUTLETS, Keys(("2", "3", "5")), Keys(("state", "transient_state"))),
        {MODIFY, GET},
    ),
    (
        "/relay/outlets/=2,3,5/=state,transient_state/?access=modify",
        (*OUTLETS, Keys(("2", "3", "5")), Keys(("state", "transient_state"))),
        {MODIFY},
    ),
    (
        "/relay/outlets/=2,3,6/=cycle/?access=invoke,get",
        (*OUTLETS, Keys(("2", "3", "6")), Keys(("cycle",))),
        {INVOKE, GET},
    ),
    (
        "/relay/outlets/=2,3,6/=cycle/?access=get,invoke",
        (*OUTLETS, Keys(("2", "3", "6")), Keys(("cycle",))),
        {INVOKE, GET},
    ),
    (
        "/network/wireless/enabled/?access=modify,get",
        (Name("network"), Name("wireless"), Name("enabled")),
        {MODIFY, GET},
    ),
    ("/script/start/?access=invoke", (Name("script"), Name("start")), {INVOKE}),
    ("/script/start/?access=get,invoke", (Name("script"), Name("start")), {GET, INVOKE}),
    (
        "/relay/outlets/all;/=state,transient_state/?access=modify",
        (*OUTLETS, All(), Keys(("state", "transient_state"))),
        {MODIFY},
    ),
    ("/relay/outlets/all;/=cycle/?access=invoke", (*OUTLETS, All(), Keys(("cycle",))), {INVOKE}),
    (
        "/relay/set_outlet_transient_states/?access=modify",
        (Name("relay"), Name("set_outlet_transient_states")),
        {MODIFY},
    ),
    (
        "/auth/users/name=fred/name/",
        (Name("auth"), Name("users"), All((F("name", "fred"),)), Name("name")),
        EVERY,
    ),
    (
        "/relay/outlets/all;locked=false/state/",
        (*OUTLETS, All((F("locked", "false"),)), Name("state")),
        EVERY,
    ),
    (
        "/relay/outlets/one;name=Outlet%201/state/",
        (*OUTLETS, One((F("name", "Outlet 1"),)), Name("state")),
        EVERY,
    ),
    ("/?access=get", (), {GET}),
    ("/relay/?access=get,get", (Name("relay"),), {GET}),
]

# text -> column, part of the message; each row is one malformed form, in paths and scopes alike
MALFORMED_PATHS = [
    ("", 1, "empty path"),
    ("relay/", 1, 'must start with "/"'),
    ("/relay", 7, 'missing trailing "/"'),
    ("/relay/outlets", 15, 'missing trailing "/"'),
    ("//", 2, "empty segment"),
    ("/relay//state/", 8, "empty segment"),
    ("/a b/", 3, 'invalid character " "'),
    ('/a"b/', 3, "invalid character"),
    ("/a<b/", 3, "invalid character"),
    ("/a>b/", 3, "invalid character"),
    ("/a\\b/", 3, "invalid character"),
    ("/a^b/", 3, "invalid character"),
    ("/a`b/", 3, "invalid character"),
    ("/a{b/", 3, "invalid character"),
    ("/a|b/", 3, "invalid character"),
    ("/a}b/", 3, "invalid character"),
    ("/a[b/", 3, "invalid character"),
    ("/a#b/", 3, 'invalid character "#"'),
    ("/a\x00b/", 3, 'invalid character "\\u0000"'),
    ("/a\nb/", 3, 'invalid character "\\n"'),
    ("/a\x7fb/", 3, "invalid character"),
    ("/caf\u00e9/", 5, 'invalid character "\\u00e9"'),
    ("/a b", 3, "invalid character"),  # leftmost problem wins over the missing "/"
    ("/%zz/", 2, 'bad percent escape "%zz"'),
    ("/ab%4/", 4, 'bad percent escape "%4/"'),
    ("/a%/", 3, "bad percent escape"),
    ("/%FF/", 2, "not UTF-8"),
    ("/a%C3/", 3, "not UTF-8"),
    ("/%C3%A9%FF/", 8, "not UTF-8"),
    ("/./", 2, 'dot segment must be written "!."'),
    ("/a/../", 4, 'dot segment must be written "!.."'),
    ("/a/%2E/", 4, 'dot segment must be written "!."'),
    ("/%2e%2E/", 2, 'dot segment must be written "!.."'),
    ("/a!b/", 3, 'unexpected "!" in segment (write %21'),
    ("/!/", 2, 'unexpected "!"'),
    ("/!.x/", 2, 'unexpected "!"'),
    ("/=!./", 3, 'unexpected "!"'),
    ("/foo;bar/", 5, 'unexpected ";" in name (write %3B'),
    ("/a,b/", 3, 'unexpected "," in name (write %2C'),
    ("/relay/outlets/all;locked/", 20, 'missing "=" in filter'),
    ("/all;=x/", 6, "empty filter attribute"),
    ("/all;x=/", 7, "empty filter value"),
    ("/all;x=;y=1/", 8, "empty filter value"),
    ("/all;;/", 6, "missing filter"),
    ("/all;x=1;/", 9, "missing filter"),
    ("/one;/", 5, "missing filter"),
    ("/;x=1/", 2, "missing filter"),
    ("/x=1;y/", 6, 'missing "=" in filter'),
    ("/all;1x=2/", 6, 'invalid filter attribute "1x"'),
    ("/all;a-b=2/", 7, 'invalid filter attribute "a-b"'),
    ("/all;a%41=2/", 7, "invalid filter attribute"),
    ("/all;a=b=c/", 9, 'unexpected "=" in filter value (write %3D'),
    ("/name=a,b/", 8, 'unexpected "," in filter value'),
    ("/=/", 2, "empty key"),
    ("/=;/", 2, "empty key"),
    ("/=,1/", 3, "empty key"),
    ("/=1,,3/", 5, "empty key"),
    ("/=1,3,/", 6, "empty key"),
    ("/=1;;/", 5, 'unexpected text after ";" in key list'),
    ("/=1;2/", 5, 'unexpected text after ";" in key list'),
    ("/=a=b/", 4, 'unexpected "=" in key list'),
    ("/" + "a/" * 17, 34, "more than 16 segments"),
    ("/" + "a" * 257 + "/", 258, "segment longer than 256 characters"),
    ("/" + ("a" * 200 + "/") * 11, 2049, "longer than 2048 characters"),
]

# scope text -> column, part of the message: problems only a scope's "?access=" part can have
MALFORMED_SCOPES = [
    ("?access=get", 1, "empty path"),
    ("/a?access=get", 3, 'missing trailing "/"'),
    ("/a/#x", 4, 'invalid character "#"'),
    ("/a/?", 5, 'expected "access=" after "?"'),
    ("/a/?acess=get", 5, 'expected "access="'),
    ("/a/?access=", 11, "empty access word"),
    ("/a/?access=get,", 15, "empty access word"),
    ("/a/?access=,get", 12, "empty access word"),
    ("/a/?access=put", 12, 'unknown access word "put"'),
    ("/a/?access=get,delete", 16, 'unknown access word "delete"'),
    ("/a/?access=GET", 12, 'unknown access word "GET"'),
    ("/a/?access=get#frag", 15, 'unexpected "#" in access list'),
    ("/a/?access=get&x=1", 15, 'unexpected "&"'),
    ("/a/?access=get?x", 15, 'unexpected "?"'),
    ("/a/?access=get x", 15, 'unexpected " "'),
]


@pytest.mark.parametrize(("text", "segments"), VALID_PATHS)
def test_valid_path_parses_into_segments(text, segments):
    path = parse_path(text)
    assert path.segments == segments
    assert str(path) == path.text == text


@pytest.mark.parametrize(("text", "segments", "access"), DLI_SCOPES)
def test_dli_scope_parses(text, segments, access):
    scope = parse_scope(text)
    assert scope.path.segments == segments
    assert scope.access == access
    assert str(scope) == scope.text == text
    assert scope.path.text == text.partition("?")[0]


@pytest.mark.parametrize(("text", "column", "message"), MALFORMED_PATHS)
@pytest.mark.parametrize("parse", [parse_path, parse_scope])
def test_malformed_path_fails_at_column(parse, text, column, message):
    with pytest.raises(ScopeError) as caught:
        parse(text)
    assert (caught.value.column, caught.value.text) == (column, text)
    assert message in caught.value.message


@pytest.mark.parametrize(("text", "column", "message"), MALFORMED_SCOPES)
def test_malformed_scope_fails_at_column(text, column, message):
    with pytest.raises(ScopeError) as caught:
        parse_scope(text)
    assert (caught.value.column, caught.value.text) == (column, text)
    assert message in caught.value.message


@pytest.mark.parametrize("text", ["/a?b/", "/relay/?access=get"])
def test_request_path_takes_no_query(text):
    with pytest.raises(ScopeError, match="takes no query") as caught:
        parse_path(text)
    assert caught.value.column == text.index("?") + 1


def test_key_list_is_capped(monkeypatch):
    # 256 keys cannot fit in a 256-character segment, so shrink the cap to reach it
    monkeypatch.setattr(scopes.parse, "_MAX_KEYS", 3)
    with pytest.raises(ScopeError, match="more than 3 keys") as caught:
        parse_path("/=a,b,c,dd/")
    assert caught.value.column == 9


def test_error_reads_as_message_column_and_text():
    with pytest.raises(ScopeError) as caught:
        parse_path("/relay/outlets/all;locked/")
    assert str(caught.value) == ("missing \"=\" in filter at column 20: '/relay/outlets/all;locked/'")
    assert isinstance(caught.value, ValueError)


def test_error_survives_pickling():
    with pytest.raises(ScopeError) as caught:
        parse_scope("/a/?access=put")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.message, copy.text, copy.column) == (
        caught.value.message,
        caught.value.text,
        caught.value.column,
    )


def test_long_text_is_cut_in_error_string():
    text = "/" + "a" * 3000 + "/"
    with pytest.raises(ScopeError) as caught:
        parse_path(text)
    assert caught.value.text == text
    assert len(str(caught.value)) < 200


def test_non_text_is_a_type_error():
    with pytest.raises(TypeError):
        parse_path(b"/relay/")


def test_segments_remember_their_column_but_compare_without_it():
    path = parse_path("/relay/outlets/=1,3/all;/one;a=b/")
    assert [segment.column for segment in path.segments] == [2, 8, 16, 21, 26]
    assert Name("relay", column=2) == Name("relay", column=99)
    assert hash(Keys(("1",), column=1)) == hash(Keys(("1",), column=5))


def test_shorthand_filter_is_all_with_filters():
    assert parse_path("/auth/users/name=fred/").segments[-1] == All((F("name", "fred"),))
    assert parse_path("/a/name=fred/") == parse_path("/a/name=fred/")
    assert parse_path("/a/name=fred/").segments == parse_path("/a/all;name=fred/").segments


@pytest.mark.parametrize(
    ("text", "is_matrix"),
    [
        ("/", False),
        ("/relay/outlets/3/state/", False),
        ("/relay/outlets/all;/state/", True),
        ("/relay/outlets/locked=true/", True),
        ("/relay/outlets/=3/state/", True),
        ("/config/=version/", True),
        ("/relay/outlets/one;name=Spare/state/", False),
    ],
)
def test_matrix_paths_are_those_that_can_name_several_targets(text, is_matrix):
    assert parse_path(text).is_matrix is is_matrix


def test_parse_results_are_cached_and_immutable():
    path = parse_path("/relay/outlets/=1,3/state/")
    assert parse_path("/relay/outlets/=1,3/state/") is path
    assert parse_scope("/relay/?access=get") is parse_scope("/relay/?access=get")
    with pytest.raises(AttributeError):
        path.text = "/other/"  # type: ignore[misc]


def test_scope_without_access_grants_every_word():
    assert parse_scope("/relay/").access == EVERY == {"get", "modify", "invoke"}


def test_access_words_are_enum_members_whose_value_is_the_wire_text():
    words = parse_scope("/relay/?access=invoke,get").access
    assert words == {Access.GET, Access.INVOKE}
    assert all(type(word) is Access for word in words)
    assert [str(word) for word in Access] == ["get", "modify", "invoke"]
    assert f"no {Access.MODIFY} scope" == "no modify scope"


@pytest.mark.parametrize(
    ("value", "actual", "matches"),
    [
        ("true", True, True),
        ("false", False, True),
        ("true", False, False),
        ("True", True, False),
        ("1", True, False),
        ("0", False, False),
        ("null", None, True),
        ("None", None, False),
        ("fred", "fred", True),
        ("Fred", "fred", False),
        ("3", "3", True),
        ("3", "3.0", False),
        ("3", 3, True),
        ("3", 3.0, True),
        ("1.0", 1.0, True),
        ("1.0", 1, True),
        ("1.50", 1.5, True),
        ("1e3", 1000, True),
        ("-2", -2, True),
        ("01", 1, False),
        ("1_0", 10, False),
        (" 1", 1, False),
        ("nan", 1, False),
        ("12345678901234567891", 12345678901234567890, False),
        ("12345678901234567890", 12345678901234567890, True),
        ("[]", [], False),
        ("x", {"x": 1}, False),
    ],
)
def test_filter_compares_json_text_of_field(value, actual, matches):
    assert Filter("f", value).matches(actual) is matches


def test_bare_all_is_every_child_and_an_escaped_one_is_a_name():
    assert parse_path("/relay/outlets/all/state/").segments[2] == All(())
    assert parse_path("/relay/outlets/all/state/").is_matrix
    assert parse_path("/relay/outlets/%61ll/state/").segments[2] == Name("all")
    assert parse_path("/relay/outlets/allx/").segments[2] == Name("allx")
