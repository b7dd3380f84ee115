"""Admin HTTP Digest: stateless nonces, raw matrix URIs, failures and lockout."""

from __future__ import annotations

import time

from tests.api.clients_support import EXAMPLE_1, register
from tests.support import ADMIN_PASSWORD, Api, digest_authorization


def challenge(client, path="/restapi/"):
    response = client.get(path)
    assert response.status_code == 401
    return response.headers["WWW-Authenticate"]


def test_unauthenticated_requests_get_a_digest_challenge(app):
    client = app.test_client()
    response = client.get("/restapi/relay/")
    assert response.status_code == 401
    header = response.headers["WWW-Authenticate"]
    assert header.startswith("Digest ") and 'realm="powerctl"' in header and "qop=" in header
    assert response.json["code"] == 401
    assert "Set-Cookie" not in response.headers


def test_digest_works_without_cookies_and_with_raw_matrix_uri(app):
    client = app.test_client(use_cookies=False)
    path = "/restapi/relay/outlets/all;/=name,physical_state/"
    header = digest_authorization(challenge(client, path), "GET", path, "admin", ADMIN_PASSWORD)
    response = client.get(path, headers={"Authorization": header})
    assert response.status_code == 207


def test_a_nonce_serves_many_requests_until_it_expires(app):
    client = app.test_client(use_cookies=False)
    nonce_challenge = challenge(client)
    for path in ("/restapi/relay/", "/restapi/relay/outlets/=0/state/"):
        header = digest_authorization(nonce_challenge, "GET", path, "admin", ADMIN_PASSWORD)
        assert client.get(path, headers={"Authorization": header}).status_code in (200, 207)


def test_answer_for_another_uri_is_refused(app):
    client = app.test_client(use_cookies=False)
    header = digest_authorization(challenge(client), "GET", "/restapi/relay/", "admin", ADMIN_PASSWORD)
    assert client.get("/restapi/config/", headers={"Authorization": header}).status_code == 401


def test_wrong_password_is_401(app):
    api = Api(app.test_client(), password="wrong")
    response = api.get("/restapi/relay/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Digest ")


def test_forged_and_expired_nonces_are_refused(make_app):
    app = make_app(auth={"nonce_lifetime": 10})
    client = app.test_client(use_cookies=False)
    real = challenge(client)
    forged = real.replace('nonce="', 'nonce="0', 1)
    header = digest_authorization(forged, "GET", "/restapi/", "admin", ADMIN_PASSWORD)
    assert client.get("/restapi/", headers={"Authorization": header}).status_code == 401
    digest = app.extensions["powerctl.auth"].digest
    old = digest._new_nonce
    stamp = f"{int(time.time()) - 60:x}.0011223344556677"
    stale_nonce = f"{stamp}.{digest._sign(stamp)}"
    assert old() != stale_nonce
    stale = real.split('nonce="')[0] + f'nonce="{stale_nonce}"' + real.split('nonce="')[1].split('"', 1)[1]
    header = digest_authorization(stale, "GET", "/restapi/", "admin", ADMIN_PASSWORD)
    response = client.get("/restapi/", headers={"Authorization": header})
    assert response.status_code == 401
    assert "stale=TRUE" in response.headers["WWW-Authenticate"]


def test_basic_is_accepted_over_tls_only(app):
    import base64

    token = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    assert app.test_client().get("/restapi/relay/", headers=headers).status_code == 401
    secure = app.test_client().get("/restapi/relay/", headers=headers, base_url="https://localhost")
    assert secure.status_code == 200


def test_repeated_failures_lock_the_address_out(make_app):
    app = make_app(auth={"max_failures": 3})
    bad = Api(app.test_client(), password="wrong")
    for _ in range(3):
        assert bad.get("/restapi/").status_code == 401
    good = Api(app.test_client())
    response = good.get("/restapi/")
    assert response.status_code == 403
    assert "lockout" in response.json["message"]
    lines = app.extensions["powerctl.audit"].tail(20)
    assert any("lockout" in line for line in lines)


def test_a_low_privilege_clients_success_does_not_reset_the_admin_failures(app, admin):
    """9 wrong admin passwords, one good bearer request, repeated: the tenth admin failure locks
    the address out (default max_failures 10), the client's successes notwithstanding."""
    register(admin, "low", dict(EXAMPLE_1, name="low", scopes={"/relay/outlets/0/name/?access=get": True}))
    low = Api(app.test_client(), bearer="low.SGVsbG8")
    guess = Api(app.test_client(), password="wrong")
    answers = []
    for _ in range(3):
        answers += [guess.get("/restapi/relay/").status_code for _ in range(9)]
        answers.append(low.get("/restapi/relay/outlets/0/name/").status_code)
    assert answers[:10] == [401] * 9 + [200]
    assert answers[10] == 401  # the tenth wrong admin password: it starts the lockout
    assert set(answers[11:]) == {403}
    locked = admin.get("/restapi/relay/")
    assert locked.status_code == 403 and "lockout" in locked.json["message"]


