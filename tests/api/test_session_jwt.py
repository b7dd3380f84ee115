"""Session JWTs that were tampered with, expired, forged or mis-signed are all 401 invalid_token."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from tests.api.sessions_support import VIEW, audit_lines, holder, issue, put_role

PATH = "/restapi/relay/outlets/0/state/"


@pytest.fixture
def role(admin):
    assert put_role(admin, "viewonly", VIEW) == 204


@pytest.fixture
def key(app) -> bytes:
    return bytes.fromhex(app.extensions["powerctl.db"].get_setting("session_key"))


@pytest.fixture
def real(app, admin, role) -> str:
    """A genuine token, so forgeries can reuse its jti (which is in the store)."""
    return issue(app, admin)[1]["token"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def part(value: dict) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def assert_refused(app, token: str) -> None:
    response = holder(app, token).get(PATH)
    assert response.status_code == 401, response.json
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert response.json["code"] == 401


def test_the_genuine_token_works(app, real):
    assert holder(app, real).get(PATH).status_code == 200


def test_a_changed_payload_breaks_the_signature(app, real):
    header, _, signature = real.split(".")
    forged = dict(claims_of(real), role="admin", sub="mallory")
    assert_refused(app, f"{header}.{part(forged)}.{signature}")


def test_alg_none_is_refused(app, real):
    header = part({"alg": "none", "typ": "JWT"})
    assert_refused(app, f"{header}.{part(claims_of(real))}.")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # forging only
@pytest.mark.parametrize("algorithm", ["HS512", "HS384"])
def test_the_right_key_with_another_algorithm_is_refused(app, real, key, algorithm):
    assert_refused(app, jwt.encode(claims_of(real), key, algorithm=algorithm))


def test_an_rs256_header_over_an_hmac_signature_is_refused(app, real, key):
    # key confusion: claim RS256 but sign with the shared secret as if it were a public key
    header = part({"alg": "RS256", "typ": "JWT"})
    body = part(claims_of(real))
    forged = jwt.encode(claims_of(real), key, algorithm="HS256").split(".")[2]
    assert_refused(app, f"{header}.{body}.{forged}")


def test_another_key_is_refused(app, real):
    assert_refused(app, jwt.encode(claims_of(real), b"k" * 32, algorithm="HS256"))


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "jti", "role"])
def test_a_missing_required_claim_is_refused_even_when_signed(app, real, key, claim):
    claims = claims_of(real)
    del claims[claim]
    assert_refused(app, jwt.encode(claims, key, algorithm="HS256"))


@pytest.mark.parametrize(
    ("claim", "value"), [("outlets", "1"), ("outlets", [True]), ("sub", 5), ("role", ["viewonly"])]
)
def test_claims_of_the_wrong_type_are_refused_even_when_signed(app, real, key, claim, value):
    claims = dict(claims_of(real), **{claim: value})
    assert_refused(app, jwt.encode(claims, key, algorithm="HS256"))


def test_a_signed_token_this_device_never_issued_is_refused(app, real, key):
    claims = dict(claims_of(real), jti="never-issued")
    assert_refused(app, jwt.encode(claims, key, algorithm="HS256"))


def test_expired_by_one_second_is_refused_and_one_second_left_is_not(app, admin, role):
    sessions = app.extensions["powerctl.auth"].sessions
    start = time.time()
    sessions.now = lambda: start - 60 - 1  # issued so that exp is a second before now
    expired, body = issue(app, admin, ttl=60)
    assert body["expires"] <= start - 1
    sessions.now = lambda: start - 60 + 2  # exp lands more than a second after now
    fresh, _ = issue(app, admin, ttl=60)
    assert fresh.get(PATH).status_code == 200
    response = expired.get(PATH)
    assert response.status_code == 401 and "expired" in response.json["message"]


def test_garbage_that_looks_like_a_jwt_is_refused(app, role):
    for token in ("eyJ.eyJ.", "eyJhbGciOiJIUzI1NiJ9.!!!.abc", "eyJ" + "A" * 5000 + ".a.b"):
        assert_refused(app, token)


def test_failures_are_audited_without_the_token(app, real):
    header, _, signature = real.split(".")
    assert_refused(app, f"{header}.{part(dict(claims_of(real), sub='x'))}.{signature}")
    lines = audit_lines(app)
    assert any(line.startswith("access denied for 127.0.0.1: session token rejected") for line in lines)
    assert not any(signature in line or real in line for line in lines)
