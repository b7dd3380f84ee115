"""The pdudaemon listener with the released clients: pdudaemon's pduclient and labgrid's URLs."""

from __future__ import annotations

import hashlib
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support import Api, wait_for

PDUCLIENT = Path(sys.prefix) / "share" / "pdudaemon-1.1.1" / "pduclient"
FORM = "application/x-www-form-urlencoded"
TOKEN = "lab-token"
SCOPE = "/relay/outlets/=0,1/=state,cycle,physical_state/?access=get,modify,invoke"


def loopback() -> str:
    """A loopback address of its own, so pduclient's fixed port 16421 is free for this test."""
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"


def register(admin: Api, client_id: str, *scopes: str) -> None:
    body = {
        "name": client_id,
        "redirect_urls": {},
        "refresh_tokens": {},
        "scopes": dict.fromkeys(scopes, True),
        "access_tokens": {hashlib.sha256(TOKEN.encode()).hexdigest(): {}},
    }
    assert admin.put(f"/restapi/auth/clients/{client_id}/", json=body).status_code == 204


@pytest.fixture
def lab(make_app):
    """A gateway whose pdudaemon PDU `rack1` is the client `lab`, scoped to outlets 0 and 1."""

    def make(**section):
        host = loopback()
        settings = {
            "bind": f"{host}:16421",
            "tcp": True,
            "hostnames": {"rack1": {"client": "lab"}},
            **section,
        }
        app = make_app(pdudaemon=settings)
        admin = Api(app.test_client())
        register(admin, "lab", SCOPE)
        return app, admin, f"http://{host}:16421"

    return make


def pduclient(base: str, *args: str) -> subprocess.CompletedProcess:
    host = base.split("//")[1].split(":")[0]
    return subprocess.run(
        [sys.executable, str(PDUCLIENT), "--daemon", host, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def state(admin: Api, index: int) -> bool:
    return admin.get(f"/restapi/relay/outlets/{index}/physical_state/").json


@pytest.mark.parametrize("transport", [["--http"], []], ids=["http", "tcp"])
def test_pduclient_switches_and_reboots_a_port(lab, transport):
    _app, admin, base = lab()
    off = pduclient(base, *transport, "--hostname", "rack1", "--port", "1", "--command", "off")
    assert off.returncode == 0, off.stdout
    assert "Command sent successfully" in off.stdout
    assert state(admin, 0) is False
    on = pduclient(base, *transport, "--hostname", "rack1", "--port", "01", "--command", "on")
    assert on.returncode == 0, on.stdout
    assert state(admin, 0) is True
    started = time.monotonic()
    reboot = pduclient(
        base, *transport, "--hostname", "rack1", "--port", "2", "--command", "reboot", "--delay", "1"
    )
    assert reboot.returncode == 0, reboot.stdout
    assert time.monotonic() - started >= 1.0  # answered once the outlet is on again
    assert state(admin, 1) is True


@pytest.mark.parametrize("transport", [["--http"], []], ids=["http", "tcp"])
def test_pduclient_is_refused_a_port_outside_the_scopes_and_nothing_switches(lab, transport):
    app, admin, base = lab()
    refused = pduclient(base, *transport, "--hostname", "rack1", "--port", "3", "--command", "off")
    assert refused.returncode == 127
    # pduclient prints the line-protocol reason; over HTTP, the status
    assert ("403" if transport else "no modify scope covers /relay/outlets/2/state/") in refused.stdout
    assert state(admin, 2) is True
    trail = app.extensions["powerctl.audit"].tail(30)
    assert any(line.startswith("access denied for lab (lab@") and "pdudaemon" in line for line in trail)


def test_labgrids_exact_urls(lab):
    app, admin, base = lab()
    # labgrid's PDUDaemonDriver: f"http://{host}:{port}/power/control/{cmd}?hostname={pdu}&port={index}"
    off = requests.get(f"{base}/power/control/off?hostname=rack1&port=2", timeout=10)
    assert off.status_code == 200 and off.text == "OK - accepted request\n"
    assert state(admin, 1) is False
    assert requests.get(f"{base}/power/control/on?hostname=rack1&port=2", timeout=10).status_code == 200
    started = time.monotonic()
    reboot = requests.get(f"{base}/power/control/reboot?hostname=rack1&port=2&delay=1", timeout=30)
    assert reboot.status_code == 200
    assert time.monotonic() - started >= 1.0
    read = requests.get(f"{base}/power/control/get-port-state?hostname=rack1&port=2", timeout=10)
    assert read.status_code == 200 and read.json() == {"state": "on"}
    trail = app.extensions["powerctl.audit"].tail(30)
    assert any("Cycle() by client lab from 127." in line and "(pdudaemon rack1)" in line for line in trail)


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("on?hostname=nosuch&port=1", 404, "unknown hostname"),
        ("on?hostname=rack1&port=9", 404, "out of range"),
        ("on?hostname=rack1&port=0", 404, "out of range"),
        ("on?hostname=rack1", 400, "hostname and port"),
        ("reboot?hostname=rack1&port=1&delay=soon", 400, "delay"),
        ("reboot?hostname=rack1&port=1&delay=99999", 400, "delay"),
        ("explode?hostname=rack1&port=1", 404, "unknown command"),
        ("get-port-state?hostname=rack1&port=5", 403, "no get scope covers /relay/outlets/4/physical_state/"),
    ],
)
def test_refusals_are_4xx_with_one_short_line_and_change_nothing(lab, query, status, words):
    _app, admin, base = lab()
    response = requests.get(f"{base}/power/control/{query}", timeout=10)
    assert response.status_code == status
    assert words in response.text
    assert response.text.count("\n") == 1 and len(response.text) < 200
    assert [state(admin, i) for i in range(8)] == [True] * 8


