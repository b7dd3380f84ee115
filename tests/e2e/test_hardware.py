"""`powerctl serve` on an emulated Numato board: switch over HTTPS, see the relay move."""

from __future__ import annotations

import subprocess
import sys

import requests
from requests.auth import HTTPDigestAuth

from hw.drivers.numato_emulator import NumatoEmulator
from tests.e2e.server_support import start_server
from tests.support import ADMIN_PASSWORD


def test_switching_over_https_moves_the_emulated_relay(tmp_path):
    with NumatoEmulator(8) as emu:
        config = tmp_path / "powerctl.toml"
        config.write_text(
            "[hardware]\npoll_interval = 0.1\n"
            f'[[hardware.boards]]\nname = "rack"\ndriver = "numato"\nurl = "{emu.path}"\n'
            "relays = 8\ntimeout = 1.0\n"
        )
        server = start_server(tmp_path / "data", "--config", str(config))
        try:
            assert emu.relays == [True] * 8
            response = requests.put(
                server.url("/restapi/relay/outlets/6/state/"),
                data={"value": "false"},
                headers={"X-CSRF": "x"},
                auth=HTTPDigestAuth("admin", ADMIN_PASSWORD),
                verify=server.cert,
            )
            assert response.status_code == 204
            assert emu.relays[6] is False and "relay off 6" in emu.commands
        finally:
            server.stop()


def test_bad_hardware_config_stops_serve_with_a_clear_message(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[[hardware.boards]]\ndriver = "numato"\nurl = "/dev/null"\nrelays = 3\n')
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "powerctl.cli",
            "serve",
            "--config",
            str(config),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "relays" in result.stderr and "3" in result.stderr
