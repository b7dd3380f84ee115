"""Registration Example 2 and all four Command Examples 2, verbatim, against a served instance
whose config (the documented example) defines cycle_schedule_1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.curl_support import (
    DAVE_CYCLE_4,
    DAVE_STATES,
    DAVE_TURN_ON_2,
    REGISTRATION_2,
    physical,
    run_windows_line,
)
from tests.e2e.server_support import as_admin, start_server
from tests.support import wait_for

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "powerctl.toml"
PASSWORD = "1234"  # the admin password of the reference's curl examples
DAVE_RUN_SCRIPT = r'''curl -D - -H "Authorization: Bearer DaveSmith.SGVsbG8" -k -H "X-CSRF: x" -H "Content-Type: application/json" --data "[{\"user_function\":\"cycle_schedule_1\"}]" --digest "https://192.168.0.100/restapi/script/start/"'''  # noqa: E501


@pytest.fixture(scope="module")
def dli(tmp_path_factory):
    env = dict(os.environ, POWERCTL_ADMIN_PASSWORD=PASSWORD)
    running = start_server(tmp_path_factory.mktemp("dli-scripts") / "data", "--config", str(EXAMPLE), env=env)
    yield running
    running.stop()


def test_registration_2_and_all_four_command_examples(dli):
    status, body = run_windows_line(dli, REGISTRATION_2)
    assert body == ""
    # "Turn on outlet 2" addresses index 1, outside DaveSmith's zero-based =2,3,5
    status, body = run_windows_line(dli, DAVE_TURN_ON_2)
    assert status == 403 and "/relay/outlets/1/state/" in body
    status, body = run_windows_line(dli, DAVE_CYCLE_4)
    assert status == 200 and body == "5.0"
    # "Run a script": his scope is invoke without get, so success is a bare 204
    status, body = run_windows_line(dli, DAVE_RUN_SCRIPT)
    assert status == 204 and body == ""
    threads = as_admin(dli, "GET", "/restapi/script/threads/", password=PASSWORD).json()
    assert list(threads) == ["1"]
    assert threads["1"]["label"].startswith("cycle_schedule_1 (DaveSmith via rest) ")
    assert wait_for(lambda: physical(dli, 2) is False, timeout=5.0, interval=0.05)
    status, body = run_windows_line(dli, DAVE_STATES)
    assert status == 207 and json.loads(body)[2] is False
    stopped = as_admin(dli, "POST", "/restapi/script/stop/", json=["all"], password=PASSWORD)
    assert stopped.status_code == 200 and stopped.json() == ["1"]
    assert as_admin(dli, "GET", "/restapi/script/threads/", password=PASSWORD).json() == {}
    time.sleep(0.5)
    log = dli.log.read_text()
    assert "Script cycle_schedule_1 started as thread 1 by client DaveSmith from 127.0.0.1" in log
    assert (
        "Outlet 3: Configured state set to Off by script cycle_schedule_1 (thread 1)"
        " for client DaveSmith from 127.0.0.1"
    ) in log
    assert "Script thread 1 (cycle_schedule_1) stopped by user admin from 127.0.0.1" in log


def test_dave_smith_switches_wifi_as_his_scope_allows(dli):
    run_windows_line(dli, REGISTRATION_2)
    url = dli.url("/restapi/network/wireless/enabled/")
    auth = {"Authorization": "Bearer DaveSmith.SGVsbG8"}
    put = requests.put(
        url, data={"value": "false"}, headers={**auth, "X-CSRF": "x"}, verify=dli.cert, timeout=10
    )
    assert put.status_code == 204
    assert requests.get(url, headers=auth, verify=dli.cert, timeout=10).json() is False


def test_serve_refuses_a_bad_function_before_starting(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[scripts.functions.f]\nsteps = [{ action = "on", outlets = [12] }]\n')
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "powerctl.cli",
            "serve",
            "--config",
            str(bad),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert 'function "f" step 1: there is no outlet 12 (outlets are 0-7)' in result.stderr