def test_a_locked_outlet_is_409_and_stays_on(lab):
    _app, admin, base = lab()
    assert (
        admin.put("/restapi/relay/outlets/0/locked/", data="value=true", content_type=FORM).status_code == 204
    )
    response = requests.get(f"{base}/power/control/off?hostname=rack1&port=1", timeout=10)
    assert response.status_code == 409
    assert "locked" in response.text
    assert state(admin, 0) is True


def test_ports_by_outlet_name(lab):
    _app, admin, base = lab()
    admin.put("/restapi/relay/outlets/1/name/", data="value=router", content_type=FORM)
    assert requests.get(f"{base}/power/control/off?hostname=rack1&port=router", timeout=10).status_code == 200
    assert state(admin, 1) is False


def test_a_hostname_may_require_its_clients_token(lab):
    import base64

    _app, admin, base = lab(hostnames={"rack1": {"client": "lab", "token_required": True}})
    url = f"{base}/power/control/off?hostname=rack1&port=1"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url + "&token=bm9wZQ", timeout=10).status_code == 401
    assert state(admin, 0) is True
    token = base64.urlsafe_b64encode(TOKEN.encode()).decode().rstrip("=")
    assert requests.get(f"{url}&token={token}", timeout=10).status_code == 200
    assert state(admin, 0) is False


def test_an_address_outside_the_allowlist_is_refused(lab):
    _app, admin, base = lab(allow=["10.0.0.0/8"])
    response = requests.get(f"{base}/power/control/off?hostname=rack1&port=1", timeout=10)
    assert response.status_code == 403
    assert state(admin, 0) is True


def test_the_line_protocol_is_off_unless_switched_on(lab):
    _app, admin, base = lab(tcp=False)
    refused = pduclient(base, "--hostname", "rack1", "--port", "1", "--command", "off")
    assert refused.returncode != 0
    assert state(admin, 0) is True
    assert pduclient(base, "--http", "--hostname", "rack1", "--port", "1", "--command", "off").returncode == 0


def raw_get(host: str, target: str, source: str) -> bytes:
    with socket.create_connection((host, 16421), timeout=5, source_address=(source, 0)) as conn:
        conn.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        reply = b""
        while chunk := conn.recv(4096):
            reply += chunk
        return reply


def test_idle_and_slow_connections_cost_other_clients_nothing(lab):
    _app, admin, base = lab(header_timeout=1.0, max_connections_per_address=8)
    host = base.split("//")[1].split(":")[0]
    idle = []
    try:
        for _ in range(40):  # from one address, well past its cap of 8
            conn = socket.create_connection((host, 16421), timeout=5, source_address=("127.0.0.5", 0))
            conn.sendall(b"GET /power/control/on?hostname=ra")  # never finished
            idle.append(conn)
        started = time.monotonic()
        reply = raw_get(host, "/power/control/get-port-state?hostname=rack1&port=1", "127.0.0.6")
        assert reply.startswith(b"HTTP/1.1 200")
        assert reply.endswith(b'{"state": "on"}')
        assert time.monotonic() - started < 0.5
        # the excess was closed at once; the rest when the header timeout passed
        assert wait_for(lambda: sum(_closed(c) for c in idle) == 40, timeout=5)
    finally:
        for conn in idle:
            conn.close()
    assert [state(admin, i) for i in range(8)] == [True] * 8


def _closed(conn: socket.socket) -> bool:
    conn.settimeout(0.01)
    try:
        return conn.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True
