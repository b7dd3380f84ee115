"""Fixtures: a test CA, a real HTTPS JSON-RPC responder, and a FleetSync on a real SQLite file."""

from __future__ import annotations

import pytest

from powerctl import config as config_mod
from powerctl.fleet import FleetSync
from powerctl.store import Database
from tests.fleet.support import fleet_config, make_ca, start_responder


@pytest.fixture(scope="module")
def ca():
    return make_ca()


@pytest.fixture
def responder(tmp_path, ca):
    running = start_responder(tmp_path / "responder", ca)
    yield running
    running.stop()


@pytest.fixture
def fleet(tmp_path, responder, ca):
    """The validated [fleet] section pointing at the responder."""
    settings = config_mod.load(
        {"data_dir": str(tmp_path / "data"), "fleet": fleet_config(tmp_path / "identity", responder, ca)}
    )
    return settings["fleet"]


@pytest.fixture
def service(tmp_path, fleet):
    """A FleetSync on a real database; its audit lines collect in `service.lines`."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700, exist_ok=True)
    db = Database(data / "powerctl.db")
    lines: list[str] = []
    syncer = FleetSync(db, fleet, str(data), lines.append)
    syncer.db, syncer.lines, syncer.data_dir = db, lines, data  # type: ignore[attr-defined]
    yield syncer
    db.close()
