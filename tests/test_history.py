"""The meter history sampler: its thread, its interval, a meter without a value, its config key."""

from __future__ import annotations

import logging

import pytest

import hw
import powerctl
from powerctl import config
from powerctl.history import History
from powerctl.store import Database
from powerctl.store import history as store
from tests.support import Api


def test_history_is_kept_across_a_restart(make_app):
    """Sampling on its thread, at an interval, is tested on a served gateway (tests/e2e)."""
    app = make_app(history={"interval": 0})
    admin = Api(app.test_client())
    sampler = app.extensions["powerctl.history"]
    assert sampler.sample() == 5 and sampler.maintain()
    path = "/restapi/meter/values/bus.0.voltage/history/"
    body = admin.get(path).json
    assert len(body["points"]) == 1
    db = app.extensions["powerctl.db"]
    stored = {name for (name,) in db.connection().execute("SELECT name FROM meters")}
    assert stored == set(admin.get("/restapi/meter/values/").json)
    powerctl.shutdown(app)
    again = Api(make_app(history={"interval": 0}).test_client())
    assert again.get(path).json == body


def _reading(value: float | None) -> dict[str, hw.MeterReading]:
    return {"plug.power": hw.MeterReading("plug", value, "W", None, "power")}


def test_a_meter_without_a_value_records_nothing_and_is_logged_once(tmp_path, caplog):
    db = Database(tmp_path / "powerctl.db")
    value: list[float | None] = [None]
    clock = iter(range(1_000, 2_000, 10))
    history = History(db, read=lambda: _reading(value[0]), interval=10, clock=lambda: next(clock))
    with caplog.at_level(logging.INFO, logger="powerctl.history"):
        for _ in range(3):
            assert history.sample() == 0
        value[0] = 12.5
        assert history.sample() == 1
        assert history.sample() == 1
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "meter plug.power has no value: its history has a gap until it returns",
        "meter plug.power has a value again: its history resumes",
    ]
    assert store.points(db, "plug.power", 0, 0, 10_000) == [(1030, 12.5), (1040, 12.5)]
    db.close()


def test_interval_zero_starts_no_thread(tmp_path):
    history = History(Database(tmp_path / "powerctl.db"), read=dict, interval=0)
    history.start()
    assert history._thread is None
    history.close()


@pytest.mark.parametrize("value", [-1, 3601, "10", 1.5, True])
def test_a_bad_interval_is_refused_naming_the_key(value):
    with pytest.raises(config.ConfigError, match=r"history\.interval"):
        config.load({"history": {"interval": value}})


def test_an_unknown_history_key_is_refused():
    with pytest.raises(config.ConfigError, match=r"history\.every"):
        config.load({"history": {"every": 10}})
