"""`make image`: the overlay tarball unpacked into a temporary root runs the unit's command."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import requests
from requests.auth import HTTPDigestAuth

from tests.e2e.server_support import start_server
from tests.support import ADMIN_PASSWORD, wait_for

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SYSTEM_FILES = [
    "etc/powerctl/powerctl.toml",
    "usr/lib/systemd/system/powerctl.service",
    "usr/lib/sysusers.d/powerctl.conf",
    "usr/lib/tmpfiles.d/powerctl.conf",
]


def device_python() -> str:
    """Debian's python3, as on a device, when it is this X.Y; else the interpreter behind ours."""
    wanted = "{}.{}".format(*sys.version_info)
    for candidate in ("/usr/bin/python3", os.path.realpath(sys._base_executable)):
        if not os.path.exists(candidate):
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('{}.{}'.format(*sys.version_info))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.stdout.strip() == wanted:
            return candidate
    raise AssertionError(f"no Python {wanted} to stand in for the device's")


def build(dist: Path, *args: str) -> Path:
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "packaging" / "build.py"),
            "--dist",
            str(dist),
            "--python",
            device_python(),
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return next(dist.glob("powerctl-overlay-*.tar.gz"))


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Two overlays from this tree: one built in full, one again offline from its wheel."""
    # Rebuilding the wheel too costs another ~10 s of isolated setuptools; `make image-check`
    # compares two complete builds.
    folder = tmp_path_factory.mktemp("image")
    wheelhouse = folder / "wheelhouse"
    first = build(folder / "one", "--wheelhouse", str(wheelhouse))
    wheel = next((folder / "one").glob("powerctl-*.whl"))
    second = build(folder / "two", "--wheelhouse", str(wheelhouse), "--offline", "--wheel", str(wheel))
    return first, second


@pytest.fixture(scope="module")
def root(builds, tmp_path_factory):
    unpacked = tmp_path_factory.mktemp("root")
    with tarfile.open(builds[0]) as tar:
        tar.extractall(unpacked, filter="tar")
    return unpacked


def test_two_builds_are_byte_identical(builds):
    first, second = (hashlib.sha256(path.read_bytes()).hexdigest() for path in builds)
    assert first == second


def test_the_overlay_holds_the_venv_and_the_system_files_owned_by_root(builds):
    with tarfile.open(builds[0]) as tar:
        members = tar.getmembers()
    names = {member.name for member in members}
    assert set(SYSTEM_FILES) <= names
    assert "opt/powerctl/bin/powerctl" in names and "opt/powerctl/pyvenv.cfg" in names
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "root", "root")}
    assert len({m.mtime for m in members}) == 1
    assert not names & {"usr", "usr/lib", "etc", "opt"}  # shared folders are filled, not claimed
    assert not any(name.endswith(("activate", "direct_url.json")) for name in names)


def test_the_device_wheel_holds_the_gateway_and_not_the_fleet_server(builds):
    wheel = next(builds[0].parent.glob("powerctl-*.whl"))
    with zipfile.ZipFile(wheel) as packed:
        names = packed.namelist()
        documents = [json.loads(packed.read(name)) for name in names if name.endswith("openapi.json")]
        info = next(name for name in names if name.endswith(".dist-info/METADATA")).rpartition("/")[0]
        scripts = packed.read(f"{info}/entry_points.txt").decode()
        metadata = packed.read(f"{info}/METADATA").decode()
    assert "powerctl/cli.py" in names and "powerctl/fleet/contract.py" in names
    assert not [name for name in names if name.split("/")[0] == "fleetserver"]
    assert [doc["info"]["title"] for doc in documents] == ["powerctl REST-style API"]
    assert "powerctl-fleet" not in scripts and "fleetserver" not in scripts
    assert "Provides-Extra: fleet" not in metadata


def test_the_devices_fleet_serve_says_the_fleet_server_is_not_installed(root):
    done = subprocess.run(
        [str(root / "opt/powerctl/bin/powerctl"), "fleet", "serve", "--bind", "127.0.0.1:1"],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        env=clean_env(),
        timeout=60,
    )
    assert done.returncode == 2
    assert "the fleet server is not installed: pip install 'powerctl[fleet]'" in done.stderr
    site = next((root / "opt/powerctl/lib").glob("python*/site-packages"))
    assert not (site / "fleetserver").exists() and (site / "powerctl").is_dir()


def test_the_venv_is_isolated_from_this_checkout(root):
    python = root / "opt/powerctl/bin/python"
    found = subprocess.run(
        [str(python), "-c", "import powerctl, sys; print(powerctl.__file__, sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        env=clean_env(),
    )
    where, prefix = found.stdout.split()
    assert where.startswith(str(root / "opt/powerctl/lib/")) and prefix == str(root / "opt/powerctl")


def test_the_units_command_serves_https_and_switches_an_outlet(root):
    exec_start = next(
        line.partition("=")[2]
        for line in (root / "usr/lib/systemd/system/powerctl.service").read_text().splitlines()
        if line.startswith("ExecStart=")
    )
    command = [str(root) + arg if arg.startswith("/") else arg for arg in shlex.split(exec_start)]
    server = start_server(root / "var/lib/powerctl", command=command, env=clean_env())
    try:
        session = requests.Session()
        session.auth = HTTPDigestAuth("admin", ADMIN_PASSWORD)
        session.verify = server.cert
        session.trust_env = False
        put = session.put(
            server.url("/restapi/relay/outlets/3/state/"), data={"value": "false"}, headers={"X-CSRF": "x"}
        )
        assert put.status_code == 204, put.text
        assert wait_for(
            lambda: session.get(server.url("/restapi/relay/outlets/3/physical_state/")).json() is False,
            timeout=5.0,
            interval=0.05,
        )
        assert session.get(server.url("/openapi.json")).json()["openapi"] == "3.1.0"
        assert "powerctl_outlet_state" in session.get(server.url("/metrics")).text
        cmdline = Path(f"/proc/{server.process.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[0] == str(root / "opt/powerctl/bin/python").encode()
    finally:
        server.stop()


def clean_env() -> dict:
    """The environment without this checkout's venv or paths, as a service has it."""
    drop = {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    env = {key: value for key, value in os.environ.items() if key not in drop}
    env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
    env["POWERCTL_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    return env
