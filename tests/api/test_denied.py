"""Deleting a client denies it: its tokens stay refused, even if re-registered, until lifted."""

from __future__ import annotations

from tests.api.clients_support import EXAMPLE_1, HELLO_HASH, register
from tests.api.sessions_support import VIEW, audit_lines
from tests.support import Api

PATH = "/restapi/relay/outlets/1/state/"


def test_delete_denies_and_a_stale_re_registration_stays_refused_until_lifted(app, admin):
    register(admin, "testclient", EXAMPLE_1)
    client = Api(app.test_client(), bearer="testclient.SGVsbG8")
    assert client.get(PATH).status_code == 200
    assert admin.delete("/restapi/auth/clients/testclient/").status_code == 204
    assert admin.get("/restapi/auth/denied/").json == ["testclient"]
    assert register(admin, "testclient", EXAMPLE_1).status_code == 204  # a stale sync
    refused = client.get(PATH)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert "denied" in refused.json["message"]
    assert admin.delete("/restapi/auth/denied/testclient/").status_code == 204
    assert admin.get("/restapi/auth/denied/").json == []
    assert client.get(PATH).status_code == 200
    lines = audit_lines(app)
    assert "access denied for 127.0.0.1: denied client: token refused for client 'testclient'" in lines
    assert any(
        line.startswith("Client testclient deleted with its tokens and denied by user admin")
        for line in lines
    )
    assert any(
        line.startswith("Client testclient registered by user admin") and "denied" in line for line in lines
    )
    assert any(line.startswith("Client testclient denial lifted by user admin") for line in lines)


def test_a_refused_denied_token_spends_no_use(app, admin):
    register(admin, "testclient", EXAMPLE_1)
    admin.delete("/restapi/auth/clients/testclient/")
    register(admin, "testclient", EXAMPLE_1)
    Api(app.test_client(), bearer="testclient.SGVsbG8").get(PATH)
    left = admin.get("/restapi/auth/clients/testclient/").json["access_tokens"][HELLO_HASH]
    assert left == {"remaining_use_count": 3000}


def test_lifting_a_client_that_is_not_denied_is_404(admin):
    assert admin.delete("/restapi/auth/denied/nobody/").status_code == 404


def test_the_denied_list_reads_one_entry_and_takes_matrix_selectors(admin):
    for client_id in ("a1", "b2"):
        register(admin, client_id, dict(EXAMPLE_1, scopes=VIEW))
        admin.delete(f"/restapi/auth/clients/{client_id}/")
    assert admin.get("/restapi/auth/denied/").json == ["a1", "b2"]
    assert admin.get("/restapi/auth/denied/b2/").json == "b2"
    assert admin.get("/restapi/auth/denied/=a1,b2/").status_code == 207


def test_deleting_in_the_store_denies_too(app, admin):
    from powerctl.store.credentials import denial, denied_ids

    register(admin, "testclient", EXAMPLE_1)
    db = app.extensions["powerctl.db"]
    assert db.delete_client("testclient")
    assert denied_ids(db) == ["testclient"]
    assert denial(db, "testclient")[1] == "the command line"
    assert not db.delete_client("testclient")


def test_put_of_an_id_denies_it_without_deleting_the_client(app, admin):
    register(admin, "testclient", EXAMPLE_1)
    client = Api(app.test_client(), bearer="testclient.SGVsbG8")
    assert admin.put("/restapi/auth/denied/testclient/", json="testclient").status_code == 204
    assert admin.put("/restapi/auth/denied/testclient/", json="testclient").status_code == 204
    assert admin.get("/restapi/auth/denied/").json == ["testclient"]
    assert client.get(PATH).status_code == 401
    assert admin.get("/restapi/auth/clients/testclient/").status_code == 200  # still registered
    assert admin.delete("/restapi/auth/denied/testclient/").status_code == 204
    assert client.get(PATH).status_code == 200
    assert any(line.startswith("Client testclient denied by user admin") for line in audit_lines(app))


def test_a_put_that_is_not_the_id_itself_or_not_an_id_denies_nothing(app, admin):
    register(admin, "testclient", EXAMPLE_1)
    wrong = admin.put("/restapi/auth/denied/testclient/", json="someone")
    assert wrong.status_code == 400 and "the id itself" in wrong.json["message"]
    assert admin.put("/restapi/auth/denied/testclient/", json=True).status_code == 400
    assert admin.put("/restapi/auth/denied/bad.id/", json="bad.id").status_code == 400
    assert admin.put("/restapi/auth/denied/=a1,b2/", json="a1").status_code == 404  # no new keys
    assert admin.get("/restapi/auth/denied/").json == []
    assert Api(app.test_client(), bearer="testclient.SGVsbG8").get(PATH).status_code == 200


def test_only_admins_may_deny(app, admin):
    register(admin, "testclient", dict(EXAMPLE_1, scopes={"/?access=get,modify": True}))
    client = Api(app.test_client(), bearer="testclient.SGVsbG8")
    assert client.put("/restapi/auth/denied/other/", json="other").status_code == 403
    assert admin.get("/restapi/auth/denied/").json == []
