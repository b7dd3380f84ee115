"""Helpers shared by the fleet server's account and transfer tests: the contract document, accounts
with a token each, CA registration and certificate ids through the Flask test client."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization

from powerctl import openapi
from tests.fleetserver.conftest import Admin

SOURCE = Path(__file__).resolve().parents[2] / "docs" / "fleet-server-openapi.yaml"
DOCUMENT = json.loads(openapi.render(SOURCE.read_text(encoding="utf-8")))
METHODS = ("get", "put", "post", "delete", "patch")
PUBLIC = {("/health", "get"), ("/openapi.json", "get"), ("/rpc", "post")}


def make_account(admin: Admin, name: str) -> tuple[Admin, str]:
    """A new account and a client with its token; (client, token id)."""
    assert admin.post("/accounts", json={"id": name}).status_code == 201
    made = admin.post(f"/accounts/{name}/tokens")
    assert made.status_code == 201, made.json
    return Admin(admin.client, made.json["token"]), made.json["tokenId"]


def cert_id(issued) -> str:
    return issued.cert.fingerprint(hashes.SHA256()).hex()


def der(issued) -> bytes:
    return issued.cert.public_bytes(serialization.Encoding.DER)


def register_ca(caller: Admin, ca, **extra):
    code = caller.get("/registration-code").json["registrationCode"]
    return caller.post(
        "/ca-certificates",
        json={
            "caCertificate": ca.cert_pem,
            "verificationCertificate": ca.verification_certificate(code),
            "setAsActive": True,
            **extra,
        },
    )
