"""The DLI reference's curl command lines, run verbatim against a served instance (host swapped).

The token page's lines are Windows `cmd` lines (`\\"` quoting, unquoted `;`), so they are split
with Windows' own argv rules and run without a shell; the REST page's lines are POSIX shell.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time

import pytest
import requests
from requests.auth import HTTPDigestAuth

from tests.e2e import winargs
from tests.e2e.curl_support import (
    CYCLE_6,
    DAVE_CYCLE_4,
    DAVE_STATES,
    DAVE_TURN_ON_2,
    REGISTRATION_1,
    REGISTRATION_2,
    TURN_ON_4,
    physical,
    registered,
    run_windows_line,
)
from tests.e2e.server_support import start_server

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


@pytest.fixture(scope="module")
def dli(tmp_path_factory):
    """A server whose admin password is the reference's 1234, so only the host changes."""
    import os

    env = dict(os.environ, POWERCTL_ADMIN_PASSWORD="1234")
    running = start_server(tmp_path_factory.mktemp("dli") / "data", env=env)
    yield running
    running.stop()


def test_windows_argv_split_keeps_the_json_intact():
    argv = winargs.split(REGISTRATION_1)
    body = argv[argv.index("--data-binary") + 1]
    import json

    assert json.loads(body)["name"] == "user2"
    assert argv[-1] == "https://192.168.0.100/restapi/auth/clients/testclient/"


def test_rest_page_switch_and_cycle_commands(dli):
    base = dli.base
    off = f'curl -k -u admin:1234 --digest -X PUT -H "X-CSRF: x" --data "value=false" {base}/restapi/relay/outlets/3/state/'
    on = f'curl -k -u admin:1234 --digest -X PUT -H "X-CSRF: x" --data "value=true" {base}/restapi/relay/outlets/3/state/'
    cycle = f'curl -k -u admin:1234 --digest -X POST -H "X-CSRF: x" {base}/restapi/relay/outlets/3/cycle/'
    for line in (off,):
        result = subprocess.run(shlex.split(line), capture_output=True, timeout=30, check=True)
        assert result.stdout == b""
    assert physical(dli, 3) is False
    subprocess.run(shlex.split(on), capture_output=True, timeout=30, check=True)
    assert physical(dli, 3) is True
    result = subprocess.run(shlex.split(cycle), capture_output=True, timeout=30, check=True)
    assert result.stdout == b"5.0"
    assert physical(dli, 3) is False
    states = subprocess.run(
        [
            "curl",
            "-k",
            "-s",
            "-u",
            "admin:1234",
            "--digest",
            f"{base}/restapi/relay/outlets/all;/=name,physical_state/",
        ],
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert states.stdout.startswith(b'["Outlet 1",true,')


def test_token_reference_example_1(dli):
    status, body = run_windows_line(dli, REGISTRATION_1)
    assert body == ""
    assert registered(dli, "testclient")["name"] == "user2"
    status, body = run_windows_line(dli, CYCLE_6)
    assert status == 200 and body == "5.0"
    assert physical(dli, 5) is False
    requests.put(
        dli.url("/restapi/relay/outlets/3/state/"),
        data={"value": "false"},
        headers={"X-CSRF": "x"},
        auth=HTTPDigestAuth("admin", "1234"),
        verify=dli.cert,
    )
    status, body = run_windows_line(dli, TURN_ON_4)
    assert status == 204 and body == ""
    assert physical(dli, 3) is True


def test_token_reference_example_2(dli):
    status, body = run_windows_line(dli, REGISTRATION_2)
    assert body == ""
    assert len(registered(dli, "DaveSmith")["scopes"]) == 6
    # "Turn on outlet 2" addresses index 1, which DaveSmith's scopes (=2,3,5) do not cover.
    status, body = run_windows_line(dli, DAVE_TURN_ON_2)
    assert status == 403 and "/relay/outlets/1/state/" in body
    status, body = run_windows_line(dli, DAVE_CYCLE_4)
    assert status == 200 and body == "5.0"
    time.sleep(0.1)
    status, body = run_windows_line(dli, DAVE_STATES)
    assert status == 207 and body.startswith("[") and body.count(",") == 7


def test_audit_log_has_the_reference_lines(dli):
    run_windows_line(dli, REGISTRATION_2)
    run_windows_line(dli, DAVE_CYCLE_4)
    time.sleep(0.5)
    text = dli.log.read_text()
    assert "access allowed for DaveSmith (DaveSmith@127.0.0.1, bearer)" in text
    assert "Outlet 4: Cycle() by client DaveSmith from 127.0.0.1" in text