def test_an_admins_own_success_resets_its_failures(make_app):
    app = make_app(auth={"max_failures": 3})
    guess, good = Api(app.test_client(), password="wrong"), Api(app.test_client())
    for _ in range(3):
        assert [guess.get("/restapi/").status_code for _ in range(2)] == [401, 401]
        assert good.get("/restapi/").status_code == 200


def test_the_first_admin_comes_from_the_environment_and_no_password_is_stored(app, tmp_path):
    data = (tmp_path / "data" / "powerctl.db").read_bytes()
    assert ADMIN_PASSWORD.encode() not in data


def test_a_captured_answer_is_not_taken_twice(app):
    """Same nonce, same nc and cnonce, same target: a replay. The next request of a real client
    (nc + 1) goes through; the replay gets stale=TRUE, which counts toward no lockout."""
    client = app.test_client(use_cookies=False)
    nonce_challenge = challenge(client)
    path = "/restapi/relay/outlets/0/state/"
    header = digest_authorization(nonce_challenge, "GET", path, "admin", ADMIN_PASSWORD)
    assert client.get(path, headers={"Authorization": header}).status_code == 200
    for _ in range(12):  # more than max_failures: a lockout would turn these into 403
        replay = client.get(path, headers={"Authorization": header})
        assert replay.status_code == 401 and "stale=TRUE" in replay.headers["WWW-Authenticate"]
    following = digest_authorization(nonce_challenge, "GET", path, "admin", ADMIN_PASSWORD, nc="00000002")
    assert client.get(path, headers={"Authorization": following}).status_code == 200


def test_the_challenge_offers_md5_with_qop_auth_only(app):
    response = app.test_client().get("/restapi/")
    assert response.headers.getlist("WWW-Authenticate") == [response.headers["WWW-Authenticate"]]
    header = response.headers["WWW-Authenticate"]
    assert 'algorithm="MD5"' in header and 'qop="auth"' in header


def test_an_answer_without_qop_is_refused(app):
    """RFC 2069 answers hash no client nonce or count; only qop="auth" is offered."""
    client = app.test_client(use_cookies=False)
    header = digest_authorization(challenge(client), "GET", "/restapi/", "admin", ADMIN_PASSWORD, qop=None)
    response = client.get("/restapi/", headers={"Authorization": header})
    assert response.status_code == 401
    assert "qop" in response.json["message"]


def test_an_answer_with_an_algorithm_not_offered_is_refused_with_a_clear_401(app):
    client = app.test_client(use_cookies=False)
    nonce_challenge = challenge(client)
    sha256 = digest_authorization(
        nonce_challenge, "GET", "/restapi/", "admin", ADMIN_PASSWORD, algorithm="SHA-256"
    )
    response = client.get("/restapi/", headers={"Authorization": sha256})
    assert response.status_code == 401
    assert "algorithm=MD5" in response.json["message"]
    # an MD5 answer labelled SHA-256 is not taken as MD5 either
    labelled = digest_authorization(nonce_challenge, "GET", "/restapi/", "admin", ADMIN_PASSWORD, cnonce="aa")
    labelled = labelled.replace("algorithm=MD5", "algorithm=SHA-256")
    assert client.get("/restapi/", headers={"Authorization": labelled}).status_code == 401
    plain = digest_authorization(nonce_challenge, "GET", "/restapi/", "admin", ADMIN_PASSWORD, cnonce="bb")
    assert client.get("/restapi/", headers={"Authorization": plain.replace("MD5", "md5")}).status_code == 200


def test_an_answer_one_server_took_is_refused_by_another_on_the_same_data_directory(make_app):
    first, second = make_app(), make_app()  # one data directory, two apps as two processes would be
    path = "/restapi/relay/outlets/0/state/"
    header = digest_authorization(challenge(first.test_client()), "GET", path, "admin", ADMIN_PASSWORD)
    assert first.test_client().get(path, headers={"Authorization": header}).status_code == 200
    replay = second.test_client().get(path, headers={"Authorization": header})
    assert replay.status_code == 401 and "stale=TRUE" in replay.headers["WWW-Authenticate"]
