"""The notification queue in the database: claims, leases, backoff, fleet-wide bumps."""

from __future__ import annotations

import datetime
import uuid

import pytest

from fleetserver import cli, pki
from fleetserver.controllers import Controllers
from fleetserver.database import FleetDatabase
from fleetserver.notify import NotifyPolicy
from fleetserver.schedule import Schedule
from fleetserver.serve import policy_problem

URL = "https://127.0.0.1:9/notify/"


class Clock:
    """The present, moved on by `advance` (never behind the real one, which changes use)."""

    def __init__(self):
        self.ahead = datetime.timedelta(0)

    @property
    def now(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC) + self.ahead

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.ahead += datetime.timedelta(seconds=seconds)


@pytest.fixture
def fleet(database_url):
    db = FleetDatabase(database_url)
    clock = Clock()
    controllers = Controllers(db, pki.new_issuer())
    yield db, controllers, Schedule(db, clock), clock
    db.close()


def make(controllers: Controllers, count: int, url: str | None = URL) -> list[str]:
    made = [str(uuid.uuid4()) for _ in range(count)]
    for name in made:
        controllers.create(name, "7001", url)
    return made


def test_each_due_controller_is_claimed_once_until_its_lease_ends(fleet):
    _db, controllers, schedule, clock = fleet
    made = make(controllers, 5)
    make(controllers, 2, url=None)  # nothing to notify
    clock.advance(1)
    first, second = schedule.claim(3, lease=30), schedule.claim(10, lease=30)
    assert len(first) == 3 and len(second) == 2
    assert {n.uuid for n in first + second} == set(made)
    assert schedule.claim(10, lease=30) == []
    clock.advance(31)  # the claiming instance died: its claims come back
    assert {n.uuid for n in schedule.claim(10, lease=30)} == set(made)


def test_a_delivered_notice_is_not_due_again_and_a_failed_one_backs_off(fleet):
    _db, controllers, schedule, clock = fleet
    ok, bad = make(controllers, 2)
    clock.advance(1)
    notices = {n.uuid: n for n in schedule.claim(10, lease=30)}
    policy = NotifyPolicy(retry=10, retry_max=40)
    schedule.record(notices[ok], None, policy.delay)
    waits = []
    for failures in range(1, 5):
        before = clock.now
        schedule.record(notices[bad], "ConnectionRefusedError", policy.delay)
        described = controllers.get(bad)
        assert described["notify_failures"] == failures
        due = datetime.datetime.fromisoformat(described["next_notify_at"])
        waits.append((due - before).total_seconds())  # the delay, and the time record took
        clock.advance(waits[-1])
        (notices[bad],) = schedule.claim(10, lease=30)
    assert 5 <= waits[0] <= 11 and 10 <= waits[1] <= 21 and 20 <= waits[2] <= 41 and 20 <= waits[3] <= 41
    assert controllers.get(ok)["notified_version"] == 1 and controllers.get(ok)["next_notify_at"] is None
    assert controllers.get(bad)["notify_error"] == "ConnectionRefusedError"
    schedule.record(notices[bad], None, policy.delay)
    assert controllers.get(bad)["notify_failures"] == 0 and controllers.get(bad)["notify_error"] is None


def test_a_change_during_a_delivery_is_sent_after_it(fleet):
    _db, controllers, schedule, clock = fleet
    (name,) = make(controllers, 1)
    clock.advance(1)
    (old,) = schedule.claim(10, lease=30)
    controllers.put_clients(name, {str(uuid.uuid4()): ["ab" * 32]}, replace_all=True)  # version 2
    schedule.record(old, None, NotifyPolicy().delay)
    clock.advance(1)
    (new,) = schedule.claim(10, lease=30)
    assert (old.version, new.version) == (1, 2)
    assert controllers.get(name)["notified_version"] == 1


def test_a_fleet_wide_bump_goes_in_batches_and_keeps_backoff(fleet):
    _db, controllers, schedule, clock = fleet
    made = make(controllers, 7)
    clock.advance(1)
    notices = {n.uuid: n for n in schedule.claim(10, lease=30)}
    for name in made[1:]:
        schedule.record(notices[name], None, NotifyPolicy().delay)
    schedule.record(notices[made[0]], "TimeoutError", NotifyPolicy(retry=600).delay)
    batches = []
    assert schedule.bump_all(batch=3, progress=batches.append) == 7
    assert batches == [3, 6, 7]
    clock.advance(1)
    again = schedule.claim(10, lease=30)
    assert {n.uuid for n in again} == set(made[1:]) and {n.version for n in again} == {2}


def test_the_resync_command_bumps_every_live_controller(fleet, database_url, capsys):
    _db, controllers, _schedule, _clock = fleet
    made = make(controllers, 3)
    controllers.deny(made[0])
    assert cli.main(["resync", "--database", database_url, "--batch", "2"]) == 0
    assert "bumped 2 controllers" in capsys.readouterr().err
    assert [controllers.get(name)["version"] for name in made[1:]] == [2, 2]
    assert cli.main(["resync", "--database", database_url, "--batch", "0"]) == 2


@pytest.mark.parametrize(
    ("policy", "problem"),
    [
        (NotifyPolicy(retry=-1), "--notify-retry must be 0 or more"),
        (NotifyPolicy(retry=60, retry_max=30), "--notify-retry-max must be at least"),
        (NotifyPolicy(concurrency=0), "--notify-concurrency must be 1 or more"),
        (NotifyPolicy(read_timeout=0), "must be more than 0 seconds"),
        (NotifyPolicy(connect_timeout=5, read_timeout=10, lease=15), "--notify-lease must be longer"),
    ],
)
def test_notification_settings_that_cannot_work_are_refused(policy, problem):
    assert problem in policy_problem(policy)
    assert policy_problem(NotifyPolicy()) is None
