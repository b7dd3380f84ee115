"""Digest against served instances: curl and requests as they are, answers not offered, replays."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import requests
from requests.auth import HTTPDigestAuth

from tests.e2e.conftest import start_server
from tests.support import ADMIN_PASSWORD, digest_authorization

PATH = "/restapi/relay/outlets/0/state/"


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Two server processes on one data directory, as a restart overlap or a second unit is."""
    data = tmp_path_factory.mktemp("pair") / "data"
    first = start_server(data, http=True)
    try:
        second = start_server(data, http=True)
    except BaseException:
        first.stop()
        raise
    yield first, second
    second.stop()
    first.stop()


def answer(server, **kwargs) -> str:
    challenge = requests.get(server.url(PATH), timeout=10).headers["WWW-Authenticate"]
    return digest_authorization(challenge, "GET", PATH, "admin", ADMIN_PASSWORD, **kwargs)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_digest_without_a_cookie_jar_still_works(pair):
    result = subprocess.run(
        ["curl", "-sS", "--digest", "-u", f"admin:{ADMIN_PASSWORD}", pair[0].url(PATH)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "true"), result.stderr


def test_requests_digest_auth_still_works(pair):
    session = requests.Session()
    session.auth = HTTPDigestAuth("admin", ADMIN_PASSWORD)
    for server in pair:
        assert session.get(server.url(PATH), timeout=10).json() is True


def test_an_answer_one_process_took_is_refused_by_the_other(pair):
    first, second = pair
    header = {"Authorization": answer(first)}
    assert requests.get(first.url(PATH), headers=header, timeout=10).status_code == 200
    replay = requests.get(second.url(PATH), headers=header, timeout=10)
    assert replay.status_code == 401 and "stale=TRUE" in replay.headers["WWW-Authenticate"]
    assert requests.get(first.url(PATH), headers=header, timeout=10).status_code == 401


@pytest.mark.parametrize(
    ("kwargs", "needle"), [({"qop": None}, "qop"), ({"algorithm": "SHA-256"}, "algorithm=MD5")]
)
def test_answers_the_challenge_did_not_offer_are_refused(pair, kwargs, needle):
    refused = requests.get(
        pair[0].url(PATH), headers={"Authorization": answer(pair[0], **kwargs)}, timeout=10
    )
    assert refused.status_code == 401
    assert needle in refused.json()["message"]
    assert refused.headers["WWW-Authenticate"].startswith("Digest ")
