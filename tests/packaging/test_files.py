"""The overlay's sources: the config file's defaults, the unit's hardening, users and folders."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from hw.config import parse_config
from powerctl import config

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
DEFAULT = re.compile(r"^# (\w+ = .+)$")  # "# key = value": a built-in default, commented out


def unit() -> dict[str, list[str]]:
    """The unit's settings, every value of a repeated key kept in order."""
    settings: dict[str, list[str]] = {}
    for line in (PACKAGING / "powerctl.service").read_text().splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def test_the_config_file_loads_and_binds_the_device_port(tmp_path):
    loaded = config.load({"data_dir": str(tmp_path)}, PACKAGING / "powerctl.toml")
    assert loaded["server"]["bind"] == "0.0.0.0:443"


def test_every_commented_default_is_the_built_in_default(tmp_path):
    text = (PACKAGING / "powerctl.toml").read_text()
    uncommented = "\n".join(DEFAULT.sub(r"\1", line) for line in text.splitlines())
    defaults = [line for line in text.splitlines() if DEFAULT.match(line)]
    assert len(defaults) >= 15
    (tmp_path / "all.toml").write_text(uncommented)
    shipped, spelled_out = (
        config.load({"data_dir": str(tmp_path)}, path)
        for path in (PACKAGING / "powerctl.toml", tmp_path / "all.toml")
    )
    # [hardware] stays a plain table until hw parses it, with its own defaults
    assert parse_config(spelled_out.pop("hardware")) == parse_config(shipped.pop("hardware"))
    assert spelled_out == shipped


def test_the_unit_runs_serve_unprivileged_with_data_in_var_lib():
    settings = unit()
    argv = shlex.split(settings["ExecStart"][0])
    assert argv[:2] == ["/opt/powerctl/bin/powerctl", "serve"]
    assert argv[argv.index("--config") + 1] == "/etc/powerctl/powerctl.toml"
    assert argv[argv.index("--data-dir") + 1] == "/var/lib/powerctl"
    assert settings["User"] == ["powerctl"] and settings["SupplementaryGroups"] == ["dialout"]
    assert settings["StateDirectory"] == ["powerctl"]
    assert settings["Restart"] == ["on-failure"]


def test_the_unit_is_hardened_and_keeps_only_the_port_and_icmp_capabilities():
    settings = unit()
    for key, value in {
        "ProtectSystem": "strict",
        "NoNewPrivileges": "yes",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ReadWritePaths": "/var/lib/powerctl",
        "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE CAP_NET_RAW",
        "AmbientCapabilities": "CAP_NET_BIND_SERVICE CAP_NET_RAW",
        "DevicePolicy": "closed",
        "RestrictSUIDSGID": "yes",
    }.items():
        assert settings[key] == [value], key
    assert "char-ttyACM rw" in settings["DeviceAllow"]
    assert "PrivateDevices" not in settings  # it would hide the serial ports


def test_sysusers_and_tmpfiles_make_the_user_and_its_private_data_directory():
    users = (PACKAGING / "sysusers.conf").read_text().splitlines()
    assert any(shlex.split(line)[:2] == ["u", "powerctl"] for line in users if line[:1] == "u")
    folders = [
        shlex.split(line)
        for line in (PACKAGING / "tmpfiles.conf").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert ["d", "/var/lib/powerctl", "0700", "powerctl", "powerctl", "-"] in folders
