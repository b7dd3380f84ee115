"""network/: the sim driver, the command driver running real programs, and their errors."""

from __future__ import annotations

import sys
import time

import pytest

from powerctl import config
from tests.api.scripts_support import DAVE_SMITH, audit_lines, client
from tests.support import Api

PY = sys.executable
FORM = {"content_type": "application/x-www-form-urlencoded"}


def command_app(make_app, timeout: float = 2.0, **commands):
    return make_app(network={"driver": "command", "timeout": timeout, "commands": commands})


def prints(text: str) -> list[str]:
    return [PY, "-c", f"print({text!r})"]


def test_sim_network_serves_the_dli_leaves(admin):
    response = admin.get("/restapi/network/")
    assert response.status_code == 200
    assert response.json == {
        "wired": {
            "protocol": "dhcp",
            "ip_address": "192.0.2.10",
            "netmask": "255.255.255.0",
            "gateway": "192.0.2.1",
            "mac_address": "02:00:00:00:00:01",
        },
        "wireless": {"enabled": True, "ssid": "powerctl-sim"},
    }


def test_writes_are_validated_applied_and_audited(app, admin):
    assert admin.put("/restapi/network/wireless/enabled/", data="value=false", **FORM).status_code == 204
    assert admin.get("/restapi/network/wireless/enabled/").json is False
    assert admin.put("/restapi/network/wired/protocol/", json="static").status_code == 204
    assert admin.get("/restapi/network/wired/protocol/").json == "static"
    assert admin.put("/restapi/network/wired/protocol/", json="ppp").status_code == 400
    assert admin.put("/restapi/network/wired/ip_address/", json="10.0.0.2").status_code == 405
    lines = audit_lines(app)
    assert "Network: wireless enabled set to false by user admin from 127.0.0.1" in lines
    assert "Network: wired protocol set to static by user admin from 127.0.0.1" in lines


def test_dave_smith_may_switch_wifi_but_nothing_else(app, admin):
    dave = client(app, admin, "DaveSmith", DAVE_SMITH)
    assert dave.put("/restapi/network/wireless/enabled/", data="value=false", **FORM).status_code == 204
    assert dave.get("/restapi/network/wireless/enabled/").json is False
    assert dave.put("/restapi/network/wired/protocol/", json="static").status_code == 403
    assert dave.get("/restapi/network/wired/ip_address/").status_code == 403
    assert "Network: wireless enabled set to false by client DaveSmith from 127.0.0.1" in audit_lines(app)


def test_command_driver_reads_and_writes_through_programs(make_app, tmp_path):
    state = tmp_path / "wifi"
    state.write_text("enabled\n")
    app = command_app(
        make_app,
        get_wireless_enabled=[PY, "-c", "import sys; print(open(sys.argv[1]).read())", str(state)],
        set_wireless_enabled=[
            PY,
            "-c",
            "import sys; open(sys.argv[1], 'w').write(sys.argv[2])",
            str(state),
            "{on_off}",
        ],
        get_wired_protocol=prints("manual"),
        set_wired_protocol=[
            PY,
            "-c",
            "import sys; open(sys.argv[1], 'w').write(sys.argv[2])",
            str(tmp_path / "proto"),
            "{value}",
        ],
        get_wired_ip_address=prints("10.1.2.3/24"),
        get_wired_mac_address=prints("AA-BB-CC-DD-EE-0F"),
    )
    admin = Api(app.test_client())
    assert admin.get("/restapi/network/wireless/enabled/").json is True
    assert admin.put("/restapi/network/wireless/enabled/", json=False).status_code == 204
    assert state.read_text() == "off"
    assert admin.get("/restapi/network/wireless/enabled/").json is False
    assert admin.put("/restapi/network/wired/protocol/", json="dhcp").status_code == 204
    assert (tmp_path / "proto").read_text() == "dhcp"
    assert admin.get("/restapi/network/wired/").json == {
        "protocol": "static",
        "ip_address": "10.1.2.3",
        "netmask": None,
        "gateway": None,
        "mac_address": "aa:bb:cc:dd:ee:0f",
    }
    # no set command configured: the leaf is read-only
    assert admin.put("/restapi/network/wired/ip_address/", json="10.0.0.9").status_code == 405


