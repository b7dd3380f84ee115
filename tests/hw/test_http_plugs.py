"""driver = "tasmota" and "shelly" against their emulators on loopback HTTP, alone and served."""

from __future__ import annotations

import time

import pytest

import hw
from hw.drivers import shelly_emulator, tasmota_emulator
from hw.errors import HardwareConfigError
from tests.support import Api, wait_for

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def tasmota():
    device = tasmota_emulator.TasmotaDevice(relays=2, user="admin", password="plug-secret")
    server = tasmota_emulator.serve(device)
    device.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield device
    server.shutdown()
    server.server_close()


@pytest.fixture
def shelly():
    device = shelly_emulator.ShellyDevice(switches=1, password="shelly-secret")
    server = shelly_emulator.serve(device)
    device.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield device
    server.shutdown()
    server.server_close()


def tasmota_board(device, **extra) -> dict:
    return {
        "name": "plug",
        "driver": "tasmota",
        "url": device.url,
        "user": "admin",
        "password": "plug-secret",
        "relays": 2,
        "meters": True,
        "timeout": 1.0,
        **extra,
    }


def shelly_board(device, **extra) -> dict:
    return {
        "name": "shelly",
        "driver": "shelly",
        "url": device.url,
        "password": "shelly-secret",
        "relays": 1,
        "meters": True,
        "timeout": 1.0,
        **extra,
    }


@pytest.mark.parametrize("kind", ["tasmota", "shelly"])
def test_the_driver_switches_reads_back_and_meters(kind, tasmota, shelly):
    device, config = (
        (tasmota, tasmota_board(tasmota)) if kind == "tasmota" else (shelly, shelly_board(shelly))
    )
    states = device.relays if kind == "tasmota" else device.outputs
    controller = hw.build_controller({"boards": [config], "poll_interval": 0.1})
    controller.start([True] * config["relays"])
    try:
        assert wait_for(lambda: controller.physical_states() == [True] * config["relays"], timeout=5)
        assert all(states)
        controller.set_outlet(0, False)
        assert states[0] is False
        assert controller.physical_state(0) is False
        meters = controller.read_meters()
        power = next(r for i, r in meters.items() if i.endswith("power"))
        energy = next(r for i, r in meters.items() if i.endswith("total_energy"))
        assert power.unit == "W" and power.value is not None
        assert energy.unit == "J" and energy.value > 0
    finally:
        controller.close()


@pytest.mark.parametrize("kind", ["tasmota", "shelly"])
def test_a_wrong_password_keeps_the_board_offline_and_never_shows_the_password(kind, tasmota, shelly):
    config = (
        tasmota_board(tasmota, password="wrong-pw-123")
        if kind == "tasmota"
        else shelly_board(shelly, password="wrong-pw-123")
    )
    controller = hw.build_controller({"boards": [config]})
    controller.start([True] * config["relays"])
    try:
        handle = controller.board_of(0)
        assert wait_for(lambda: handle.status == "offline", timeout=5)
        assert "refused" in handle.last_error
        assert "wrong-pw-123" not in handle.last_error
    finally:
        controller.close()


def test_settings_are_checked_and_secrets_kept_out_of_errors(tasmota):
    with pytest.raises(HardwareConfigError, match="user and password go together"):
        hw.build_controller({"boards": [tasmota_board(tasmota, user=None)]})
    with pytest.raises(HardwareConfigError, match="http://HOST") as caught:
        hw.build_controller({"boards": [tasmota_board(tasmota, url="http://u:pw-in-url@x")]})
    assert "pw-in-url" not in str(caught.value)
    with pytest.raises(HardwareConfigError, match="relays"):
        hw.build_controller({"boards": [tasmota_board(tasmota, relays=9)]})


def test_served_outlets_switch_fail_and_come_back(make_app, tasmota, shelly):
    app = make_app(
        hardware={
            "poll_interval": 0.1,
            "boards": [
                tasmota_board(tasmota),
                shelly_board(shelly),
                {"name": "local", "driver": "sim", "relays": 2},
            ],
        }
    )
    admin = Api(app.test_client())
    outlets = "/restapi/relay/outlets/"
    assert wait_for(lambda: admin.get(f"{outlets}all;/physical_state/").json == [True] * 5, timeout=5)
    assert admin.put(f"{outlets}1/state/", data="value=false", content_type=FORM).status_code == 204
    assert tasmota.relays == [True, False]
    assert admin.put(f"{outlets}2/state/", data="value=false", content_type=FORM).status_code == 204
    assert shelly.outputs == [False]
    meters = admin.get("/restapi/meter/values/").json
    assert meters["plug.power"]["unit"] == "W"
    assert meters["shelly.voltage"]["value"] == 231.4

    tasmota.broken = True  # garbage answers: only its outlets are refused
    assert wait_for(lambda: admin.get("/restapi/relay/online/").json is False, timeout=5)
    refused = admin.put(f"{outlets}0/state/", data="value=false", content_type=FORM)
    assert refused.status_code == 503
    assert admin.put(f"{outlets}3/state/", data="value=false", content_type=FORM).status_code == 204
    tasmota.broken = False
    assert wait_for(lambda: admin.get("/restapi/relay/online/").json is True, timeout=5)
    assert tasmota.relays == [True, False]  # the configured states, and not the refused write
    shelly.password = "changed-on-the-device"  # the Shelly now refuses us: only its outlet is 503
    assert wait_for(lambda: admin.get("/restapi/relay/online/").json is False, timeout=5)
    assert admin.put(f"{outlets}2/state/", data="value=true", content_type=FORM).status_code == 503
    assert admin.put(f"{outlets}4/state/", data="value=false", content_type=FORM).status_code == 204
    shelly.password = "shelly-secret"
    assert wait_for(lambda: admin.get("/restapi/relay/online/").json is True, timeout=5)
    assert shelly.outputs == [False]  # its configured state, not the refused write
    lines = app.extensions["powerctl.audit"].tail(50)
    assert not any("plug-secret" in line or "shelly-secret" in line for line in lines)


def test_a_slow_plug_within_its_timeout_stays_online(make_app, tasmota):
    tasmota.delay = 0.3  # each answer takes 0.3 s; the timeout is 1 s
    app = make_app(hardware={"poll_interval": 0.2, "boards": [tasmota_board(tasmota, meters=False)]})
    admin = Api(app.test_client())
    assert wait_for(lambda: admin.get("/restapi/relay/outlets/0/physical_state/").json is True, timeout=5)
    started = time.monotonic()
    assert (
        admin.put("/restapi/relay/outlets/0/state/", data="value=false", content_type=FORM).status_code == 204
    )
    assert time.monotonic() - started < 2.0
    assert tasmota.relays[0] is False
