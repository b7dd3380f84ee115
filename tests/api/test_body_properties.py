"""Property tests: whatever number, nesting or encoding a body holds, the answer is never a 500."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote_from_bytes

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.clients_support import EXAMPLE_1, HELLO_HASH
from tests.support import ADMIN_PASSWORD

BOUNDED = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
HEADERS = {
    "Authorization": "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode(),
    "X-CSRF": "x",
}
WRITES = [
    ("PUT", "/restapi/relay/outlets/2/cycle_delay/"),
    ("PUT", "/restapi/relay/outlets/2/state/"),
    ("PUT", "/restapi/relay/outlets/all;/locked/"),
    ("PUT", "/restapi/relay/outlets/=0,1/name/"),
    ("PUT", "/restapi/relay/sequence_delay/"),
    ("PUT", "/restapi/config/lockout_delay_minutes/"),
    ("POST", "/restapi/script/start/"),
    ("POST", "/restapi/script/stop/"),
    ("POST", "/restapi/relay/outlets/2/cycle/"),
    ("POST", "/restapi/auth/sessions/"),
]

# Numbers at and past what Python and SQLite hold: int() refuses 4300+ digits, SQLite 2**63.
huge_number = st.one_of(
    st.integers(4250, 4400).map(lambda n: "9" * n),
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from([str(2**63), str(-(2**63) - 1), "1e309", "-1e309", "1" + "0" * 400, "1E-400"]),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "-0", "0x10", "1_000", "+1", ".5", "01"]),
)
# Deep nesting: past the interpreter's recursion limit as well as just under it.
deep = st.builds(
    lambda depth, opener, close: opener * depth + ("1" + _closers(opener) * depth if close else ""),
    st.sampled_from([2, 900, 1100, 5000, 100_000]),
    st.sampled_from(["[", '{"a":', '[{"user_function":']),
    st.booleans(),
)
plain_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
).map(json.dumps)
value_text = st.one_of(huge_number, deep, plain_json, st.text(max_size=30))
# The same text in odd encodings, or bytes that are no text at all.
encoded = st.one_of(
    st.tuples(
        value_text, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32", "latin-1"])
    ).map(
        lambda pair: (
            pair[0].encode(pair[1], "surrogatepass")
            if pair[1].startswith("utf")
            else pair[0].encode(pair[1], "replace")
        )
    ),
    st.binary(max_size=40),
    st.sampled_from([b'"\\ud800"', b"\xed\xa0\x80", b"\xef\xbb\xbf[1]", b"\x00\x00\x00["]),
)
content_type = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-16",
        "text/plain",
        "text/plain; charset=latin-1",
        "application/x-www-form-urlencoded",
        "application/merge-patch+json",
        "",
    ]
)


def _closers(opener: str) -> str:
    return {"[": "]", '{"a":': "}", '[{"user_function":': "}]"}[opener]


def assert_an_envelope_or_success(response):
    assert response.status_code < 500, (response.status_code, response.data[:300])
    if response.status_code >= 400:
        assert response.json["code"] == response.status_code


@BOUNDED
@given(st.sampled_from(WRITES), encoded, content_type)
def test_no_value_in_any_encoding_makes_a_write_fail_with_500(app, write, raw, mimetype):
    method, path = write
    data = b"value=" + quote_from_bytes(raw).encode() if mimetype.endswith("urlencoded") else raw
    response = app.test_client().open(
        path,
        method=method,
        data=data,
        headers={**HEADERS, "Content-Type": mimetype},
        base_url="https://localhost",
    )
    assert_an_envelope_or_success(response)


@BOUNDED
@given(huge_number | deep)
def test_no_use_count_makes_a_registration_fail_with_500(app, number):
    text = json.dumps(dict(EXAMPLE_1, access_tokens={HELLO_HASH: {"remaining_use_count": 0}}))
    body = text.replace('"remaining_use_count": 0', f'"remaining_use_count": {number}')
    response = app.test_client().put(
        "/restapi/auth/clients/prop/",
        data=body,
        headers={**HEADERS, "Content-Type": "application/json"},
        base_url="https://localhost",
    )
    assert_an_envelope_or_success(response)
    if response.status_code == 204:  # kept exactly, or refused: never rounded or wrapped
        stored = app.test_client().get(
            "/restapi/auth/clients/prop/", headers=HEADERS, base_url="https://localhost"
        )
        assert stored.json["access_tokens"][HELLO_HASH]["remaining_use_count"] == json.loads(number)
