"""The sampler in a real `powerctl serve`: it samples at its interval and stops with the server."""

from __future__ import annotations

import time

import requests
from requests.auth import HTTPDigestAuth

from powerctl.store import Database
from powerctl.store import history as store
from tests.e2e.server_support import start_server
from tests.support import ADMIN_PASSWORD


def test_a_served_gateway_samples_its_meters_and_stops_cleanly(tmp_path):
    config = tmp_path / "powerctl.toml"
    config.write_text("[history]\ninterval = 1\n")
    server = start_server(tmp_path / "data", "--config", str(config), http=True)
    try:
        auth = HTTPDigestAuth("admin", ADMIN_PASSWORD)
        url = server.url("/restapi/meter/values/bus.0.power/history/")
        deadline = time.monotonic() + 20
        body = requests.get(url, auth=auth, timeout=10).json()
        while len(body["points"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.25)
            body = requests.get(url, auth=auth, timeout=10).json()
        assert body["id"] == "bus.0.power" and body["unit"] == "W" and body["step"] == 1
        assert len(body["points"]) >= 2
        stopping = time.monotonic()
    finally:
        server.stop()
    assert server.process.returncode == 0
    assert time.monotonic() - stopping < 10
    log = server.log.read_text()
    assert "Traceback" not in log
    db = Database(server.data_dir / "powerctl.db")
    try:
        kept = store.points(db, "bus.0.power", 0, 0, 2**32)
        assert [list(point) for point in kept[: len(body["points"])]] == body["points"]
    finally:
        db.close()
