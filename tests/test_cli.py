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


def test_token_new_draws_256_random_bits_and_the_forms_agree():
    first, second = run("token", "new").stdout, run("token", "new").stdout
    assert first != second
    lines = dict(line.split(":", 1) for line in first.splitlines())
    raw = bytes.fromhex(lines["raw"].split()[0])
    assert len(raw) == 32
    encoded = lines["base64url"].strip()
    assert "=" not in encoded
    assert base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)) == raw
    assert lines["sha256"].strip() == hashlib.sha256(raw).hexdigest()


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
