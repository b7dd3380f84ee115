"""Lockout bookkeeping: consecutive failures, expiry, and bounded memory."""

from __future__ import annotations

from powerctl.auth.lockout import Lockout


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
