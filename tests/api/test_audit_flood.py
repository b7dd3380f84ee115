"""Floods of bad requests cannot push real history out of the bounded audit store."""

from __future__ import annotations

import re

import pytest

from tests.api.sessions_support import VIEW, put_role
from tests.support import digest_authorization

FLOOD = 2000
KEEP = 200  # the store's retention, lowered so that the flood would overflow it many times
PATH = "/restapi/relay/outlets/0/state/"


@pytest.fixture
def history(app, admin, monkeypatch):
    """A role change and an allowed read, then the store's retention lowered to KEEP."""
    monkeypatch.setattr("powerctl.store.db.AUDIT_KEEP", KEEP)
    assert put_role(admin, "viewonly", VIEW) == 204
    assert admin.get(PATH).status_code == 200
    lines = app.extensions["powerctl.audit"].tail(KEEP)
    role_line = next(line for line in lines if line.startswith("Role viewonly set by user admin"))
    allowed = [line for line in lines if line.startswith("access allowed for admin")]
    assert allowed
    return [role_line, *allowed]


def stored(app) -> list[str]:
    """Every stored line, once the trail has been closed (its counts written out)."""
    trail = app.extensions["powerctl.audit"]
    trail.close()
    return [line for _, line in app.extensions["powerctl.db"].audit_tail(10 * KEEP)]


def denials_counted(lines: list[str], addr: str | None = None) -> int:
    """Denials the lines stand for: one per full line, plus the count a coalesced line gives."""
    total = 0
    for line in lines:
        if not line.startswith("access denied for") or (
            addr and not line.startswith(f"access denied for {addr}")
        ):
            continue
        coalesced = re.match(r"access denied for .*?: (\d+) more times? in \d+ s \(the last: ", line)
        total += int(coalesced.group(1)) if coalesced else 1
    return total


def test_a_flood_from_one_address_is_coalesced_and_keeps_earlier_lines(app, history):
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    challenge = attacker.get(PATH).headers["WWW-Authenticate"]  # no credentials: not a failure
    bad = [
        {"Authorization": "Bearer nosuch.SGVsbG8"},
        {"Authorization": digest_authorization(challenge, "GET", PATH, "admin", "wrong")},
        {"Authorization": "Basic YWRtaW46d3Jvbmc="},  # Basic over plain HTTP is refused
    ]
    for i in range(FLOOD):
        assert attacker.get(PATH, headers=bad[i % 3]).status_code in (401, 403)
    lines = stored(app)
    assert set(history) <= set(lines)
    flood = [line for line in lines if "10.0.0.9" in line]
    assert len(flood) <= 20, flood[:30]
    assert denials_counted(flood, "10.0.0.9") == FLOOD


def test_a_flood_from_many_addresses_adds_a_bounded_number_of_lines(app, history):
    attacker = app.test_client()
    for i in range(FLOOD // 2):
        attacker.environ_base["REMOTE_ADDR"] = f"10.1.{i // 250}.{i % 250 + 1}"
        assert attacker.get(PATH, headers={"Authorization": "Bearer nosuch.SGVsbG8"}).status_code == 401
    lines = stored(app)
    assert set(history) <= set(lines)
    flood = [line for line in lines if line.startswith("access denied for")]
    assert len(flood) <= KEEP // 2
    assert denials_counted(flood) == FLOOD // 2
