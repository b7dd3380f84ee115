"""The simulated board: energy integrated over time, faults on demand."""

import pytest

from hw import BoardUnavailable
from hw.drivers.sim import SimBoard
from tests.hw.helpers import deadline


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_energy_is_power_integrated_over_time():
    clock = Clock()
    sim = SimBoard("s", 8, clock=clock, seed=1)
    sim.open(deadline())
    clock.now += 10
    assert sim.read_meters(deadline())["bus.0.total_energy"].value == pytest.approx(120 * 0.05 * 10)
    sim.set_relay(0, True, deadline())
    sim.set_relay(1, True, deadline())
    clock.now += 10
    joules = sim.read_meters(deadline())["bus.0.total_energy"].value
    assert joules == pytest.approx(60 + 120 * (0.05 + 1.6) * 10)


def test_fault_makes_every_call_unavailable():
    sim = SimBoard("s")
    sim.fault = "unplugged"
    for call in (sim.open, sim.read_states, sim.read_meters):
        with pytest.raises(BoardUnavailable, match=r'board "s" \(sim://\): unplugged'):
            call(deadline())
    sim.fault = None
    with pytest.raises(BoardUnavailable, match="port is closed"):
        sim.read_states(deadline())
