"""A dict-backed TreeView holding a small power controller, shared by the scopes tests."""

from __future__ import annotations

import pytest

OUTLET_NAMES = ["Outlet 1", "Outlet 2", "Outlet 3", "Outlet 4", "Outlet 5", "Outlet 6", "Spare", "Spare"]
LOCKED = {2, 5}


class DictTree:
    """A TreeView over nested dicts (keyed children) and lists (indexed children)."""

    def __init__(self, root: object) -> None:
        self.root = root

    def _node(self, prefix: tuple[str, ...]) -> object:
        node = self.root
        for key in prefix:
            if isinstance(node, dict):
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                raise KeyError(key)
        return node

    def children(self, prefix: tuple[str, ...]) -> list[str] | None:
        node = self._node(prefix)
        if isinstance(node, dict):
            return list(node)
        if isinstance(node, list):
            return [str(index) for index in range(len(node))]
        return None

    def attr(self, prefix: tuple[str, ...], name: str) -> object:
        node = self._node(prefix)
        if isinstance(node, dict):
            return node[name]
        raise KeyError(name)


def _outlet(index: int) -> dict[str, object]:
    on = index % 2 == 0
    return {
        "name": OUTLET_NAMES[index],
        "state": on,
        "transient_state": on,
        "physical_state": on,
        "locked": index in LOCKED,
        "critical": index == 0,
        "cycle_delay": None,
        "cycle": None,
    }


def _meter(name: str, value: float, unit: str, quantity: str) -> dict[str, object]:
    return {"name": name, "value": value, "unit": unit, "bus": 0, "quantity": quantity}


def controller() -> DictTree:
    """Eight outlets (2 and 5 locked, 6 and 7 both named Spare) and three meter values."""
    return DictTree(
        {
            "relay": {"name": "Rack 4", "cycle_delay": 5, "outlets": [_outlet(i) for i in range(8)]},
            "meter": {
                "values": {
                    "bus.0.voltage": _meter("AC voltage", 120.5, "V", "voltage"),
                    "bus.0.current": _meter("AC current", 1, "A", "current"),
                    "bus.0.total_energy": _meter("Energy", 3600, "J", "energy"),
                }
            },
            "network": {"wireless": {"enabled": True}},
            "script": {"start": None, "stop": None},
        }
    )


@pytest.fixture
def tree() -> DictTree:
    return controller()
