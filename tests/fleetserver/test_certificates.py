"""CA registration with proof of possession, controller certificates and their statuses."""

from __future__ import annotations

import pytest

from tests.fleetserver.support import make_ca

C1 = "95d8cd00-5bba-46e5-ae33-f1e4b2d65e6e"


def code(admin) -> str:
    return admin.get("/registration-code").json["registrationCode"]


def register_ca(admin, ca, **flags):
    return admin.post(
        "/ca-certificates",
        json={
            "caCertificate": ca.cert_pem,
            "verificationCertificate": ca.verification_certificate(code(admin)),
            **flags,
        },
    )


@pytest.fixture
def ca():
    return make_ca()


def test_a_ca_with_its_proof_registers_with_the_flags_asked(admin, ca):
    answer = register_ca(admin, ca, setAsActive=True, allowAutoRegistration=True)
    assert answer.status_code == 201
    ident = answer.json["certificateId"]
    assert len(ident) == 64
    described = admin.get(f"/ca-certificates/{ident}").json["certificateDescription"]
    assert described["status"] == "ACTIVE" and described["autoRegistrationStatus"] == "ENABLE"
    assert described["certificatePem"] == ca.cert_pem
    plain = register_ca(admin, make_ca("second"))
    described = admin.get(f"/ca-certificates/{plain.json['certificateId']}").json
    assert described["certificateDescription"]["status"] == "INACTIVE"
    assert described["certificateDescription"]["autoRegistrationStatus"] == "DISABLE"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # backend-independent
def test_a_proof_signed_by_another_key_or_for_another_code_is_refused(admin, ca):
    forged = make_ca(ca.cert.subject.rfc4514_string()[3:])  # same name, different key
    proof = forged.verification_certificate(code(admin))
    answer = admin.post(
        "/ca-certificates", json={"caCertificate": ca.cert_pem, "verificationCertificate": proof}
    )
    assert answer.status_code == 400 and "verificationCertificate" in answer.json["message"]
    answer = admin.post(
        "/ca-certificates",
        json={"caCertificate": ca.cert_pem, "verificationCertificate": ca.verification_certificate("0" * 64)},
    )
    assert answer.status_code == 400
    assert admin.get("/ca-certificates").json["certificates"] == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # backend-independent
def test_a_leaf_certificate_is_not_accepted_as_a_ca(admin, ca):
    leaf = ca.issue("not a ca")
    answer = admin.post(
        "/ca-certificates",
        json={
            "caCertificate": leaf.cert_pem,
            "verificationCertificate": ca.verification_certificate(code(admin)),
        },
    )
    assert answer.status_code == 400 and "CA" in answer.json["message"]


def test_registering_a_ca_twice_is_409(admin, ca):
    assert register_ca(admin, ca).status_code == 201
    assert register_ca(admin, ca).status_code == 409


def test_ca_status_and_auto_registration_update(admin, ca):
    ident = register_ca(admin, ca).json["certificateId"]
    answer = admin.put(
        f"/ca-certificates/{ident}", json={"newStatus": "ACTIVE", "newAutoRegistrationStatus": "ENABLE"}
    )
    assert answer.json["certificateDescription"]["status"] == "ACTIVE"
    assert answer.json["certificateDescription"]["autoRegistrationStatus"] == "ENABLE"
    assert admin.put(f"/ca-certificates/{ident}", json={"newStatus": "REVOKED"}).status_code == 400


def test_certificates_must_be_signed_by_a_registered_ca(admin, ca):
    answer = admin.post("/certificates", json={"certificatePem": ca.issue(C1).cert_pem})
    assert answer.status_code == 400 and "registered CA" in answer.json["message"]
    register_ca(admin, ca)
    answer = admin.post("/certificates", json={"certificatePem": ca.issue(C1).cert_pem})
    assert answer.status_code == 201
    described = admin.get(f"/certificates/{answer.json['certificateId']}").json["certificateDescription"]
    assert described["status"] == "INACTIVE" and described["controller"] is None
    assert (
        admin.post("/certificates", json={"certificatePem": "-----BEGIN CERTIFICATE-----\nxx"}).status_code
        == 400
    )


