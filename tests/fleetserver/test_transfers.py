"""Certificate transfers between accounts, as in the reference: transfer, listOutgoingCertificates,
accept, reject, cancel; the controller changes hands with its certificate."""

from __future__ import annotations

import datetime
import logging
import threading
import uuid as uuidlib

import pytest

from fleetserver.errors import Refused
from fleetserver.sync import sync
from tests.fleetserver.accounts_support import cert_id, der, make_account, register_ca
from tests.fleetserver.support import make_ca

CLIENT = "708e3376-5cb1-4fa8-923f-cda75b9e9e33"
PEER = "c89723f7-03a3-423d-a556-7eba4270d064"
H1 = "ab" * 32

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def utc(text: str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(text)
    assert moment.utcoffset() == datetime.timedelta(0), text
    return moment


@pytest.fixture
def parties(admin):
    alpha, _ = make_account(admin, "alpha")
    beta, _ = make_account(admin, "beta")
    ca = make_ca("alpha CA")
    assert register_ca(alpha, ca).status_code == 201
    return alpha, beta, ca


def enrolled(alpha, ca, status="ACTIVE"):
    controller = str(uuidlib.uuid4())
    assert alpha.post("/controllers", json={"uuid": controller, "serial": "70010111"}).status_code == 201
    me = ca.issue(controller)
    answer = alpha.post("/certificates", json={"certificatePem": me.cert_pem, "status": status})
    assert answer.status_code == 201, answer.json
    assert answer.json["certificateArn"] == f"urn:powerctl:fleet:alpha:cert/{cert_id(me)}"
    return controller, me


def test_an_accepted_transfer_moves_the_certificate_and_its_controller(fleet_app, admin, parties, caplog):
    caplog.set_level(logging.INFO, "powerctl.fleet.audit")
    alpha, beta, ca = parties
    state = fleet_app.extensions["powerctl.fleet"]

    def bundle(me):
        return sync(state.db, der(me), state.fleet_peer, state.chain)

    controller, me = enrolled(alpha, ca)
    assert alpha.put(f"/controllers/{controller}/clients/{CLIENT}", json={"tokens": [H1]}).status_code == 200
    assert (
        alpha.put(
            f"/controllers/{controller}/peers/{PEER}", json={"id": "2", "tokens": ["p" * 16]}
        ).status_code
        == 200
    )
    held = bundle(me)
    assert held["clients"] == {CLIENT: [H1]} and PEER in held["peers"]
    ident = cert_id(me)
    url = f"/certificates/{ident}"

    answer = alpha.post(f"{url}/transfer", json={"targetAccount": "beta"})
    assert answer.status_code == 409 and "INACTIVE" in answer.json["message"]  # ACTIVE: not yet
    assert alpha.put(url, json={"newStatus": "INACTIVE"}).status_code == 200
    for target in ("nobody", "alpha"):
        assert alpha.post(f"{url}/transfer", json={"targetAccount": target}).status_code == 400
    assert alpha.post(f"{url}/transfer", json={"targetAccount": "beta", "other": 1}).status_code == 400
    answer = alpha.post(f"{url}/transfer", json={"targetAccount": "beta", "transferMessage": "yours now"})
    assert answer.status_code == 200, answer.json
    pending = answer.json["certificateDescription"]
    assert pending["status"] == "PENDING_TRANSFER" and pending["ownedBy"] == "alpha"
    assert pending["transferData"]["transferMessage"] == "yours now"
    sent = utc(pending["transferData"]["transferDate"])
    assert pending["transferData"]["acceptDate"] is None and pending["previousOwnedBy"] is None

    with pytest.raises(Refused, match="PENDING_TRANSFER"):
        bundle(me)
    assert alpha.put(url, json={"newStatus": "ACTIVE"}).status_code == 409
    assert alpha.delete(url).status_code == 409

    (out,) = alpha.get("/certificates/outgoing").json["outgoingCertificates"]
    assert out == {
        "certificateArn": f"urn:powerctl:fleet:alpha:cert/{ident}",
        "certificateId": ident,
        "transferredTo": "beta",
        "transferDate": pending["transferData"]["transferDate"],
        "transferMessage": "yours now",
        "creationDate": pending["creationDate"],
    }
    assert beta.get("/certificates/outgoing").json == {"outgoingCertificates": [], "nextMarker": None}
    assert admin.get("/certificates/outgoing").json["outgoingCertificates"] == [out]
    # the target sees the certificate offered to it, not yet its controller
    assert beta.get(url).json["certificateDescription"]["status"] == "PENDING_TRANSFER"
    assert beta.get("/certificates").json["certificates"] == []
    assert beta.get(f"/controllers/{controller}").status_code == 404
    # each side may do only its own steps
    assert alpha.post(f"{url}/accept-transfer", json={}).status_code == 403
    assert alpha.post(f"{url}/reject-transfer").status_code == 403
    assert beta.post(f"{url}/cancel-transfer").status_code == 403

    answer = beta.post(f"{url}/accept-transfer", json={"setAsActive": True})
    assert answer.status_code == 200, answer.json
    moved = answer.json["certificateDescription"]
    assert moved["ownedBy"] == "beta" and moved["previousOwnedBy"] == "alpha"
    assert moved["status"] == "ACTIVE" and moved["controller"] == controller
    assert moved["certificateArn"] == f"urn:powerctl:fleet:beta:cert/{ident}"
    assert utc(moved["transferData"]["acceptDate"]) >= sent
    assert (
        moved["transferData"]["transferMessage"] == "yours now"
        and moved["transferData"]["rejectDate"] is None
    )

    # alpha reaches nothing of it any more; beta holds the controller, emptied, at a new version
    for path in (url, f"/controllers/{controller}", f"/controllers/{controller}/clients"):
        assert alpha.get(path).status_code == 404, path
    assert alpha.get("/certificates/outgoing").json["outgoingCertificates"] == []
    described = beta.get(f"/controllers/{controller}").json
    assert described["ownedBy"] == "beta" and described["version"] == held["version"] + 1
    assert beta.get(f"/controllers/{controller}/clients").json == {"clients": {}}
    assert beta.get(f"/controllers/{controller}/peers").json == {"peers": {}}
    now = bundle(me)
    assert now["version"] == held["version"] + 1 and now["clients"] == {}
    assert list(now["peers"]) == [state.fleet_peer]
    assert (
        beta.put(f"/controllers/{controller}/clients/{PEER}", json={"tokens": ["cd" * 32]}).status_code == 200
    )
    assert bundle(me)["clients"] == {PEER: ["cd" * 32]}
    assert beta.post(f"{url}/accept-transfer").status_code == 409  # done once

    steps = [r.getMessage() for r in caplog.records if r.getMessage().startswith("certificate ")]
    assert len(steps) == 2
    for step, word in zip(steps, ("requested", "accepted"), strict=True):
        assert word in step and "from account alpha to account beta" in step and ident in step


@sqlite_only
def test_a_rejected_or_cancelled_transfer_leaves_it_inactive_with_its_owner(admin, parties, caplog):
    caplog.set_level(logging.INFO, "powerctl.fleet.audit")
    alpha, beta, ca = parties
    controller, me = enrolled(alpha, ca, status="INACTIVE")
    url = f"/certificates/{cert_id(me)}"
    assert alpha.post(f"{url}/transfer", json={"targetAccount": "beta"}).status_code == 200
    assert beta.post(f"{url}/reject-transfer", json={"rejectReason": "not ours"}).status_code == 204
    described = alpha.get(url).json["certificateDescription"]
    assert described["status"] == "INACTIVE" and described["ownedBy"] == "alpha"
    assert described["transferData"]["rejectReason"] == "not ours"
    assert utc(described["transferData"]["rejectDate"]) >= utc(described["transferData"]["transferDate"])
    assert beta.get(url).status_code == 404  # no longer offered to it
    assert beta.post(f"{url}/accept-transfer").status_code == 404
    assert alpha.post(f"{url}/cancel-transfer").status_code == 409

    assert alpha.post(f"{url}/transfer", json={"targetAccount": "beta"}).status_code == 200
    again = alpha.get(url).json["certificateDescription"]["transferData"]
    assert again["rejectReason"] is None and again["rejectDate"] is None  # a new transfer
    answer = alpha.post(f"{url}/cancel-transfer")
    assert answer.status_code == 200 and answer.json["certificateDescription"]["status"] == "INACTIVE"
    assert beta.post(f"{url}/accept-transfer").status_code == 404
    assert alpha.get(f"/controllers/{controller}").json["ownedBy"] == "alpha"
    assert admin.delete("/accounts/beta").status_code == 204  # nothing of it, nothing pending to it
    steps = [r.getMessage() for r in caplog.records if r.getMessage().startswith("certificate ")]
    assert [s.split("transfer ")[1].split(",")[0] for s in steps] == [
        "requested",
        "rejected",
        "requested",
        "cancelled",
    ]
    assert all("from account alpha to account beta" in s for s in steps)


@sqlite_only
def test_outgoing_certificates_are_paged_like_the_other_lists(admin, parties):
    alpha, _beta, ca = parties
    made = []
    for n in range(5):
        me = ca.issue(f"spare {n}")
        assert alpha.post("/certificates", json={"certificatePem": me.cert_pem}).status_code == 201
        assert (
            alpha.post(f"/certificates/{cert_id(me)}/transfer", json={"targetAccount": "beta"}).status_code
            == 200
        )
        made.append(cert_id(me))
    assert alpha.post("/certificates", json={"certificatePem": ca.issue("kept").cert_pem}).status_code == 201
    seen, marker = [], None
    while True:
        query = "pageSize=2&ascendingOrder=true" + (f"&marker={marker}" if marker else "")
        page = alpha.get(f"/certificates/outgoing?{query}").json
        assert len(page["outgoingCertificates"]) <= 2
        seen += [c["certificateId"] for c in page["outgoingCertificates"]]
        if (marker := page["nextMarker"]) is None:
            break
    assert seen == made
    newest = alpha.get("/certificates/outgoing?pageSize=3").json
    assert [c["certificateId"] for c in newest["outgoingCertificates"]] == made[::-1][:3]
    assert alpha.get("/certificates/outgoing?pageSize=0").status_code == 400


# Accept racing cancel: exactly one wins


def test_accept_racing_cancel_has_exactly_one_winner(fleet_app, admin, parties):
    """Two threads, each with its own connection to the app and the database, start the accept
    and the cancel at the same moment; repeated, on both backends."""
    alpha, beta, ca = parties
    winners = []
    for _round in range(5):
        controller, me = enrolled(alpha, ca, status="INACTIVE")
        ident = cert_id(me)
        assert (
            alpha.put(f"/controllers/{controller}/clients/{CLIENT}", json={"tokens": [H1]}).status_code == 200
        )
        assert (
            alpha.post(f"/certificates/{ident}/transfer", json={"targetAccount": "beta"}).status_code == 200
        )
        start = threading.Barrier(2)
        codes: dict[str, int] = {}

        def step(name, token, path, codes=codes, start=start):
            client = fleet_app.test_client()
            start.wait()
            codes[name] = client.post(path, headers={"Authorization": f"Bearer {token}"}).status_code

        threads = [
            threading.Thread(
                target=step, args=("accept", beta.token, f"/certificates/{ident}/accept-transfer")
            ),
            threading.Thread(
                target=step, args=("cancel", alpha.token, f"/certificates/{ident}/cancel-transfer")
            ),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(codes.values())[0] == 200 and sorted(codes.values())[1] in (404, 409), codes
        won = next(name for name, code in codes.items() if code == 200)
        winners.append(won)
        final = admin.get(f"/certificates/{ident}").json["certificateDescription"]
        holder = admin.get(f"/controllers/{controller}").json
        clients = admin.get(f"/controllers/{controller}/clients").json["clients"]
        assert final["status"] == "INACTIVE"
        if won == "accept":
            assert final["ownedBy"] == holder["ownedBy"] == "beta" and clients == {}
            assert final["transferData"]["acceptDate"] is not None
        else:
            assert final["ownedBy"] == holder["ownedBy"] == "alpha" and clients == {CLIENT: [H1]}
            assert final["transferData"]["acceptDate"] is None
        assert admin.get("/certificates/outgoing").json["outgoingCertificates"] == []
