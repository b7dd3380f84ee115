"""`powerctl user add|passwd|list|delete` against a data directory: piped passwords, audit lines."""

from __future__ import annotations

import subprocess
import sys

import pytest

import powerctl
from powerctl.store import Database
from powerctl.store import users as store
from tests.support import ADMIN_PASSWORD, Api


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "powerctl.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A data directory the server has started on once (its admin exists)."""
    monkeypatch.setenv("POWERCTL_ADMIN_PASSWORD", ADMIN_PASSWORD)
    folder = tmp_path / "data"
    powerctl.shutdown(powerctl.create_app({"data_dir": str(folder), "testing": True}))
    return folder


def changes(folder) -> list[str]:
    db = Database(folder / "powerctl.db")
    return [line for _, line in db.connection().execute("SELECT at, line FROM audit_events")]


def test_add_reads_a_piped_password_and_the_server_accepts_it(data):
    result = run("user", "add", "ops", "--outlets", "0,2", "--data-dir", str(data), stdin="piped-pass-1\n")
    assert result.returncode == 0, result.stderr
    assert "piped-pass-1" not in result.stdout + result.stderr
    listing = run("user", "list", "--data-dir", str(data))
    assert listing.stdout.splitlines() == ["admin (admin)", "ops (outlets 0,2)"]
    record = store.user(Database(data / "powerctl.db"), "ops")
    assert record.outlet_access == (True, False, True)
    assert "piped-pass-1" not in record.ha1
    app = powerctl.create_app({"data_dir": str(data), "testing": True})
    try:
        ops = Api(app.test_client(), user="ops", password="piped-pass-1")
        assert ops.get("/restapi/relay/outlets/2/name/").status_code == 200
        assert ops.get("/restapi/relay/outlets/1/name/").status_code == 403
    finally:
        powerctl.shutdown(app)
    assert "User ops created by the command line (user, outlets 0,2)" in changes(data)


def test_add_admin_passwd_and_delete_are_audited(data):
    assert (
        run("user", "add", "root2", "--admin", "--data-dir", str(data), stdin="root2-pass\n").returncode == 0
    )
    assert run("user", "passwd", "root2", "--data-dir", str(data), stdin="root2-pass-b\n").returncode == 0
    assert run("user", "delete", "root2", "--data-dir", str(data)).returncode == 0
    lines = changes(data)
    assert "User root2 created by the command line (admin)" in lines
    assert "User root2 password changed by the command line" in lines
    assert "User root2 deleted by the command line" in lines
    assert not any("root2-pass" in line for line in lines)


def test_refusals_change_nothing(data):
    before = store.user(Database(data / "powerctl.db"), "admin").ha1
    for password in ("1234", "short"):
        refused = run("user", "passwd", "admin", "--data-dir", str(data), stdin=password + "\n")
        assert refused.returncode == 1 and "password refused" in refused.stderr
    assert store.user(Database(data / "powerctl.db"), "admin").ha1 == before
    last = run("user", "delete", "admin", "--data-dir", str(data))
    assert last.returncode == 1 and "last admin" in last.stderr
    assert run("user", "passwd", "nobody", "--data-dir", str(data), stdin="long-enough\n").returncode == 1
    assert run("user", "add", "admin", "--data-dir", str(data), stdin="long-enough\n").returncode == 1
    assert run("user", "add", "bad name", "--data-dir", str(data), stdin="long-enough\n").returncode == 2


def test_no_password_on_the_command_line_and_no_new_data_directory(tmp_path):
    assert run("user", "add", "x", "--password", "secret-pass").returncode == 2
    missing = run("user", "list", "--data-dir", str(tmp_path / "none"))
    assert missing.returncode == 2 and not (tmp_path / "none").exists()


def _wait_for_echo_off(fd: int) -> None:
    """Until getpass has turned echo off on the terminal (the master shows the slave's modes)."""
    import termios
    import time

    deadline = time.monotonic() + 10
    while termios.tcgetattr(fd)[3] & termios.ECHO and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.05)  # and is reading


def _on_a_terminal(args: list[str], answers: list[str]) -> tuple[int, str]:
    """Run powerctl with a pseudo-terminal as its terminal, answering each prompt in turn."""
    import os
    import pty
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        os.execv(sys.executable, [sys.executable, "-m", "powerctl.cli", *args])
    output, deadline = b"", time.monotonic() + 60
    pending = list(answers)
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(fd, 1024)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
                if pending and output.rstrip().endswith(b":"):
                    _wait_for_echo_off(fd)
                    os.write(fd, pending.pop(0).encode() + b"\n")
                    output += b"\n"
    finally:
        for _ in range(100):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, 9)
            _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def test_on_a_terminal_the_password_is_asked_twice_and_not_echoed(data):
    code, shown = _on_a_terminal(
        ["user", "passwd", "admin", "--data-dir", str(data)], ["typed-pass-1", "typed-pass-1"]
    )
    assert code == 0, shown
    assert "new password for admin:" in shown and "again:" in shown
    assert "typed-pass-1" not in shown
    app = powerctl.create_app({"data_dir": str(data), "testing": True})
    try:
        assert Api(app.test_client(), password="typed-pass-1").get("/restapi/relay/name/").status_code == 200
    finally:
        powerctl.shutdown(app)
    differ, shown = _on_a_terminal(
        ["user", "passwd", "admin", "--data-dir", str(data)], ["one-pass-1", "two-pass-2"]
    )
    assert differ == 1 and "differ" in shown
