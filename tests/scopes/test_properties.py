"""Property tests: grant sets agree with a naive matcher, and paths round-trip through text."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from scopes import (
    Access,
    All,
    Filter,
    GrantSet,
    Keys,
    Name,
    One,
    ScopeError,
    parse_path,
    parse_scope,
)

FAST = settings(max_examples=200, deadline=None)
THOROUGH = settings(FAST, max_examples=400)

# A tiny key alphabet, so generated scopes and leaves keep colliding.
KEYS = ["a", "b", "c", "0", "1"]
WORDS = sorted(Access)

small_key = st.sampled_from(KEYS)
small_filter = st.builds(Filter, st.sampled_from(["f", "g"]), st.sampled_from(["x", "y"]))
small_segment = st.one_of(
    st.builds(Name, small_key),
    st.builds(Keys, st.lists(small_key, min_size=1, max_size=3).map(tuple)),
    st.builds(All, st.lists(small_filter, max_size=2).map(tuple)),
    st.builds(One, st.lists(small_filter, min_size=1, max_size=2).map(tuple)),
)
leaf = st.lists(small_key, max_size=5).map(tuple)
# filters decide the subtle cases of covers_scope, so replacements favour them
near_segment = st.one_of(small_segment, st.builds(All, st.lists(small_filter, max_size=2).map(tuple)))


def render(segments) -> str:
    return "/" + "".join(f"{segment}/" for segment in segments)


@st.composite
def small_scope(draw):
    words = draw(st.sets(st.sampled_from(WORDS), min_size=1))
    query = "" if words == frozenset(Access) else "?access=" + ",".join(sorted(words))
    return parse_scope(render(draw(st.lists(small_segment, max_size=4))) + query)


def attrs(prefix, name):
    """Fields that depend on the whole prefix; "c" children and field "g" are missing."""
    if name == "g" or prefix[-1] == "c":
        raise KeyError(name)
    return "x" if (len(prefix) + ord(prefix[-1][0])) % 2 else "y"


def naive_covers(scope, leaf, access, attrs) -> bool:
    """The grant rule read literally: every scope segment matches the leaf's key at its depth."""
    segments = scope.path.segments
    if access not in scope.access or len(segments) > len(leaf):
        return False
    for depth, segment in enumerate(segments):
        key, prefix = leaf[depth], leaf[: depth + 1]
        if isinstance(segment, Name):
            matched = key == segment.key
        elif isinstance(segment, Keys):
            matched = key in segment.keys
        else:
            matched = all(naive_filter(one, prefix, attrs) for one in segment.filters)
        if not matched:
            return False
    return True


def naive_filter(one, prefix, attrs) -> bool:
    if attrs is None:
        return False
    try:
        return one.matches(attrs(prefix, one.attr))
    except KeyError:
        return False


@FAST
@given(
    st.lists(small_scope(), max_size=6),
    st.lists(leaf, min_size=1, max_size=8),
    st.sampled_from(WORDS),
    st.sampled_from([attrs, None]),
)
def test_grant_set_allows_exactly_what_some_scope_covers(scopes, leaves, access, fields):
    grants = GrantSet.compile(scopes)
    for one_leaf in leaves:
        expected = any(naive_covers(scope, one_leaf, access, fields) for scope in scopes)
        assert grants.allows(one_leaf, access, fields) is expected


def leaves_under(scope):
    """Every shortest leaf the scope could name, with "z" standing for keys no scope lists."""
    choices = []
    for segment in scope.path.segments:
        if isinstance(segment, Name):
            choices.append([segment.key])
        elif isinstance(segment, Keys):
            choices.append(segment.keys)
        else:
            choices.append([*KEYS, "z"])
    return itertools.product(*choices)


@st.composite
def grants_and_near_miss(draw):
    """Grant scopes, and another scope made by cutting, changing and extending one of them."""
    scopes = draw(st.lists(small_scope(), min_size=1, max_size=4))
    base = draw(st.sampled_from(scopes))
    kept = base.path.segments[: draw(st.integers(0, len(base.path.segments)))]
    segments = [segment if draw(st.integers(0, 2)) else draw(near_segment) for segment in kept]
    segments += draw(st.lists(small_segment, max_size=1))
    words = draw(
        st.one_of(
            st.sets(st.sampled_from(sorted(base.access)), min_size=1),
            st.sets(st.sampled_from(WORDS), min_size=1),
        )
    )
    return scopes, parse_scope(render(segments) + "?access=" + ",".join(sorted(words)))


@THOROUGH
@given(grants_and_near_miss())
def test_covers_scope_never_claims_a_leaf_the_grants_refuse(drawn):
    scopes, other = drawn
    grants = GrantSet.compile(scopes)
    assert all(grants.covers_scope(scope) for scope in scopes)
    if grants.covers_scope(other):
        # grants allowing a shortest leaf allow everything below it, so these suffice
        for one_leaf in leaves_under(other):
            for access in other.access:
                if naive_covers(other, one_leaf, access, attrs):
                    assert grants.allows(one_leaf, access, attrs), one_leaf


# Keys and values full of characters the grammar reserves, plus arbitrary Unicode.
rich_text = st.one_of(
    st.text(alphabet="ab.;=,/!%?# 0é", min_size=1, max_size=5),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=4),
)
rich_filter = st.builds(Filter, st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,5}", fullmatch=True), rich_text)
rich_segment = st.one_of(
    st.builds(Name, rich_text),
    st.builds(Keys, st.lists(rich_text, min_size=1, max_size=3).map(tuple)),
    st.builds(All, st.lists(rich_filter, max_size=2).map(tuple)),
    st.builds(One, st.lists(rich_filter, min_size=1, max_size=2).map(tuple)),
)


@FAST
@given(st.lists(rich_segment, max_size=6))
def test_rendered_segments_parse_back_to_themselves(segments):
    text = render(segments)
    path = parse_path(text)
    assert path.segments == tuple(segments)
    assert render(path.segments) == str(path) == text
    assert parse_path(str(path)) == path


@FAST
@given(st.one_of(st.text(alphabet="/a=;,!%.?#2F é", max_size=20), st.text(max_size=20)))
def test_any_text_parses_or_fails_with_a_column(text):
    for parse in (parse_path, parse_scope):
        try:
            parsed = parse(text)
        except ScopeError as error:
            assert 1 <= error.column <= len(text) + 1
            assert error.text == text
        else:
            path = parsed if parse is parse_path else parsed.path
            assert parse_path(render(path.segments)).segments == path.segments


hostile_piece = st.one_of(
    st.integers(1, 4400).map(lambda n: "9" * n),  # past int()'s 4300 digits too
    st.integers(1, 3000).map(lambda n: "a/" * n),
    st.sampled_from(["=", ";", ",", "all;", "one;", "%", "%00", "%ff", "\x00", "\ud800", "\u202e"]),
    st.text(max_size=5),
)


@FAST
@given(st.lists(hostile_piece, min_size=1, max_size=6).map("/".join))
def test_huge_numbers_deep_paths_and_odd_text_parse_or_fail_with_a_scope_error(body):
    for text in ("/" + body, "/relay/outlets/=" + body, "/relay/outlets/all;name=" + body + "/?access=get"):
        for parse in (parse_path, parse_scope):
            try:
                parse(text)
            except ScopeError as error:
                assert 1 <= error.column <= len(text) + 1
