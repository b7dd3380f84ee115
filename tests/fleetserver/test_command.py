"""The fleet server is its own program: its command, and the gateway's alias that only runs it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def imported_names(tree: ast.AST) -> list[str]:
    """Every module an import statement or an import_module/__import__ call names."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.append(str(node.args[0].value))
    return names


def test_no_gateway_module_imports_the_fleet_server():
    offenders = [
        f"{path.relative_to(REPO)}: {name}"
        for path in sorted((REPO / "powerctl").rglob("*.py"))
        for name in imported_names(ast.parse(path.read_text(), str(path)))
        if name == "fleetserver" or name.startswith("fleetserver.")
    ]
    assert offenders == []


def test_the_check_sees_a_lazy_import():
    lazy = "def f():\n    from fleetserver.app import create_app\n    import importlib\n"
    lazy += "    importlib.import_module('fleetserver.serve')\n"
    assert imported_names(ast.parse(lazy)) == ["fleetserver.app", "importlib", "fleetserver.serve"]


# What the fleet server takes of the gateway: the wire contract, and the HTTP plumbing both
# servers share (error envelope, OpenAPI route, TLS helpers, the event-loop server, logging).
GATEWAY_MODULES = {
    "powerctl.fleet.contract",
    "powerctl.errors",
    "powerctl.openapi",
    "powerctl.tls",
    "powerctl.httpd",
    "powerctl.serve",
}


def gateway_modules(tree: ast.AST) -> set[str]:
    """The powerctl modules a module imports (`from powerctl import tls` names powerctl.tls)."""
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("powerctl")
        ):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                as_module = REPO / (full.replace(".", "/") + ".py")
                found.add(full if as_module.exists() or as_module.with_suffix("").is_dir() else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("powerctl")}
    return found


def test_the_fleet_server_takes_only_the_contract_and_the_shared_plumbing_of_the_gateway():
    used = {
        name: str(path.relative_to(REPO))
        for path in sorted((REPO / "fleetserver").rglob("*.py"))
        for name in gateway_modules(ast.parse(path.read_text(), str(path)))
    }
    assert set(used) - GATEWAY_MODULES == set(), used
    assert "powerctl.fleet.contract" in used


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60, check=False)


def test_powerctl_fleet_serve_runs_the_fleet_servers_command_with_every_argument():
    alias = run("-m", "powerctl.cli", "fleet", "serve", "--bind", "127.0.0.1:1", "--notify-retry", "-1")
    own = run("-m", "fleetserver", "serve", "--bind", "127.0.0.1:1", "--notify-retry", "-1")
    assert alias.returncode == own.returncode == 2
    assert alias.stderr == own.stderr and "--notify-retry must be 0 or more seconds" in own.stderr
    helped = run("-m", "powerctl.cli", "fleet", "serve", "--help")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: powerctl-fleet serve")