def test_arguments_are_never_given_to_a_shell(make_app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = command_app(
        make_app, get_wireless_ssid=[PY, "-c", "import sys; print(sys.argv[1])", "lab; touch pwned"]
    )
    assert Api(app.test_client()).get("/restapi/network/wireless/ssid/").json == "lab; touch pwned"
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    ("argv", "code", "fragment"),
    [
        (
            [PY, "-c", "import sys; sys.stderr.write('radio busy'); sys.exit(3)"],
            503,
            "exited with status 3: radio busy",
        ),
        (["/nonexistent/nmcli", "radio", "wifi"], 503, "command /nonexistent/nmcli radio wifi could not run"),
        (prints("maybe"), 502, "answered 'maybe' for wireless.enabled: not a yes/no value"),
        ([PY, "-c", "print('on'); print('off')"], 502, "answered several lines"),
    ],
    ids=["exit-status", "missing-binary", "bad-answer", "two-lines"],
)
def test_command_failures_are_clear_503_or_502(make_app, argv, code, fragment):
    admin = Api(command_app(make_app, get_wireless_enabled=argv).test_client())
    response = admin.get("/restapi/network/wireless/enabled/")
    assert response.status_code == code
    assert fragment in response.json["message"]
    assert response.json["errors"] == {"command": argv}


def test_a_hung_command_is_cut_off_at_the_timeout(make_app):
    admin = Api(
        command_app(
            make_app, timeout=0.3, get_wireless_enabled=[PY, "-c", "import time; time.sleep(10)"]
        ).test_client()
    )
    began = time.monotonic()
    response = admin.get("/restapi/network/wireless/enabled/")
    assert time.monotonic() - began < 3
    assert response.status_code == 503 and "did not finish within 0.3 s" in response.json["message"]


def test_a_failed_write_is_503_and_not_audited_as_done(make_app):
    app = command_app(
        make_app, get_wireless_enabled=["/bin/true"], set_wireless_enabled=["/bin/false", "{value}"]
    )
    admin = Api(app.test_client())
    assert admin.get("/restapi/network/wireless/enabled/").json is None  # no output: unknown
    response = admin.put("/restapi/network/wireless/enabled/", json=True)
    assert response.status_code == 503 and "/bin/false true exited with status 1" in response.json["message"]
    assert not any(line.startswith("Network:") for line in audit_lines(app))


@pytest.mark.parametrize(
    ("network", "message"),
    [
        ({"driver": "dbus"}, "network.driver"),
        (
            {"driver": "command", "commands": {"get_wifi": ["nmcli"]}},
            "network.commands.get_wifi: unknown command",
        ),
        ({"driver": "command", "commands": {"get_wired_protocol": []}}, "must be a non-empty list"),
        ({"driver": "command", "commands": {"get_wired_protocol": "nmcli"}}, "must be a non-empty list"),
        (
            {"driver": "command", "commands": {"get_wired_protocol": ["x", "{value}"]}},
            "{value} is not a placeholder here",
        ),
        (
            {"driver": "command", "commands": {"set_wired_protocol": ["x", "{on_off}"]}},
            "{on_off} is not a placeholder here",
        ),
        (
            {"driver": "command", "commands": {"set_wired_protocol": ["x", "{value.__class__}"]}},
            "is not a placeholder here",
        ),
        ({"commands": {"get_wired_protocol": ["x"]}}, 'commands apply only to driver = "command"'),
        ({"driver": "command", "timeout": 0}, "network.timeout"),
    ],
)
def test_bad_network_settings_are_refused(network, message):
    with pytest.raises(config.ConfigError) as caught:
        config.load({"network": network})
    assert message in str(caught.value)
