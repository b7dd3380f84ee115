"""Shared fixtures: an app on a real SQLite file in a temporary data directory."""

from __future__ import annotations

import pytest

import powerctl
from tests.support import ADMIN_PASSWORD, Api


def pytest_addoption(parser):
    parser.addoption(
        "--real-hardware",
        action="store_true",
        default=False,
        help="also run the hardware suites that drive a plugged board (tests/hw/test_hidrelay.py)",
    )


@pytest.fixture
def make_app(tmp_path, monkeypatch):
    """Build apps on one data directory; every app built is shut down after the test."""
    monkeypatch.setenv("POWERCTL_ADMIN_PASSWORD", ADMIN_PASSWORD)
    built = []

    def make(**overrides):
        config = {"data_dir": str(tmp_path / "data"), "testing": True, "relay": {"sequence_delay": 0}}
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        app = powerctl.create_app(config)
        built.append(app)
        return app

    yield make
    for app in built:
        powerctl.shutdown(app)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def admin(app):
    return Api(app.test_client())


@pytest.fixture
def https_admin(app):
    """Admin on an https base URL (Basic is accepted only over TLS)."""
    return Api(app.test_client(), user=None)