def test_a_certificate_named_after_a_controller_belongs_to_it(admin, ca):
    register_ca(admin, ca)
    admin.post("/controllers", json={"uuid": C1, "serial": "1"})
    ident = admin.post(
        "/certificates", json={"certificatePem": ca.issue(C1).cert_pem, "status": "ACTIVE"}
    ).json["certificateId"]
    assert admin.get(f"/certificates/{ident}").json["certificateDescription"]["controller"] == C1
    unknown = "00000000-0000-4000-8000-000000000000"
    answer = admin.post(
        "/certificates", json={"certificatePem": ca.issue("x").cert_pem, "controller": unknown}
    )
    assert answer.status_code == 404


def test_status_updates_are_idempotent_and_pending_transfer_is_refused(admin, ca):
    register_ca(admin, ca)
    ident = admin.post("/certificates", json={"certificatePem": ca.issue(C1).cert_pem}).json["certificateId"]
    for status in ("ACTIVE", "ACTIVE", "REVOKED", "REVOKED", "PENDING_ACTIVATION", "INACTIVE"):
        answer = admin.put(f"/certificates/{ident}", json={"newStatus": status})
        assert answer.status_code == 200
        assert answer.json["certificateDescription"]["status"] == status
    refused = admin.put(f"/certificates/{ident}", json={"newStatus": "PENDING_TRANSFER"})
    assert refused.status_code == 400 and "PENDING_TRANSFER" in refused.json["message"]
    assert admin.put(f"/certificates/{ident}", json={"newStatus": "REGISTER_INACTIVE"}).status_code == 400
    assert admin.get(f"/certificates/{ident}").json["certificateDescription"]["status"] == "INACTIVE"
    answer = admin.post(
        "/certificates", json={"certificatePem": ca.issue("y").cert_pem, "status": "PENDING_TRANSFER"}
    )
    assert answer.status_code == 400


def test_an_active_certificate_cannot_be_deleted_nor_its_ca(admin, ca):
    ca_id = register_ca(admin, ca).json["certificateId"]
    ident = admin.post(
        "/certificates", json={"certificatePem": ca.issue(C1).cert_pem, "status": "ACTIVE"}
    ).json["certificateId"]
    assert admin.delete(f"/certificates/{ident}").status_code == 409
    assert admin.delete(f"/ca-certificates/{ca_id}").status_code == 409
    admin.put(f"/certificates/{ident}", json={"newStatus": "INACTIVE"})
    assert admin.delete(f"/certificates/{ident}").status_code == 204
    assert admin.get(f"/certificates/{ident}").status_code == 404
    assert admin.delete(f"/ca-certificates/{ca_id}").status_code == 204
    assert admin.get(f"/ca-certificates/{ca_id}").status_code == 404


def test_lists_page_by_marker_in_either_order(admin, ca):
    ca_id = register_ca(admin, ca).json["certificateId"]
    made = [
        admin.post("/certificates", json={"certificatePem": ca.issue(f"c{n}").cert_pem}).json["certificateId"]
        for n in range(30)
    ]
    newest_first = admin.get("/certificates").json
    assert [c["certificateId"] for c in newest_first["certificates"]] == made[::-1][:25]
    rest = admin.get(f"/certificates?marker={newest_first['nextMarker']}").json
    assert [c["certificateId"] for c in rest["certificates"]] == made[::-1][25:]
    assert rest["nextMarker"] is None
    seen, marker = [], None
    while True:
        query = "pageSize=7&ascendingOrder=true" + (f"&marker={marker}" if marker else "")
        page = admin.get(f"/ca-certificates/{ca_id}/certificates?{query}").json
        seen += [c["certificateId"] for c in page["certificates"]]
        marker = page["nextMarker"]
        if marker is None:
            break
    assert seen == made
    assert set(newest_first["certificates"][0]) == {
        "certificateArn",
        "certificateId",
        "status",
        "creationDate",
    }


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # backend-independent
@pytest.mark.parametrize(
    "query", ["pageSize=0", "pageSize=251", "pageSize=x", "marker=abc", "marker=-1", "ascendingOrder=maybe"]
)
def test_bad_list_arguments_are_400(admin, query):
    answer = admin.get(f"/certificates?{query}")
    assert answer.status_code == 400 and answer.json["code"] == 400


def test_unknown_certificate_ids_are_404(admin):
    for path in ("/certificates/abc", "/ca-certificates/abc", "/ca-certificates/abc/certificates"):
        assert admin.get(path).status_code == 404
    assert admin.put("/certificates/abc", json={"newStatus": "ACTIVE"}).status_code == 404
