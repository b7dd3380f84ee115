"""The powerctl command: token forms and client management against a data directory."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys

import pytest

import powerctl
from tests.support import Api


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "powerctl.cli", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_token_new_with_raw_text_prints_the_dli_recipe():
    result = run("token", "new", "--raw", "Hello")
    assert result.returncode == 0
    assert "SGVsbG8\n" in result.stdout
    assert "185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969" in result.stdout


def _forms(output: str) -> dict:
    return {key: value.strip() for key, value in (line.split(":", 1) for line in output.splitlines())}


def test_token_new_draws_256_random_bits_and_prints_what_it_hashed():
    first, second = run("token", "new").stdout, run("token", "new").stdout
    assert first != second
    forms = _forms(first)
    raw = forms["raw"].encode()
    assert len(base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))) == 32  # 256 random bits
    encoded = forms["base64url"]
    assert "=" not in encoded
    assert base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)) == raw
    assert forms["sha256"] == hashlib.sha256(raw).hexdigest()
    # the printed raw form is DLI's TOKEN_RAW_DATA: given back, it yields the same forms
    assert _forms(run("token", "new", "--raw", forms["raw"]).stdout) == forms


def test_token_new_refuses_an_empty_raw_text():
    result = run("token", "new", "--raw", "")
    assert result.returncode == 2
    assert "--raw" in result.stderr
    assert result.stdout == ""


def test_client_put_list_delete_work_on_the_data_directory(tmp_path, monkeypatch):
    data = str(tmp_path / "data")
    digest = hashlib.sha256(b"Hello").hexdigest()
    put = run(
        "client",
        "--data-dir",
        data,
        "put",
        "lab",
        "--scope",
        "/relay/outlets/=1,3/state/?access=get",
        "--token-hash",
        digest,
        "--uses",
        "2",
    )
    assert put.returncode == 0, put.stderr
    listed = run("client", "--data-dir", data, "list").stdout
    assert "lab (name lab): tokens: 2 uses left" in listed
    assert "/relay/outlets/=1,3/state/?access=get" in listed

    monkeypatch.setenv("POWERCTL_ADMIN_PASSWORD", "pw")
    app = powerctl.create_app({"data_dir": data})
    try:
        client = Api(app.test_client(), bearer="lab.SGVsbG8")
        assert client.get("/restapi/relay/outlets/=1,3/state/").status_code == 207
        assert client.get("/restapi/relay/outlets/2/state/").status_code == 403
        assert run("client", "--data-dir", data, "delete", "lab").returncode == 0
        assert client.get("/restapi/relay/outlets/=1,3/state/").status_code == 401
    finally:
        powerctl.shutdown(app)
    assert run("client", "--data-dir", data, "delete", "lab").returncode == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["put", "bad-id", "--scope", "/", "--token-hash", "0" * 64], "letters and digits"),
        (["put", "lab", "--scope", "/relay/outlets/all;;/", "--token-hash", "0" * 64], "column"),
        (["put", "lab", "--scope", "/", "--token-hash", "XYZ"], "64 lowercase hex"),
        (["put", "lab", "--scope", "/", "--token-hash", "0" * 64, "--uses", "-1"], "--uses must be"),
        (["put", "lab", "--scope", "/", "--token-hash", "0" * 64, "--uses", str(2**63)], "from 0 to 92233"),
        (["put", "lab", "--scope", "/", "--token-hash", "0" * 64, "--uses", "9" * 5000], "invalid int"),
    ],
)
def test_client_put_refuses_bad_input_and_stores_nothing(tmp_path, args, needle):
    data = str(tmp_path / "data")
    result = run("client", "--data-dir", data, *args)
    assert result.returncode == 2
    assert needle in result.stderr
    assert run("client", "--data-dir", data, "list").stdout == ""


def _put(data: str, client: str, *scopes: str) -> subprocess.CompletedProcess:
    args = [arg for scope in scopes or ("/relay/outlets/0/state/",) for arg in ("--scope", scope)]
    return run("client", "put", client, *args, "--token-hash", "0" * 64, "--data-dir", data)


def test_validation_errors_name_the_option_not_a_field_path(tmp_path):
    result = run(
        "client",
        "--data-dir",
        str(tmp_path),
        "put",
        "lab",
        "--scope",
        "/",
        "--token-hash",
        "0" * 64,
        "--name",
        "n" * 100,
    )
    assert result.returncode == 2
    assert "--name: " in result.stderr
    assert "access_tokens" not in result.stderr
    assert "remaining_use_count" not in result.stderr


def test_data_dir_is_accepted_after_the_subcommand_too(tmp_path):
    data = str(tmp_path / "data")
    assert _put(data, "lab").returncode == 0
    for args in (["client", "list", "--data-dir", data], ["client", "--data-dir", data, "list"]):
        listed = run(*args)
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.startswith("lab (name lab)")


def test_commands_that_only_read_refuse_a_missing_data_directory(tmp_path):
    missing = tmp_path / "no" / "such"
    for args in (
        ["client", "list"],
        ["denied", "list"],
        ["client", "delete", "lab"],
        ["denied", "lift", "x"],
    ):
        result = run(*args, "--data-dir", str(missing))
        assert result.returncode == 2, args
        assert "no gateway data in" in result.stderr
    assert not missing.exists() and not missing.parent.exists()


def test_client_list_into_a_closed_pipe_ends_quietly(tmp_path):
    data = str(tmp_path / "data")
    # more than a pipe buffer of output, so the writer meets the closed pipe
    scopes = [f"/relay/outlets/{n}/=name,state,physical_state/?access=get" for n in range(2000)]
    assert _put(data, "lab", *scopes).returncode == 0
    listing = subprocess.Popen(
        [sys.executable, "-m", "powerctl.cli", "client", "list", "--data-dir", data],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert listing.stdout.readline().startswith(b"lab (name lab)")
    listing.stdout.close()
    _, err = listing.communicate(timeout=60)
    assert b"Traceback" not in err and b"BrokenPipe" not in err
    assert listing.returncode == 141


def test_denied_ids_are_listed_lifted_and_every_change_is_audited(tmp_path):
    from powerctl.store import Database

    data = str(tmp_path / "data")
    assert _put(data, "lab").returncode == 0
    assert run("client", "delete", "lab", "--data-dir", data).returncode == 0
    listed = run("denied", "list", "--data-dir", data)
    assert listed.returncode == 0
    assert listed.stdout.startswith("lab (denied ")
    again = _put(data, "lab")
    assert again.returncode == 0
    assert "stays refused" in again.stderr or "stay refused" in again.stderr
    assert "powerctl denied lift lab" in again.stderr
    lift = run("denied", "lift", "lab", "--data-dir", data)
    assert lift.returncode == 0, lift.stderr
    assert run("denied", "list", "--data-dir", data).stdout == ""
    assert run("denied", "lift", "lab", "--data-dir", data).returncode == 1
    db = Database(str(tmp_path / "data" / "powerctl.db"))
    try:
        lines = [line for _, line in db.audit_tail(20)]
    finally:
        db.close()
    assert "Client lab registered by the command line (1 scope, 1 token)" in lines
    assert "Client lab deleted with its tokens and denied by the command line" in lines
    assert any(
        line.startswith("Client lab registered by the command line (1 scope, 1 token) (denied")
        for line in lines
    )
    assert "Denial of lab lifted by the command line" in lines


def test_help_lists_every_command_without_markup():
    result = run("--help")
    assert result.returncode == 0
    for command in ("serve", "token", "client", "denied", "fleet"):
        assert f"    {command} " in result.stdout or f"    {command}\n" in result.stdout
    assert "`" not in result.stdout
    put_help = run("client", "put", "--help").stdout
    assert "--scope SCOPE" in put_help and "repeat" in put_help
    assert "--token-hash SHA256" in put_help


@pytest.mark.parametrize("bind", ["nonsense", "127.0.0.1:", "127.0.0.1:70000", ":8443"])
def test_serve_refuses_a_bind_without_a_usable_port_and_makes_no_files(tmp_path, bind):
    data = tmp_path / "data"
    result = run("serve", "--bind", bind, "--data-dir", str(data))
    assert result.returncode == 2
    assert "bind" in result.stderr and "HOST:PORT" in result.stderr
    assert "serving" not in result.stderr
    assert not data.exists()


def test_serve_on_a_port_in_use_says_so_at_once_and_makes_no_files(tmp_path):
    import socket

    data = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--http", "--bind", f"127.0.0.1:{port}", "--data-dir", str(data))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "in use" in result.stderr
    assert not data.exists()
