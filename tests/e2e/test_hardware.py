"""`powerctl serve` on an emulated Numato board: switch over HTTPS, see the relay move."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

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


def test_a_slow_board_delays_only_its_own_requests_each_for_a_bounded_time(tmp_path):
    timeout = 2.0
    with NumatoEmulator(8) as emu:
        config = tmp_path / "powerctl.toml"
        config.write_text(
            "[hardware]\npoll_interval = 0.5\n"
            f'[[hardware.boards]]\nname = "slow"\ndriver = "numato"\nurl = "{emu.path}"\n'
            f"relays = 8\ntimeout = {timeout}\n"
            '[[hardware.boards]]\nname = "side"\nrelays = 4\n'
        )
        server = start_server(tmp_path / "data", "--config", str(config))

        def call(method: str, path: str, **kwargs) -> tuple[int, float, str]:
            started = time.monotonic()
            response = requests.request(
                method,
                server.url(path),
                headers={"X-CSRF": "x"},
                auth=HTTPDigestAuth("admin", ADMIN_PASSWORD),
                verify=server.cert,
                timeout=30,
                **kwargs,
            )
            return response.status_code, time.monotonic() - started, response.text

        try:
            emu.delay = 0.4  # each answer: a switch and its read-back take 0.8 s
            with ThreadPoolExecutor(8) as pool:
                queued = [
                    pool.submit(call, "PUT", f"/restapi/relay/outlets/{i}/state/", data={"value": "false"})
                    for i in range(8)
                ]
                time.sleep(0.5)  # eight switches queue for the slow board
                other = call("PUT", "/restapi/relay/outlets/9/state/", data={"value": "false"})
                version = call("GET", "/restapi/config/version/")
                slow = [future.result() for future in queued]
        finally:
            server.stop()
    assert other[:1] == (204,) and other[1] < 1.0, other
    assert version[:1] == (200,) and version[1] < 1.0, version
    # Each request waits at most the timeout for its board, then is answered "busy".
    for status, elapsed, text in slow:
        assert elapsed < 2 * timeout + 1.0, slow
        assert status == 204 or (status == 503 and '"slow"' in text and "busy" in text), slow
    assert sum(status == 204 for status, _, _ in slow) >= 2, slow


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
