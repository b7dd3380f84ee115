"""Issue 9 end to end: a real fleet server and two real gateways on loopback.

A client registered on the fleet server is accepted by both gateways after one notify each (no
polling); revoked, it is refused by both; a stale or forged bundle changes nothing; a gateway
whose certificate is revoked cannot sync.
"""

from __future__ import annotations

import subprocess
import sys
import uuid as uuidlib

import pytest

from fleetserver.pki import certificate_id
from powerctl.auth.bearer import encode_token, token_hash
from tests.e2e.server_support import free_port
from tests.fleet.gateway import connect, get, served_der, start_gateway, toml, until
from tests.fleet.support import entry, fleet_config, make_ca, result, start_responder
from tests.fleetserver.support import make_ca as make_fleet_ca
from tests.fleetserver.support import start_fleet_server

pytestmark = pytest.mark.e2e
STATE = "/restapi/relay/outlets/0/state/"
RAW = b"token for the lab robot"
CLIENT = str(uuidlib.uuid4())
BEARER = {"Authorization": f"Bearer {CLIENT}.{encode_token(RAW)}"}


@pytest.fixture
def fleet(tmp_path):
    server = start_fleet_server(tmp_path / "fleet")
    yield server
    server.stop()


@pytest.fixture
def gateways(tmp_path, fleet):
    """Two enrolled gateways, each synced once at first start; (uuid, identity, gateway)."""
    ca = make_fleet_ca("controllers' CA")
    fleet.admin.register_ca(ca)
    started = []
    for number in (1, 2):
        uuid, port = str(uuidlib.uuid4()), free_port()
        me = fleet.admin.enroll(
            ca,
            uuid,
            serial=f"7001011{number}",
            notify_url=f"https://127.0.0.1:{port}/restapi/auth/fleet/notify/",
        )
        cert, key = me.write(tmp_path / f"identity{number}", "controller")
        settings = {
            "url": fleet.base,
            "ca_file": fleet.ca_file,
            "cert_file": cert,
            "key_file": key,
            "poll_interval": 0,
        }
        started.append((uuid, me, start_gateway(tmp_path / f"gateway{number}", settings, port)))
    try:
        for _uuid, _me, gateway in started:
            until(lambda g=gateway: g.status()["version"] is not None, timeout=20)
        yield started
    finally:
        for _uuid, _me, gateway in started:
            gateway.stop()


def accepts(gateway) -> int:
    conn = connect(gateway.port)
    try:
        return get(conn, STATE, BEARER)
    finally:
        conn.close()


def sync_by_hand(tmp_path, gateway, fleet_section: dict) -> subprocess.CompletedProcess:
    config = tmp_path / "by-hand.toml"
    config.write_text(toml(fleet_section))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "powerctl.cli",
            "fleet",
            "sync",
            "--config",
            str(config),
            "--data-dir",
            str(gateway.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_fleet_credentials_reach_both_gateways_and_only_from_the_fleet(tmp_path, fleet, gateways):
    for uuid, _me, _gateway in gateways:
        assert fleet.admin.put_client(uuid, CLIENT, [token_hash(RAW)]).status_code in (200, 201, 204)
    for _uuid, _me, gateway in gateways:  # poll_interval = 0: only the notify can bring it
        until(lambda g=gateway: accepts(g) == 200, timeout=15)

    for uuid, _me, _gateway in gateways:
        assert fleet.admin.delete_client(uuid, CLIENT).status_code in (200, 204)
    for _uuid, _me, gateway in gateways:
        until(lambda g=gateway: accepts(g) == 401, timeout=15)

    # A stale bundle, then a forged one, from a server the gateway is pointed at by hand.
    first = gateways[0][2]
    held, served = first.status(), served_der(first.port)
    other_ca = make_ca("not the fleet")
    responder = start_responder(tmp_path / "responder", other_ca)
    try:
        stale = dict(result(held["version"] - 1, other_ca, clients={CLIENT: [token_hash(RAW)]}, current=[]))
        responder.answer = stale
        trusted = fleet_config(tmp_path / "responder-identity", responder, other_ca)
        done = sync_by_hand(tmp_path, first, trusted)
        assert done.returncode == 1 and "lower than the version held" in done.stderr
        forged_chain = {**entry(make_ca("fleet test CA")), "public_parent": other_ca.cert_pem}
        responder.answer = result(
            held["version"] + 1, other_ca, clients={CLIENT: [token_hash(RAW)]}, current=[forged_chain]
        )
        done = sync_by_hand(tmp_path, first, trusted)
        assert done.returncode == 1 and "public_parent does not verify" in done.stderr
        impostor = {**trusted, "ca_file": fleet.ca_file}  # a server the fleet CA did not sign
        done = sync_by_hand(tmp_path, first, impostor)
        assert done.returncode == 1 and "unreachable" in done.stderr
    finally:
        responder.stop()
    assert accepts(first) == 401
    assert first.status()["version"] == held["version"] and served_der(first.port) == served

    # A revoked certificate cannot sync: the client added afterwards never reaches gateway 2.
    uuid, me, second = gateways[1]
    revoked = fleet.admin.set_certificate_status(certificate_id(me.cert), "REVOKED")
    assert revoked.status_code in (200, 204), revoked.text
    version = second.status()["version"]
    assert fleet.admin.put_client(uuid, CLIENT, [token_hash(RAW)]).status_code in (200, 201, 204)
    code, status = second.admin("POST", "/restapi/auth/fleet/sync/")
    assert code == 200 and "REVOKED" in status["last_error"], status
    assert status["version"] == version and accepts(second) == 401
