"""Lockout bookkeeping: consecutive failures, expiry, and bounded memory."""

from __future__ import annotations

from werkzeug.datastructures import Authorization

from powerctl.auth.lockout import Lockout, claimed_identity


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_consecutive_failures_lock_out_until_the_delay_passes():
    clock = Clock()
    lockout = Lockout(3, lambda: 1, clock)
    assert not lockout.failure("a") and not lockout.failure("a")
    assert lockout.failure("a")
    assert 59 < lockout.locked("a") <= 60
    clock.now += 61
    assert lockout.locked("a") == 0


def test_a_success_resets_the_count():
    lockout = Lockout(3, lambda: 1, Clock())
    lockout.failure("a")
    lockout.failure("a")
    lockout.success("a")
    assert not lockout.failure("a") and not lockout.failure("a")
    assert lockout.locked("a") == 0


def test_another_identitys_success_clears_nothing_of_the_first():
    lockout = Lockout(3, lambda: 1, Clock())
    assert not lockout.failure("a", "user:admin") and not lockout.failure("a", "user:admin")
    lockout.success("a", "client:low")
    assert lockout.failure("a", "user:admin")
    assert lockout.locked("a") > 0


def test_failures_of_every_identity_add_up_and_each_success_clears_its_own():
    lockout = Lockout(4, lambda: 1, Clock())
    lockout.failure("a", "user:admin")
    lockout.failure("a", "user:bob")
    lockout.failure("a", None)
    lockout.success("a", "user:bob")  # clears bob's and the one that claimed no identity
    assert not lockout.failure("a", "client:c")
    assert not lockout.failure("a", "client:c")
    assert lockout.failure("a", "user:root")  # admin 1 + c 2 + root 1
    assert not lockout.failure("b", "user:admin")  # another address counts apart


def test_the_identity_is_what_the_credentials_claim():
    def of(header):
        return claimed_identity(Authorization.from_header(header))

    assert of('Digest username="admin", nonce="x", response="y"') == "user:admin"
    assert of("Basic YWRtaW46d3Jvbmc=") == "user:admin"  # admin:wrong
    assert of("Bearer low.SGVsbG8") == "client:low"
    assert of("Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig") == "session"
    assert of("Bearer eyJoe.SGVsbG8") == "client:eyJoe"
    assert of("Negotiate abc") is None and of("Basic !!!") is None and of(None) is None


def test_zero_minutes_disables_lockout():
    lockout = Lockout(1, lambda: 0, Clock())
    assert not lockout.failure("a") and lockout.locked("a") == 0


def test_memory_is_bounded_by_forgetting_the_oldest_counts():
    lockout = Lockout(3, lambda: 1, Clock())
    lockout.MAX_ADDRESSES = 100
    lockout.failure("first")
    lockout.failure("first")
    for i in range(150):
        lockout.failure(f"10.0.{i // 256}.{i % 256}")
    assert len(lockout._failures) <= 100
    assert not lockout.failure("first")  # its count was forgotten, so this is its first again
