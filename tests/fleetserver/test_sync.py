"""Which certificate gets which bundle: the sync logic on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from fleetserver.errors import Refused
from fleetserver.sync import sync
from tests.fleetserver.support import make_ca

C1 = "95d8cd00-5bba-46e5-ae33-f1e4b2d65e6e"
CLIENT = "708e3376-5cb1-4fa8-923f-cda75b9e9e33"
PEER = "c89723f7-03a3-423d-a556-7eba4270d064"
H1 = hashlib.sha256(b"one").hexdigest()
SYNC = {"id": "_ID_", "api": "3", "method": "cloud.access_keys_controller_sync", "params": {}}


def der(issued) -> bytes:
    return issued.cert.public_bytes(serialization.Encoding.DER)


class Fleet:
    def __init__(self, app, admin):
        self.state = app.extensions["powerctl.fleet"]
        self.admin = admin
        self.ca = make_ca()
        code = admin.get("/registration-code").json["registrationCode"]
        answer = admin.post(
            "/ca-certificates",
            json={
                "caCertificate": self.ca.cert_pem,
                "setAsActive": True,
                "verificationCertificate": self.ca.verification_certificate(code),
            },
        )
        self.ca_id = answer.json["certificateId"]

    def enroll(self, uuid=C1, status="ACTIVE", key=None):
        self.admin.post("/controllers", json={"uuid": uuid, "serial": "70010111"})
        me = self.ca.issue(uuid, key=key)
        answer = self.admin.post("/certificates", json={"certificatePem": me.cert_pem, "status": status})
        return me, answer

    def sync(self, issued):
        return sync(self.state.db, der(issued), self.state.fleet_peer, self.state.chain)

    def status(self, issued):
        ident = issued.cert.fingerprint(hashes.SHA256()).hex()
        answer = self.admin.get(f"/certificates/{ident}")
        return answer.json["certificateDescription"]["status"] if answer.status_code == 200 else None


@pytest.fixture
def fleet(fleet_app, admin):
    return Fleet(fleet_app, admin)


def test_an_active_certificate_gets_the_reference_shaped_bundle(fleet):
    me, _ = fleet.enroll()
    fleet.admin.put(f"/controllers/{C1}/clients/{CLIENT}", json={"tokens": [H1]})
    fleet.admin.put(
        f"/controllers/{C1}/peers/{PEER}", json={"id": "70010112", "tokens": ["peer-token-0123456789"]}
    )
    result = fleet.sync(me)
    assert set(result) == {"clients", "peers", "current", "version"}
    assert result["version"] == 3
    assert result["clients"] == {CLIENT: [H1]}
    fleet_token = result["peers"][fleet.state.fleet_peer]
    assert fleet_token["id"] == "fleet" and len(fleet_token["tokens"]) == 1
    assert result["peers"][PEER] == {"id": "70010112", "tokens": ["peer-token-0123456789"]}
    (current,) = result["current"]
    server = x509.load_pem_x509_certificate(current["certificate"].encode())
    chain = x509.load_pem_x509_certificate(current["public_parent"].encode())
    server.verify_directly_issued_by(chain)
    key = serialization.load_pem_private_key(current["private"].encode(), None)
    assert key.public_key().public_numbers() == server.public_key().public_numbers()


def test_the_same_version_still_gets_the_whole_bundle(fleet):
    me, _ = fleet.enroll()
    assert fleet.sync(me) == fleet.sync(me)


@pytest.mark.parametrize("status", ["INACTIVE", "REVOKED", "PENDING_ACTIVATION"])
def test_only_active_certificates_sync(fleet, status):
    me, _ = fleet.enroll(status=status)
    with pytest.raises(Refused, match=status):
        fleet.sync(me)


def test_an_inactive_ca_stops_its_certificates(fleet):
    me, _ = fleet.enroll()
    fleet.admin.put(f"/ca-certificates/{fleet.ca_id}", json={"newStatus": "INACTIVE"})
    with pytest.raises(Refused, match="CA is INACTIVE"):
        fleet.sync(me)


def test_an_unregistered_certificate_is_refused_and_not_registered(fleet):
    with pytest.raises(Refused, match="not registered"):
        fleet.sync(fleet.ca.issue(C1))
    assert fleet.admin.get("/certificates").json["certificates"] == []


def test_auto_registration_registers_pending_activation_then_activation_syncs(fleet):
    fleet.admin.put(f"/ca-certificates/{fleet.ca_id}", json={"newAutoRegistrationStatus": "ENABLE"})
    fleet.admin.post("/controllers", json={"uuid": C1, "serial": "1"})
    me = fleet.ca.issue(C1)
    for _ in range(2):
        with pytest.raises(Refused, match="PENDING_ACTIVATION"):
            fleet.sync(me)
    assert fleet.status(me) == "PENDING_ACTIVATION"
    (listed,) = fleet.admin.get("/certificates").json["certificates"]
    assert (
        fleet.admin.put(f"/certificates/{listed['certificateId']}", json={"newStatus": "ACTIVE"}).status_code
        == 200
    )
    assert fleet.sync(me)["version"] == 1


def test_a_denied_controller_cannot_sync_and_a_lifted_one_can(fleet):
    me, _ = fleet.enroll()
    fleet.admin.delete(f"/controllers/{C1}")
    with pytest.raises(Refused, match="denied"):
        fleet.sync(me)
    fleet.admin.delete(f"/denied-controllers/{C1}")
    assert fleet.sync(me)["version"] == 2


def test_a_controller_that_changed_its_key_while_denied_must_be_re_enrolled(fleet):
    """The reference's caveat: the record keeps the old key, so a new key is refused."""
    fleet.admin.put(f"/ca-certificates/{fleet.ca_id}", json={"newAutoRegistrationStatus": "ENABLE"})
    me, _ = fleet.enroll()
    fleet.admin.delete(f"/controllers/{C1}")
    fleet.admin.delete(f"/denied-controllers/{C1}")
    rekeyed = fleet.ca.issue(C1)  # a new key pair, e.g. after a factory reset
    with pytest.raises(Refused, match="key differs"):
        fleet.sync(rekeyed)
    assert fleet.status(rekeyed) is None  # not auto-enrolled afresh either
    answer = fleet.admin.post("/certificates", json={"certificatePem": rekeyed.cert_pem, "status": "ACTIVE"})
    assert answer.status_code == 409 and "new uuid" in answer.json["message"]
    assert fleet.sync(me)["version"] == 2  # the old key still works


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # backend-independent
def test_the_rpc_endpoint_answers_json_rpc_errors(fleet_app):
    client = fleet_app.test_client()
    answer = client.post("/rpc", json=SYNC)
    assert answer.status_code == 403
    assert answer.json == {
        "error": {"code": 403, "message": "a client certificate is required"},
        "id": "_ID_",
        "method": SYNC["method"],
        "result": None,
    }
    for body, status in [
        ({**SYNC, "method": "other"}, 404),
        ({**SYNC, "api": "2"}, 400),
        ({**SYNC, "params": {"version": "1"}}, 400),
        ({**SYNC, "id": None}, 400),
        ({**SYNC, "params": []}, 400),
        ([SYNC], 400),
    ]:
        answer = client.post("/rpc", json=body)
        assert answer.status_code == status, body
        assert answer.json["result"] is None and answer.json["error"]["code"] < 0


def test_an_auto_registered_certificate_of_a_new_controller_is_attached_by_hand(fleet):
    fleet.admin.put(f"/ca-certificates/{fleet.ca_id}", json={"newAutoRegistrationStatus": "ENABLE"})
    me = fleet.ca.issue("lab-rack-7")  # a common name that names no controller
    with pytest.raises(Refused, match="PENDING_ACTIVATION"):
        fleet.sync(me)
    ident = me.cert.fingerprint(hashes.SHA256()).hex()
    assert fleet.admin.put(f"/certificates/{ident}", json={"newStatus": "ACTIVE"}).status_code == 200
    with pytest.raises(Refused, match="not attached"):
        fleet.sync(me)
    assert fleet.admin.put(f"/certificates/{ident}", json={"controller": C1}).status_code == 404
    fleet.admin.post("/controllers", json={"uuid": C1, "serial": "1"})
    assert fleet.admin.put(f"/certificates/{ident}", json={}).status_code == 400
    answer = fleet.admin.put(f"/certificates/{ident}", json={"controller": C1})
    assert answer.json["certificateDescription"]["controller"] == C1
    assert fleet.sync(me)["version"] == 1
