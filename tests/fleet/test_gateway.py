"""A real `powerctl serve` process syncing from the responder: tokens and certificate swaps."""

from __future__ import annotations

import http.client
import ssl
import subprocess
import sys

import pytest

from powerctl.auth.bearer import encode_token
from powerctl.store import Database
from tests.fleet.gateway import (
    NOTIFY,
    call,
    connect,
    get,
    notify_body,
    peer_authorization,
    peer_context,
    served_der,
    start_gateway,
    until,
)
from tests.fleet.support import (
    CLIENT_RAW,
    CLIENT_UUID,
    PEER_TOKEN,
    PEER_UUID,
    entry,
    fleet_config,
    result,
)

pytestmark = pytest.mark.e2e
CLIENT = {"Authorization": f"Bearer {CLIENT_UUID}.{encode_token(CLIENT_RAW)}"}
PEER = {
    "Authorization": f"Bearer {PEER_UUID}.{encode_token(PEER_TOKEN.encode())}",
    "Content-Type": "application/json",
}
STATE = "/restapi/relay/outlets/0/state/"


@pytest.fixture
def gateway(tmp_path, responder, ca):
    started = []

    def start():
        fleet = fleet_config(tmp_path / "identity", responder, ca, poll_interval=0)
        started.append(start_gateway(tmp_path / "gateway", fleet))
        return started[-1]

    yield start
    for running in started:
        running.stop()


def test_synced_token_is_accepted_then_refused_after_a_sync_that_drops_it(gateway, responder, ca):
    responder.answer = result(1, ca)
    running = gateway()
    conn = connect(running.port)
    until(lambda: get(conn, STATE, CLIENT) == 200)  # the first-start sync has landed
    responder.answer = result(2, ca, clients={})
    assert call(conn, "POST", NOTIFY, PEER, notify_body(2))[0] == 200
    until(lambda: get(conn, STATE, CLIENT) == 401)
    conn.close()
    assert [request["params"] for _, request, _ in responder.calls[:2]] == [{}, {"version": 1}]
    status = running.status()
    assert status["version"] == 2 and status["last_error"] is None


def test_certificate_swap_keeps_an_open_keep_alive_connection(gateway, responder, ca):
    first, second = entry(ca, "first"), entry(ca, "second")
    responder.answer = result(1, ca, current=[first, second])
    running = gateway()
    first_der = ssl.PEM_cert_to_DER_cert(first["certificate"])
    until(lambda: served_der(running.port) == first_der)
    conn = connect(running.port)
    sock = conn.sock
    assert get(conn, STATE, CLIENT) == 200
    responder.answer = result(2, ca, current=[second])
    assert call(conn, "POST", NOTIFY, PEER, notify_body(2))[0] == 200
    second_der = ssl.PEM_cert_to_DER_cert(second["certificate"])
    # poll the open connection meanwhile, so gunicorn's keep-alive timeout never closes it
    until(lambda: served_der(running.port) == second_der, keep_alive=lambda: get(conn, STATE, CLIENT))
    assert get(conn, STATE, CLIENT) == 200
    assert conn.sock is sock and sock.getpeercert(binary_form=True) == first_der
    conn.close()


def test_a_sync_by_hand_beside_the_server_changes_what_it_serves(gateway, responder, ca):
    first, second = entry(ca, "first"), entry(ca, "second")
    responder.answer = result(1, ca, current=[first])
    running = gateway()
    until(lambda: served_der(running.port) == ssl.PEM_cert_to_DER_cert(first["certificate"]))
    responder.answer = result(2, ca, clients={}, current=[second])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "powerctl.cli",
            "fleet",
            "sync",
            "--config",
            str(running.config),
            "--data-dir",
            str(running.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert served_der(running.port) == ssl.PEM_cert_to_DER_cert(second["certificate"])
    conn = connect(running.port)
    assert get(conn, STATE, CLIENT) == 401  # the other process's sync is seen at once
    conn.close()


def test_a_peer_verifies_the_served_certificate_with_the_synced_chain(gateway, responder, ca):
    responder.answer = result(1, ca)
    running = gateway()
    until(
        lambda: (
            (running.data_dir / "tls" / "fleet" / "parent.pem").exists() and running.status()["version"] == 1
        )
    )
    # This gateway calls a peer (itself, here) the way any synced controller would.
    conn = http.client.HTTPSConnection(
        "127.0.0.1", running.port, timeout=10, context=peer_context(running.data_dir)
    )
    db = Database(running.data_dir / "powerctl.db")
    try:
        assert get(conn, STATE, {"Authorization": peer_authorization(db, PEER_UUID)}) == 200
    finally:
        conn.close()
        db.close()
    untrusted = ssl.create_default_context(cafile=str(running.data_dir / "tls" / "cert.pem"))
    with pytest.raises(ssl.SSLCertVerificationError):
        http.client.HTTPSConnection("127.0.0.1", running.port, timeout=10, context=untrusted).connect()


def test_restarted_with_the_fleet_server_down_it_serves_what_it_holds(gateway, responder, ca):
    current = entry(ca, "held")
    responder.answer = result(1, ca, current=[current])
    running = gateway()
    until(lambda: running.status()["version"] == 1)
    running.stop()
    responder.stop()
    again = gateway()  # same data directory and config
    assert served_der(again.port) == ssl.PEM_cert_to_DER_cert(current["certificate"])
    until(lambda: again.status()["last_error"] is not None)
    status = again.status()
    assert status["version"] == 1 and "unreachable" in status["last_error"]
    conn = connect(again.port)
    assert get(conn, STATE, CLIENT) == 200
    conn.close()


def connect_as(port: int, pair, folder) -> http.client.HTTPSConnection:
    """An HTTPS connection presenting `pair` as its client certificate."""
    context = ssl._create_unverified_context()
    context.load_cert_chain(*pair.write(folder, "client"))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    conn.connect()
    return conn


def test_a_peer_notifies_with_a_client_certificate_the_fleet_chain_verifies(gateway, responder, ca, tmp_path):
    responder.answer = result(1, ca)
    running = gateway()
    until(lambda: running.status()["version"] == 1)
    json_only = {"Content-Type": "application/json"}
    responder.answer = result(2, ca)

    conn = connect_as(running.port, ca.issue(PEER_UUID), tmp_path / "peer")
    code, body = call(conn, "POST", NOTIFY, json_only, notify_body(2))
    conn.close()
    assert code == 200 and body["result"] == {"version": 1}, body
    until(lambda: running.status()["version"] == 2)

    conn = connect_as(running.port, ca.issue(CLIENT_UUID), tmp_path / "not-a-peer")
    code, body = call(conn, "POST", NOTIFY, json_only, notify_body(3))
    conn.close()
    assert code == 403 and "does not name a fleet peer" in body["message"]

    conn = connect(running.port)  # no certificate and no token: as before, 401
    assert call(conn, "POST", NOTIFY, json_only, notify_body(3))[0] == 401
    conn.close()

    from tests.fleet.support import make_ca

    stranger = make_ca("not the fleet").issue(PEER_UUID)
    with pytest.raises(OSError):  # the chain does not verify it: the handshake fails
        conn = connect_as(running.port, stranger, tmp_path / "stranger")
        try:  # with TLS 1.3 the client learns it when it reads
            call(conn, "POST", NOTIFY, json_only, notify_body(3))
        finally:
            conn.close()
    until(lambda: f"client certificate '{CLIENT_UUID}' names no fleet peer" in running.log.read_text())
    assert f"Fleet notify from peer fleet ({PEER_UUID}@127.0.0.1, certificate)" in running.log.read_text()
    assert running.status()["version"] == 2
