"""Accounts: the operator manages them and their tokens; an account token sees and changes only
its own account's controllers, CA certificates and certificates, on every route."""

from __future__ import annotations

import hashlib
import json
import re
import uuid as uuidlib

import pytest
from sqlalchemy import create_engine, text

from tests.fleetserver.accounts_support import DOCUMENT, METHODS, PUBLIC, cert_id, make_account, register_ca
from tests.fleetserver.conftest import Admin
from tests.fleetserver.support import make_ca

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@sqlite_only
def test_the_operator_manages_accounts_and_their_tokens(admin, fleet_app):
    assert admin.get("/accounts").json == {
        "accounts": [
            {"id": "default", "created": admin.get("/accounts").json["accounts"][0]["created"], "tokens": []}
        ]
    }
    made = admin.post("/accounts", json={"id": "acme-lab"})
    assert made.status_code == 201 and made.json["id"] == "acme-lab" and made.json["tokens"] == []
    assert made.json["created"].endswith("+00:00")
    assert admin.post("/accounts", json={"id": "acme-lab"}).status_code == 409
    for bad in ("", "a b", "x" * 65, "caf\u00e9", "a/b", 7, None):
        answer = admin.post("/accounts", json={"id": bad})
        assert answer.status_code == 400 and answer.json["code"] == 400, bad
    token = admin.post("/accounts/acme-lab/tokens")
    assert token.status_code == 201 and set(token.json) == {"tokenId", "token"}
    ident, secret = token.json["tokenId"], token.json["token"]
    assert secret.startswith(ident + ".")
    listed = admin.get("/accounts").json["accounts"][1]
    assert [t["tokenId"] for t in listed["tokens"]] == [ident] and secret not in json.dumps(listed)
    # stored as its sha256 only
    db = fleet_app.extensions["powerctl.fleet"].db
    engine = create_engine(db.url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM account_tokens")).all()
    engine.dispose()
    assert [row.token_hash for row in rows] == [hashlib.sha256(secret.encode()).hexdigest()]
    assert secret.split(".", 1)[1] not in repr(rows)

    account = Admin(admin.client, secret)
    assert account.get("/controllers").status_code == 200
    for method, path in [
        ("get", "/accounts"),
        ("post", "/accounts"),
        ("delete", "/accounts/acme-lab"),
        ("post", "/accounts/acme-lab/tokens"),
        ("delete", f"/accounts/acme-lab/tokens/{ident}"),
        ("get", "/admin-tokens"),
        ("post", "/admin-tokens"),
    ]:
        answer = getattr(account, method)(path, json={"id": "x"})
        assert answer.status_code == 403 and answer.json["code"] == 403, path
    assert Admin(admin.client, secret[:-1] + "x").get("/controllers").status_code == 401
    assert Admin(admin.client, "0" * 16 + ".x").get("/controllers").status_code == 401

    # 409 while it owns anything; the default account is never deleted
    assert register_ca(account, make_ca("acme")).status_code == 201
    answer = admin.delete("/accounts/acme-lab")
    assert answer.status_code == 409 and "owns" in answer.json["message"]
    (ca,) = account.get("/ca-certificates").json["certificates"]
    assert account.delete(f"/ca-certificates/{ca['certificateId']}").status_code == 204
    assert admin.delete("/accounts/default").status_code == 409
    assert admin.delete("/accounts/nobody").status_code == 404
    assert admin.delete("/accounts/%00").status_code == 404
    assert admin.delete(f"/accounts/acme-lab/tokens/{'0' * 16}").status_code == 404
    assert admin.delete(f"/accounts/acme-lab/tokens/{ident}").status_code == 204
    assert account.get("/controllers").status_code == 401  # revoked at once
    assert admin.delete("/accounts/acme-lab").status_code == 204
    assert [a["id"] for a in admin.get("/accounts").json["accounts"]] == ["default"]


@sqlite_only
def test_the_operator_creates_in_the_default_account_or_the_one_named(admin):
    C = str(uuidlib.uuid4())
    assert admin.post("/controllers", json={"uuid": C, "serial": "1"}).json["ownedBy"] == "default"
    make_account(admin, "acme")
    D = str(uuidlib.uuid4())
    assert (
        admin.post("/controllers", json={"uuid": D, "serial": "1", "account": "acme"}).json["ownedBy"]
        == "acme"
    )
    answer = admin.post(
        "/controllers", json={"uuid": str(uuidlib.uuid4()), "serial": "1", "account": "nobody"}
    )
    assert answer.status_code == 404
    assert (
        admin.patch(f"/controllers/{D}", json={"account": "default"}).status_code == 400
    )  # no moving by hand


# Every route, with the second account's token, on the first account's objects


A_CLIENT = str(uuidlib.UUID(int=11))
A_PEER = str(uuidlib.UUID(int=12))


@pytest.fixture
def two_accounts(admin):
    """Account alpha with a CA, a controller (a client, a peer, an ACTIVE certificate), a denied
    controller, an INACTIVE certificate and one pending transfer to gamma; account beta with a
    CA of its own."""
    alpha, alpha_token = make_account(admin, "alpha")
    beta, _ = make_account(admin, "beta")
    make_account(admin, "gamma")
    ca = make_ca("alpha CA")
    ca_id = register_ca(alpha, ca).json["certificateId"]
    c1, c2 = str(uuidlib.uuid4()), str(uuidlib.uuid4())
    for controller in (c1, c2):
        assert alpha.post("/controllers", json={"uuid": controller, "serial": "1"}).status_code == 201
    assert alpha.put(f"/controllers/{c1}/clients/{A_CLIENT}", json={"tokens": ["ab" * 32]}).status_code == 200
    assert (
        alpha.put(f"/controllers/{c1}/peers/{A_PEER}", json={"id": "2", "tokens": ["p" * 16]}).status_code
        == 200
    )
    assert alpha.delete(f"/controllers/{c2}").status_code == 204
    active = ca.issue(c1)
    assert (
        alpha.post("/certificates", json={"certificatePem": active.cert_pem, "status": "ACTIVE"}).status_code
        == 201
    )
    inactive, pending = ca.issue("spare one"), ca.issue("spare two")
    for issued in (inactive, pending):
        assert alpha.post("/certificates", json={"certificatePem": issued.cert_pem}).status_code == 201
    answer = alpha.post(f"/certificates/{cert_id(pending)}/transfer", json={"targetAccount": "gamma"})
    assert answer.status_code == 200, answer.json
    beta_ca = make_ca("beta CA")
    assert register_ca(beta, beta_ca).status_code == 201
    return {
        "alpha": alpha,
        "beta": beta,
        "ca": ca_id,
        "beta_ca": beta_ca,
        "c1": c1,
        "c2": c2,
        "active": cert_id(active),
        "inactive": cert_id(inactive),
        "pending": cert_id(pending),
        "token": alpha_token,
    }


def alpha_state(admin: Admin, objects: dict) -> str:
    """Everything of alpha's, as the operator sees it."""
    c1, ca = objects["c1"], objects["ca"]
    reads = [
        f"/controllers/{c1}",
        f"/controllers/{c1}/clients",
        f"/controllers/{c1}/peers",
        "/denied-controllers",
        f"/ca-certificates/{ca}",
        f"/ca-certificates/{ca}/certificates",
        *(f"/certificates/{objects[k]}" for k in ("active", "inactive", "pending")),
        "/certificates/outgoing",
        "/accounts",
    ]
    return json.dumps({path: admin.get(path).json for path in reads}, sort_keys=True)


def bodies(objects: dict) -> dict[tuple[str, str], object]:
    """A body for each operation that would do something for alpha."""
    fresh = str(uuidlib.uuid4())
    signed_by_beta = objects["beta_ca"].issue(objects["c1"]).cert_pem
    return {
        ("/accounts", "post"): {"id": "delta"},
        ("/admin-tokens", "post"): {},
        ("/controllers", "post"): {"uuid": fresh, "serial": "1", "account": "alpha"},
        ("/controllers/{uuid}", "patch"): {"serial": "taken"},
        ("/controllers/{uuid}/rotate", "post"): {"immediate": True},
        ("/controllers/{uuid}/clients", "put"): {"clients": {}},
        ("/controllers/{uuid}/clients/{client}", "put"): {"tokens": []},
        ("/controllers/{uuid}/peers/{peer}", "put"): {"id": "9", "tokens": ["q" * 16]},
        ("/ca-certificates", "post"): {
            "caCertificate": make_ca("x").cert_pem,
            "verificationCertificate": "x",
            "account": "alpha",
        },
        ("/ca-certificates/{id}", "put"): {"newStatus": "INACTIVE"},
        ("/certificates", "post"): {"certificatePem": signed_by_beta, "controller": objects["c1"]},
        ("/certificates/{id}", "put"): {"newStatus": "REVOKED"},
        ("/certificates/{id}/transfer", "post"): {"targetAccount": "beta"},
        ("/certificates/{id}/accept-transfer", "post"): {"setAsActive": True},
        ("/certificates/{id}/reject-transfer", "post"): {"rejectReason": "no"},
    }


OPERATOR_ONLY = re.compile(r"^/(accounts|admin-tokens)")


@sqlite_only
def test_an_account_token_reaches_nothing_of_another_account_on_any_route(admin, two_accounts):
    objects, beta = two_accounts, two_accounts["beta"]
    before = alpha_state(admin, objects)
    secrets_of_alpha = [objects[k] for k in ("c1", "c2", "ca", "active", "inactive", "pending", "token")]
    secrets_of_alpha += [A_CLIENT, A_PEER, "alpha"]
    body_for = bodies(objects)
    walked = set()
    for path, item in DOCUMENT["paths"].items():
        for method in item:
            if method not in METHODS or (path, method) in PUBLIC:
                continue
            walked.add((path, method))
            cert = (
                objects["pending"] if "transfer" in path and "/transfer" not in path else objects["inactive"]
            )
            real = {
                "uuid": objects["c2"] if path.startswith("/denied") else objects["c1"],
                "client": A_CLIENT,
                "peer": A_PEER,
                "id": objects["ca"] if path.startswith("/ca-certificates/") else cert,
                "token_id": objects["token"],
                "account": "alpha",
            }
            fake = {
                "uuid": str(uuidlib.uuid4()),
                "client": str(uuidlib.uuid4()),
                "peer": str(uuidlib.uuid4()),
                "id": hashlib.sha256(uuidlib.uuid4().bytes).hexdigest(),
                "token_id": "f" * 16,
                "account": "nobody",
            }
            body = body_for.get((path, method))
            kwargs = {} if body is None else {"json": body}

            def call(values, path=path, method=method, kwargs=kwargs):
                url = re.sub(r"\{([^}]*)\}", lambda m: values[m[1]], path)
                return beta.open(url, method=method.upper(), **kwargs)

            answer = call(real)
            where = (method, path, answer.status_code, answer.get_data(as_text=True)[:200])
            assert str(answer.status_code) in item[method]["responses"], where
            if OPERATOR_ONLY.match(path):
                assert answer.status_code == 403, where
                continue
            if "{" in path:
                # exactly the answer about an object that does not exist
                assert answer.status_code in (400, 404), where
                ghost = call(fake)
                masked = {
                    re.sub("|".join(map(re.escape, d.values())), "X", r.json["message"])
                    for d, r in [(real, answer), (fake, ghost)]
                }
                assert ghost.status_code == answer.status_code and len(masked) == 1, (where, ghost.json)
            elif method == "get":
                assert answer.status_code == 200, where
                text_ = answer.get_data(as_text=True)
                assert not [s for s in secrets_of_alpha if s in text_], where
            else:  # creations naming alpha's account or objects
                assert answer.status_code == 404, where
    assert (
        walked
        == {
            (path, method) for path, item in DOCUMENT["paths"].items() for method in item if method in METHODS
        }
        - PUBLIC
    )
    assert alpha_state(admin, objects) == before
