"""DMTF's released tools against a real `powerctl serve`: the service validator and redfish's client."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tests.e2e.server_support import start_server
from tests.redfish.support import CSDL, OUTLET
from tests.support import ADMIN_PASSWORD

pytestmark = pytest.mark.e2e
VALIDATOR = Path(sys.executable).with_name("rf_service_validator")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("redfish") / "data")
    yield running
    running.stop()


def validate(served, tmp_path, authtype: str) -> str:
    result = subprocess.run(
        [
            str(VALIDATOR),
            "--ip",
            served.base,
            "-u",
            "admin",
            "-p",
            ADMIN_PASSWORD,
            "--authtype",
            authtype,
            "--skipschema",
            "--schema_directory",
            str(CSDL),
            "--logdir",
            str(tmp_path / "logs"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.mark.parametrize("authtype", ["Basic", "Session"])
def test_dmtf_service_validator_reports_no_failure(served, tmp_path, authtype):
    assert CSDL.is_dir(), f"DMTF's schemas are expected in {CSDL}"
    output = validate(served, tmp_path, authtype)
    totals = re.search(
        r"\|\s*PASS\s*\|\s*WARN\s*\|\s*FAIL\s*\|.*?\n.*?\n\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|",
        output,
        re.S,
    )
    assert totals, output[-2000:]
    passed, warned, failed = map(int, totals.groups())
    assert failed == 0, output[-4000:]
    assert warned == 0, output[-4000:]  # docs/redfish.md lists none
    assert passed > 150  # it walked the outlets, not just the root
    assert "Outlets/8" in output


def validator_totals(output: str) -> tuple[int, int, int]:
    totals = re.search(
        r"\|\s*PASS\s*\|\s*WARN\s*\|\s*FAIL\s*\|.*?\n.*?\n\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|",
        output,
        re.S,
    )
    assert totals, output[-2000:]
    return tuple(map(int, totals.groups()))


def test_dmtf_service_validator_passes_over_mixed_hardware(tmp_path):
    """A sim board, a Tasmota plug and a Shelly relay (their emulators on loopback) behind one PDU."""
    from hw.drivers import shelly_emulator, tasmota_emulator

    plug, relay = tasmota_emulator.TasmotaDevice(2), shelly_emulator.ShellyDevice(1)
    emulators = [tasmota_emulator.serve(plug), shelly_emulator.serve(relay)]
    urls = [f"http://127.0.0.1:{server.server_address[1]}" for server in emulators]
    config = tmp_path / "mixed.toml"
    config.write_text(
        '[[hardware.boards]]\nname = "local"\nrelays = 3\n\n'
        f'[[hardware.boards]]\nname = "plug"\ndriver = "tasmota"\nurl = "{urls[0]}"\nrelays = 2\n\n'
        f'[[hardware.boards]]\nname = "relay"\ndriver = "shelly"\nurl = "{urls[1]}"\n'
    )
    server = start_server(tmp_path / "data", "--config", str(config))
    try:
        passed, warned, failed = validator_totals(validate(server, tmp_path, "Basic"))
        assert failed == 0 and warned == 0
        assert passed > 100
    finally:
        server.stop()
        for emulator in emulators:
            emulator.shutdown()
            emulator.server_close()


def test_the_redfish_library_switches_an_outlet_in_a_session(served):
    import redfish

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the library warns about the self-signed certificate
        client = redfish.redfish_client(
            base_url=served.base, username="admin", password=ADMIN_PASSWORD, default_prefix="/redfish/v1/"
        )
        client.login(auth="session")
        try:
            path = OUTLET + "5"
            assert (
                client.post(path + "/Actions/Outlet.PowerControl", body={"PowerState": "Off"}).status == 204
            )
            assert client.get(path).dict["PowerState"] == "Off"
            assert client.post(path + "/Actions/Outlet.PowerControl", body={"PowerState": "On"}).status == 204
            assert client.get(path).dict["PowerState"] == "On"
            locked = client.patch(path, body={"PowerControlLocked": True})
            assert locked.status == 200
            refused = client.post(path + "/Actions/Outlet.PowerControl", body={"PowerState": "Off"})
            assert refused.status == 409
            assert refused.dict["error"]["@Message.ExtendedInfo"][0]["MessageId"].startswith("Base.")
            assert client.patch(path, body={"PowerControlLocked": False}).status == 200
        finally:
            client.logout()
