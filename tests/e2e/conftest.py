"""Fixtures of the end-to-end tests: a served instance per test or per module."""

from __future__ import annotations

import pytest

# tests/fleetserver/support.py still takes these from here
from tests.e2e.server_support import Server, free_port, spawn, start_server, wait_serving  # noqa: F401

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path):
    running = start_server(tmp_path / "data")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("shared") / "data")
    yield running
    running.stop()
