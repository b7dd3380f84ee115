"""power-switch-pro, a released DLI client library, used unchanged against a served instance."""

from __future__ import annotations

import time

import pytest

import powerctl
from tests.e2e.server_support import start_server
from tests.support import ADMIN_PASSWORD

power_switch_pro = pytest.importorskip("power_switch_pro")


@pytest.fixture(scope="module")
def switch(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("psp") / "data", http=True)
    port = int(server.base.rsplit(":", 1)[1])
    yield power_switch_pro.PowerSwitchPro("127.0.0.1", "admin", ADMIN_PASSWORD, port=port)
    server.stop()


def test_outlets(switch):
    outlets = switch.outlets
    assert outlets.count() == 8
    assert outlets.off(2) and outlets.get_state(2) is False
    assert outlets.get_physical_state(2) is False
    assert outlets.on(2) and outlets.get_state(2) is True
    assert outlets.set_name(3, "Router") and outlets.get_name(3) == "Router"
    assert outlets.get_all_states() == [True] * 8
    assert outlets.get_states([1, 3]) == [True, True]
    assert [o["name"] for o in outlets.list_all()][3] == "Router"


def test_locks_and_bulk_operations(switch):
    outlets = switch.outlets
    assert outlets.set_locked(5, True) and outlets.get_locked(5) is True
    assert outlets.bulk_operation("off", locked=False)
    assert outlets.get_all_states() == [False] * 5 + [True] + [False] * 2
    with pytest.raises(power_switch_pro.exceptions.ConflictError):
        outlets.off(5)
    assert outlets.set_locked(5, False)
    assert outlets.bulk_operation("on")
    time.sleep(0.1)


def test_cycle_config_and_meters(switch):
    assert switch.outlets.cycle(1)
    assert switch.outlets.get_physical_state(1) is False
    assert switch.config.get("version") == powerctl.__version__
    assert isinstance(switch.config.get("serial"), str)
    assert switch.config.get_all()["brand_name"] == "powerctl"
    values = switch.meters.get_value("bus.0.voltage")
    assert 100 < values < 140


def test_autoping_entries(switch):
    """The entries of autoping/items/, made over the tree, then read, changed and deleted by it."""
    import requests

    session = requests.Session()
    session.auth = requests.auth.HTTPDigestAuth("admin", ADMIN_PASSWORD)
    items = f"http://127.0.0.1:{switch.port}/restapi/autoping/items/"
    for address, outlet in (("tcp://127.0.0.1:9", 1), ("192.0.2.7", 2)):
        body = {"addresses": [address], "outlets": [outlet], "enabled": False}
        assert session.post(items, json=body, headers={"X-CSRF": "x"}).status_code == 200
    autoping = switch.autoping
    entries = autoping.list_entries()
    assert [entry["addresses"] for entry in entries] == [["tcp://127.0.0.1:9"], ["192.0.2.7"]]
    assert entries[0]["status"] == "disabled" and entries[0]["tx"] == 0
    assert autoping.get_entry(1)["outlets"] == [2]
    assert autoping.update_entry(1, host="192.0.2.8", outlet=4)
    assert autoping.get_entry(1)["addresses"] == ["192.0.2.8"] and autoping.get_entry(1)["outlets"] == [4]
    assert autoping.enable_entry(0) and autoping.get_entry(0)["enabled"] is True
    assert autoping.get_entry(0)["status"] == "waiting"
    assert autoping.disable_entry(0) and autoping.get_entry(0)["status"] == "disabled"
    assert autoping.delete_entry(0)
    assert [entry["addresses"] for entry in autoping.list_entries()] == [["192.0.2.8"]]
    with pytest.raises(power_switch_pro.exceptions.APIError):
        autoping.update_entry(0, outlet=99)
    assert autoping.get_entry(0)["outlets"] == [4]
