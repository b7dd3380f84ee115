"""Fixtures for hw: emulated Numato boards on real ptys, and controllers that close themselves."""

import contextlib

import pytest

from hw import Controller, build_controller
from hw.drivers.numato import NUMATO_MODELS, NumatoBoard
from hw.drivers.numato_emulator import NumatoEmulator
from tests.hw.helpers import POLL, TIMEOUT, deadline


@pytest.fixture
def stack():
    """Closes what a test opened, last opened first (controllers before their emulators)."""
    with contextlib.ExitStack() as exits:
        yield exits


@pytest.fixture
def emulator(stack):
    """Make emulated Numato boards: emulator(relays=8)."""

    def make(relays: int = 8, link=None) -> NumatoEmulator:
        return stack.enter_context(NumatoEmulator(relays, link=link))

    return make


@pytest.fixture
def board(stack):
    """Open a NumatoBoard on an emulator: board(emu, timeout=..., retries=..., meters=...)."""

    def make(emu: NumatoEmulator, **settings) -> NumatoBoard:
        settings = {"name": "emu", "timeout": TIMEOUT, **settings}
        numato = NUMATO_MODELS[len(emu.relays)].from_url(emu.path, **settings)
        stack.callback(numato.close)
        numato.open(deadline(numato.timeout))
        return numato

    return make


@pytest.fixture
def controller(stack):
    """Build and start a Controller from a [hardware] table: controller(config, targets=None).

    Keywords (restore=, reapplied=) go to Controller.start.
    """

    def make(config: dict, targets=None, **listeners) -> Controller:
        built = stack.enter_context(build_controller({"poll_interval": POLL, **config}))
        built.start(targets if targets is not None else [False] * built.outlet_count, **listeners)
        return built

    return make
