"""Every file the fleet server writes is 0600, whatever the umask and the data directory's mode."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap

from tests.fleetserver.support import ADMIN_TOKEN

# Run in a process of its own: the umask is process-wide.
START = textwrap.dedent(
    """
    import json, os, sys
    os.umask(0)
    from fleetserver import create_app, settings, shutdown
    data = sys.argv[1]
    app = create_app({"data_dir": data, "testing": True, "notify_retry_seconds": 0})
    fleet = app.extensions["powerctl.fleet"]
    fleet.notifier.context()  # writes the notifier's key and certificate
    settings.registration_code(fleet.db)  # a write: the WAL is in use
    modes = {}
    for folder, _dirs, files in os.walk(data):
        for name in files:
            path = os.path.join(folder, name)
            modes[os.path.relpath(path, data)] = os.stat(path).st_mode & 0o777
    shutdown(app)
    print(json.dumps(modes))
    """
)


def start_with_loose_umask(data_dir) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", START, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ, POWERCTL_FLEET_ADMIN_TOKEN=ADMIN_TOKEN),
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_files_are_private_in_a_world_readable_data_directory(tmp_path):
    data = tmp_path / "fleet"
    data.mkdir()
    os.chmod(data, 0o755)
    modes = start_with_loose_umask(data)
    expected = {"fleet.db", "fleet.db-wal", "fleet.db-shm", "tls/notifier.pem", "tls/controller-cas.pem"}
    assert expected <= set(modes), modes
    assert {name: oct(mode) for name, mode in modes.items() if mode != 0o600} == {}


def test_a_database_left_world_readable_is_tightened_at_start(tmp_path):
    data = tmp_path / "fleet"
    data.mkdir()
    modes = start_with_loose_umask(data)  # a first start makes the files
    for name in ("fleet.db", "fleet.db-wal", "fleet.db-shm"):
        if (data / name).exists():
            os.chmod(data / name, 0o644)
    os.chmod(data / "tls" / "notifier.pem", 0o644)
    modes = start_with_loose_umask(data)
    assert modes["fleet.db"] == 0o600
    assert stat.S_IMODE(os.stat(data / "fleet.db").st_mode) == 0o600
    assert {name: oct(mode) for name, mode in modes.items() if mode != 0o600} == {}
