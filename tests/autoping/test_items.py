"""How rounds of checks move an item: arming, the group rule, firing, limits, restarts."""

from __future__ import annotations

import pytest

from powerctl.autoping.addresses import parse_address
from powerctl.autoping.items import ARM, FIRE, GIVE_UP, Item, Spec, State, observe, resume

SETTINGS = {
    "pings_before_enabling": 2,
    "failures_before_reboot": 2,
    "max_consecutive_reboot_count": 2,
    "max_reboot_count": 0,
}


def make(*addresses: str, **spec) -> Item:
    return Item(1, Spec(tuple(map(parse_address, addresses)), (1,), **spec))


def run(item: Item, rounds: list[list[bool]], settings=SETTINGS) -> list[str | None]:
    return [observe(item, answers, settings) for answers in rounds]


def test_an_item_arms_after_n_answers_and_silence_does_not_reset_the_count():
    item = make("10.0.0.1")
    assert run(item, [[True], [False], [True]]) == [None, None, ARM]
    assert item.state.status == "armed" and (item.state.tx, item.state.rx) == (3, 2)


def test_a_never_answering_device_never_arms_so_is_never_cycled():
    item = make("10.0.0.1")
    assert run(item, [[False]] * 50) == [None] * 50
    assert item.state.status == "waiting"


def test_the_items_own_count_wins_and_zero_arms_at_once():
    item = make("10.0.0.1", pings_before_enabling=0)
    assert run(item, [[False], [False]]) == [None, FIRE]


def test_a_group_fails_only_when_none_answers():
    item = make("10.0.0.1", "tcp://10.0.0.2:22")
    run(item, [[True, True], [True, True]])
    assert run(item, [[False, True]] * 10) == [None] * 10
    assert run(item, [[False, False], [False, False]]) == [None, FIRE]
    assert item.state.status == "rebooting"


def test_an_answer_between_failures_starts_the_count_again():
    item = make("10.0.0.1")
    run(item, [[True], [True]])
    assert run(item, [[False], [True], [False], [True]]) == [None] * 4
    assert item.state.status == "armed"


@pytest.mark.parametrize(("trial", "after"), [(False, "armed"), (True, "waiting")])
def test_after_a_reboot_the_item_arms_at_once_or_waits_for_a_trial(trial, after):
    item = make("10.0.0.1", resumption_trial=trial)
    run(item, [[True], [True], [False], [False]])
    resume(item)
    assert item.state.status == after


def test_the_consecutive_limit_gives_up_instead_of_firing():
    item = make("10.0.0.1")
    run(item, [[True], [True]])
    for _ in range(2):
        assert run(item, [[False], [False]]) == [None, FIRE]
        item.state.consecutive += 1  # what the service counts once the cycle was made
        resume(item)
    assert run(item, [[False], [False]]) == [None, GIVE_UP]
    assert item.state.status == "giving up" and "max_consecutive_reboot_count" in item.state.reason


def test_an_answer_resets_the_consecutive_count():
    item = make("10.0.0.1")
    item.state = State(status="armed", consecutive=2)
    assert run(item, [[True], [False], [False]]) == [None, None, FIRE]


def test_the_total_limit_counts_hits():
    item = make("10.0.0.1")
    item.state = State(status="armed", hits=5)
    assert run(item, [[False], [False]], {**SETTINGS, "max_reboot_count": 5}) == [None, GIVE_UP]
    assert "max_reboot_count" in item.state.reason


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("armed", "waiting"),
        ("failing", "waiting"),
        ("rebooting", "waiting"),
        ("disabled", "disabled"),
        ("giving up", "giving up"),
    ],
)
def test_a_restart_disarms(before, after):
    state = State(status=before, progress=7, failures=1, hits=3)
    state.restarted()
    assert state.status == after and state.hits == 3
    assert state.progress == (7 if before in ("disabled", "giving up") else 0)


def test_a_waiting_item_keeps_its_progress_across_a_restart():
    state = State(status="waiting", progress=4)
    state.restarted()
    assert state.progress == 4
