"""The documented recovery: `powerctl user passwd admin` while the server runs."""

from __future__ import annotations

import subprocess
import sys

import requests
from requests.auth import HTTPDigestAuth

from tests.e2e.server_support import start_server
from tests.support import ADMIN_PASSWORD


def test_a_running_server_takes_the_password_set_by_the_command_line(tmp_path):
    server = start_server(tmp_path / "data")
    try:

        def status(password: str) -> int:
            url = server.url("/restapi/relay/name/")
            return requests.get(url, verify=server.cert, auth=HTTPDigestAuth("admin", password)).status_code

        assert status(ADMIN_PASSWORD) == 200
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "powerctl.cli",
                "user",
                "passwd",
                "admin",
                "--data-dir",
                str(server.data_dir),
            ],
            input="recovered-pass\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert status("recovered-pass") == 200
        assert status(ADMIN_PASSWORD) == 401
    finally:
        server.stop()
