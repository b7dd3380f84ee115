"""`powerctl fleet sync` by hand, as a real process on a data directory."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from powerctl.store import Database
from powerctl.store import fleet as store
from tests.fleet.gateway import toml
from tests.fleet.support import fleet_config, result


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "powerctl.cli", "fleet", "sync", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_sync_by_hand_applies_then_refuses_a_stale_bundle(tmp_path, responder, ca):
    config, data = tmp_path / "powerctl.toml", tmp_path / "data"
    config.write_text(toml(fleet_config(tmp_path / "identity", responder, ca)))
    responder.answer = result(4, ca)
    done = run("--config", str(config), "--data-dir", str(data))
    assert done.returncode == 0 and "version 4 applied" in done.stdout, done.stderr
    pem = data / "tls" / "fleet" / "server.pem"
    assert stat.S_IMODE(os.stat(pem).st_mode) == 0o600
    responder.answer = result(3, ca, clients={})
    refused = run("--config", str(config), "--data-dir", str(data))
    assert refused.returncode == 1
    assert "nothing changed: bundle version 3 is lower than the version held (4)" in refused.stderr
    db = Database(data / "powerctl.db")
    assert store.held_version(db) == 4 and store.counts(db) == (1, 1)
    assert "lower than the version held" in store.status(db)["last_error"]
    assert any("Fleet sync (by hand) failed" in line for _, line in db.audit_tail())
    db.close()


def test_sync_without_a_fleet_url_says_so(tmp_path):
    done = run("--data-dir", str(tmp_path / "data"))
    assert done.returncode == 2 and "no [fleet] url" in done.stderr
