"""The wire contract is written once (powerctl/fleet/contract.py) and spoken by both sides."""

from __future__ import annotations

import ast
from pathlib import Path

from powerctl.fleet import contract

REPO = Path(__file__).resolve().parents[2]
WIRE_WORDS = {contract.SYNC, contract.NOTIFY}


def spelled_out(path: Path) -> list[str]:
    """Method names, and envelopes with an "api" key, written in a module by hand."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and node.value in WIRE_WORDS:
            found.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value}")
        elif isinstance(node, ast.Dict) and any(
            isinstance(key, ast.Constant) and key.value == "api" for key in node.keys
        ):
            found.append(f"{path.relative_to(REPO)}:{node.lineno}: an envelope")
    return found


def test_neither_side_writes_the_contract_by_hand():
    modules = [*(REPO / "powerctl").rglob("*.py"), *(REPO / "fleetserver").rglob("*.py")]
    found = [hit for path in sorted(modules) if path.name != "contract.py" for hit in spelled_out(path)]
    assert found == []


def test_a_built_bundle_is_what_the_schema_loads():
    uuid = "0f0e0d0c-0b0a-4908-8706-050403020100"
    built = contract.bundle(7, {uuid: ["a" * 64]}, {uuid: ("fleet", ["t" * 32])}, [("C", "K", "P")])
    assert built == {
        "clients": {uuid: ["a" * 64]},
        "peers": {uuid: {"id": "fleet", "tokens": ["t" * 32]}},
        "current": [{"certificate": "C", "private": "K", "public_parent": "P"}],
        "version": 7,
    }
    assert contract.BundleSchema().load(built) == built


def test_calls_and_answers_have_the_references_shape():
    assert contract.sync_call(None)["params"] == {} and contract.sync_call(4)["params"] == {"version": 4}
    call = contract.notify_call(9)
    assert set(call) == {"id", "api", "method", "params"} and call["api"] == "3"
    assert contract.answer(call["id"], contract.NOTIFY, {"version": 9})["error"] is None
    error = contract.error_answer(1, contract.SYNC, contract.REFUSED, "no")
    assert error == {
        "error": {"code": 403, "message": "no"},
        "method": contract.SYNC,
        "id": 1,
        "result": None,
    }
    assert contract.peer_authorization("p", "tok") == "Bearer p.dG9r"
