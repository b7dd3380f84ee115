"""setup.cfg holds the metadata. This file only makes the device wheel (docs/firmware.md).

With POWERCTL_WHEEL=device (packaging/build.py sets it) the wheel carries the gateway alone:
no `fleetserver` package, no `powerctl-fleet` command and no `fleet` extra. Anything else
(pip install ., -e ., a plain sdist) holds the fleet server too.
"""

import configparser
import os
from pathlib import Path

from setuptools import find_namespace_packages, setup

FLEET_SERVER = "fleetserver"


def device_options() -> dict:
    """setup.cfg's packages, scripts and extras, less the fleet server's."""
    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).with_name("setup.cfg"), encoding="utf-8")

    def lines(section: str, key: str) -> list[str]:
        return [line.strip() for line in cfg[section][key].splitlines() if line.strip()]

    def ours(name: str) -> bool:
        return name.split(".")[0].split(" ")[0] != FLEET_SERVER

    include = [name for name in lines("options.packages.find", "include") if ours(name)]
    scripts = [
        s for s in lines("options.entry_points", "console_scripts") if ours(s.partition("=")[2].strip())
    ]
    extras = {
        extra: lines("options.extras_require", extra)
        for extra in cfg["options.extras_require"]
        if extra != "fleet"
    }
    return {
        "packages": find_namespace_packages(include=include, exclude=["*.__pycache__"]),
        "entry_points": {"console_scripts": scripts},
        "extras_require": extras,
    }


setup(**(device_options() if os.environ.get("POWERCTL_WHEEL") == "device" else {}))
