"""Files holding secrets are 0600 whatever the umask and the data directory's mode."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys

import pytest

# Builds the gateway in a fresh process with the given umask, writes through it while its
# connections are open (so the -wal and -shm files exist), and prints every file's mode.
SCRIPT = """
import json, os, sys
os.umask(int(sys.argv[2], 8))
os.environ["POWERCTL_ADMIN_PASSWORD"] = "correct horse battery"
import powerctl
from powerctl import tls
data = sys.argv[1]
tls.ensure_certificate(data, "127.0.0.1")
app = powerctl.create_app({"data_dir": data, "testing": True})
try:
    db = app.extensions["powerctl.db"]
    db.set_setting("probe", 1)
    app.extensions["powerctl.audit"].tail(1)
    modes = {}
    for folder, _, names in os.walk(data):
        for name in names:
            path = os.path.join(folder, name)
            modes[os.path.relpath(path, data)] = os.stat(path).st_mode & 0o777
    print(json.dumps(modes))
finally:
    powerctl.shutdown(app)
"""
PUBLIC = {os.path.join("tls", "cert.pem")}


def modes_written(data_dir, umask: int) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data_dir), f"{umask:o}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_every_secret_file_is_0600_in_an_existing_0755_directory(tmp_path, umask):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    modes = modes_written(data, umask)
    assert {"powerctl.db", "powerctl.db-wal", "powerctl.db-shm", os.path.join("tls", "key.pem")} <= set(modes)
    loose = {name: oct(mode) for name, mode in modes.items() if name not in PUBLIC and mode != 0o600}
    assert loose == {}


def test_a_database_left_readable_by_an_older_version_is_made_0600(tmp_path):
    path = tmp_path / "powerctl.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (x)")
    for name in ("powerctl.db", "powerctl.db-wal", "powerctl.db-shm"):
        os.chmod(tmp_path / name, 0o644)
    from powerctl.store import Database

    db = Database(path)
    try:
        for name in ("powerctl.db", "powerctl.db-wal", "powerctl.db-shm"):
            assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600, name
    finally:
        db.close()
        conn.close()
