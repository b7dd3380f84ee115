"""Helpers for the hw tests."""

import time

from hw.drivers.numato_emulator import NumatoEmulator

TIMEOUT = 0.3  # per-board budget in these tests; small so failures show fast
POLL = 0.05


def deadline(seconds: float = TIMEOUT) -> float:
    """A deadline for a Board call, seconds from now."""
    return time.monotonic() + seconds


def numato_entry(emulator: NumatoEmulator, name: str = "emu", **settings) -> dict:
    """A [[hardware.boards]] table for an emulated board."""
    entry = {"name": name, "driver": "numato", "url": emulator.path, "timeout": TIMEOUT}
    return {**entry, "relays": len(emulator.relays), **settings}
