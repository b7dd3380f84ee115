"""Issue 22 end to end: a gateway changes hands between two accounts of one fleet server.

Account alpha enrolls a real gateway, which syncs alpha's client; alpha transfers the gateway's
certificate to account beta, lists it as outgoing, and beta accepts it. After the notify the
gateway holds beta's client and none of alpha's, and alpha's token reaches nothing of beta's.
"""

from __future__ import annotations

import uuid as uuidlib

import pytest

from fleetserver.pki import certificate_id
from powerctl.auth.bearer import encode_token, token_hash
from tests.e2e.server_support import free_port
from tests.fleet.gateway import connect, get, start_gateway, until
from tests.fleetserver.support import FleetAdmin, make_ca, start_fleet_server

pytestmark = pytest.mark.e2e
STATE = "/restapi/relay/outlets/0/state/"


def bearer(client: str, raw: bytes) -> dict:
    return {"Authorization": f"Bearer {client}.{encode_token(raw)}"}


def accepts(gateway, headers: dict) -> int:
    conn = connect(gateway.port)
    try:
        return get(conn, STATE, headers)
    finally:
        conn.close()


def test_a_gateway_transferred_to_another_account_serves_only_its_new_owners_clients(tmp_path):
    fleet = start_fleet_server(tmp_path / "fleet")
    gateway = None
    try:
        operator = fleet.admin
        accounts = {}
        for name in ("alpha", "beta"):
            assert operator.request("POST", "/accounts", {"id": name}).status_code == 201
            token = operator.request("POST", f"/accounts/{name}/tokens").json()["token"]
            accounts[name] = FleetAdmin(operator.base, operator.verify, token)
        alpha, beta = accounts["alpha"], accounts["beta"]

        ca = make_ca("alpha's controllers")
        alpha.register_ca(ca)
        uuid, port = str(uuidlib.uuid4()), free_port()
        me = alpha.enroll(ca, uuid, notify_url=f"https://127.0.0.1:{port}/restapi/auth/fleet/notify/")
        ident = certificate_id(me.cert)
        cert, key = me.write(tmp_path / "identity", "controller")
        settings = {"url": fleet.base, "ca_file": fleet.ca_file, "cert_file": cert, "key_file": key}
        gateway = start_gateway(tmp_path / "gateway", {**settings, "poll_interval": 0}, port)
        until(lambda: gateway.status()["version"] is not None, timeout=20)

        a_client, a_raw = str(uuidlib.uuid4()), b"alpha's lab robot"
        b_client, b_raw = str(uuidlib.uuid4()), b"beta's lab robot"
        assert alpha.put_client(uuid, a_client, [token_hash(a_raw)]).status_code == 200
        until(lambda: accepts(gateway, bearer(a_client, a_raw)) == 200, timeout=15)

        # alpha offers it; it is outgoing until beta accepts
        assert alpha.set_certificate_status(ident, "INACTIVE").status_code == 200
        answer = alpha.request("POST", f"/certificates/{ident}/transfer", {"targetAccount": "beta"})
        assert answer.status_code == 200, answer.text
        (out,) = alpha.request("GET", "/certificates/outgoing").json()["outgoingCertificates"]
        assert out["certificateId"] == ident and out["transferredTo"] == "beta"
        answer = beta.request("POST", f"/certificates/{ident}/accept-transfer", {"setAsActive": True})
        assert answer.status_code == 200, answer.text
        moved = answer.json()["certificateDescription"]
        assert (moved["ownedBy"], moved["previousOwnedBy"], moved["status"]) == ("beta", "alpha", "ACTIVE")

        assert beta.put_client(uuid, b_client, [token_hash(b_raw)]).status_code == 200
        until(lambda: accepts(gateway, bearer(b_client, b_raw)) == 200, timeout=15)
        assert accepts(gateway, bearer(a_client, a_raw)) == 401
        held = gateway.status()["version"]
        assert held == beta.request("GET", f"/controllers/{uuid}").json()["version"]

        # alpha reaches nothing of beta's now
        for path in (f"/controllers/{uuid}", f"/controllers/{uuid}/clients", f"/certificates/{ident}"):
            assert alpha.request("GET", path).status_code == 404, path
        assert alpha.put_client(uuid, a_client, [token_hash(a_raw)]).status_code == 404
        assert alpha.request("GET", "/controllers").json()["controllers"] == []
        assert alpha.request("GET", "/certificates/outgoing").json()["outgoingCertificates"] == []
        assert [
            c["certificateId"] for c in alpha.request("GET", "/certificates").json()["certificates"]
        ] == []
    finally:
        if gateway is not None:
            gateway.stop()
        fleet.stop()
