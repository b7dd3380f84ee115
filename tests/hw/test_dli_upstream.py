"""driver = "dli": two real powerctl processes chained, the front's board being the back's outlets."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest
import requests

import hw
from hw.config import parse_config
from tests.e2e.conftest import start_server
from tests.support import ADMIN_PASSWORD, wait_for

pytestmark = pytest.mark.e2e
RAW = b"front-token-0123456789"
TOKEN = "front." + base64.urlsafe_b64encode(RAW).decode().rstrip("=")
FORM = {"Content-Type": "application/x-www-form-urlencoded", "X-CSRF": "x"}


def admin_session(server) -> requests.Session:
    session = requests.Session()
    session.auth = requests.auth.HTTPDigestAuth("admin", ADMIN_PASSWORD)
    session.verify = server.cert
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment wins over verify
    return session


def register_front(back, scopes: tuple[str, ...]) -> None:
    body = {
        "name": "front",
        "redirect_urls": {},
        "refresh_tokens": {},
        "scopes": dict.fromkeys(scopes, True),
        "access_tokens": {hashlib.sha256(RAW).hexdigest(): {}},
    }
    response = admin_session(back).put(
        back.url("/restapi/auth/clients/front/"), json=body, headers={"X-CSRF": "x"}
    )
    assert response.status_code == 204, response.text


@pytest.fixture
def back(tmp_path):
    server = start_server(tmp_path / "back")
    try:
        register_front(server, ("/relay/outlets/=2,3,4,5/=state,physical_state/?access=get,modify",))
        yield server
    finally:
        server.stop()


def board_config(back, **extra) -> dict:
    return {
        "name": "upstream",
        "driver": "dli",
        "url": back.base,
        "verify": back.cert,
        "token": TOKEN,
        "relays": 4,
        "first_outlet": 2,
        "timeout": 3.0,
        **extra,
    }


def test_the_driver_alone_reads_and_switches_the_upstream_outlets(back):
    assert parse_config({"boards": [board_config(back)]}).boards[0].driver == "dli"
    controller = hw.build_controller({"boards": [board_config(back)]})
    controller.start([True, True, False, True])
    try:
        assert wait_for(lambda: controller.physical_states() == [True, True, False, True], timeout=10)
        controller.set_outlet(0, False)
        upstream = admin_session(back).get(back.url("/restapi/relay/outlets/2/physical_state/")).json()
        assert upstream is False
        assert controller.physical_state(0) is False
    finally:
        controller.close()


def test_secrets_never_show_in_errors_or_repr(back):
    from hw.errors import HardwareConfigError

    secret = "s3cr3t-value-xyz"
    with pytest.raises(HardwareConfigError) as caught:
        parse_config({"boards": [dict(board_config(back), token=secret, user="admin")]})
    assert secret not in str(caught.value)
    parsed = parse_config({"boards": [dict(board_config(back), token=secret)]})
    assert secret not in repr(parsed)


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("url", "http://x", "https://"),
        ("url", "https://user:pw@x", "without credentials"),
        ("verify", 3, "true, false or the path"),
        ("first_outlet", -1, "first_outlet"),
    ],
)
def test_bad_settings_name_the_key(back, key, value, words):
    from hw.errors import HardwareConfigError

    with pytest.raises(HardwareConfigError, match=words):
        parse_config({"boards": [board_config(back, **{key: value})]})


def test_a_config_needs_one_credential(back):
    from hw.errors import HardwareConfigError

    config = board_config(back)
    del config["token"]
    with pytest.raises(HardwareConfigError, match="user and password"):
        parse_config({"boards": [config]})


def front_config(tmp_path, back, **board) -> str:
    path = tmp_path / "front.toml"
    lines = ["[hardware]", "poll_interval = 0.2", "", "[[hardware.boards]]"]
    for key, value in board_config(back, **board).items():
        lines.append(f"{key} = {value!r}".replace("'", '"').replace("True", "true").replace("False", "false"))
    lines += ["", "[[hardware.boards]]", 'name = "local"', 'driver = "sim"', "relays = 4"]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_a_front_gateway_switches_the_back_through_a_scoped_token_and_survives_its_loss(tmp_path, back):
    front = start_server(tmp_path / "front", "--config", front_config(tmp_path, back))
    try:
        api = admin_session(front)
        base = "/restapi/relay/outlets/"
        assert wait_for(lambda: api.get(front.url(f"{base}0/physical_state/")).json() is True, timeout=10)
        assert api.put(front.url(f"{base}1/state/"), data="value=false", headers=FORM).status_code == 204
        # the back's outlet 3 (first_outlet 2 + 1) went off, and the front reads it back
        assert admin_session(back).get(back.url(f"{base}3/physical_state/")).json() is False
        assert api.get(front.url(f"{base}1/physical_state/")).json() is False
        states = api.get(front.url(f"{base}all;/physical_state/")).json()
        assert states == [True, False, True, True, True, True, True, True]

        back.stop()  # unplugged: only its outlets answer 503, within the timeout
        started = time.monotonic()
        refused = api.put(front.url(f"{base}0/state/"), data="value=false", headers=FORM)
        assert refused.status_code == 503
        assert time.monotonic() - started < 2 * 3.0 + 1
        assert api.put(front.url(f"{base}5/state/"), data="value=false", headers=FORM).status_code == 204
        assert api.get(front.url(f"{base}5/physical_state/")).json() is False

        restarted = start_server(back.data_dir, port=int(back.base.rsplit(":", 1)[1]))
        try:
            # back again by itself, with the front's configured states re-applied
            assert wait_for(lambda: api.get(front.url(f"{base}0/physical_state/")).json() is True, timeout=15)
            assert admin_session(restarted).get(restarted.url(f"{base}3/physical_state/")).json() is False
            assert admin_session(restarted).get(restarted.url(f"{base}2/physical_state/")).json() is True
        finally:
            restarted.stop()
    finally:
        front.stop()


def test_an_outlet_outside_the_token_scopes_keeps_the_board_offline_with_a_clear_reason(tmp_path, back):
    hardware = {"boards": [board_config(back, first_outlet=0)]}  # the token covers outlets 2-5 only
    controller = hw.build_controller(hardware)
    controller.start([True] * 4)
    try:
        handle = controller.board_of(0)
        assert wait_for(lambda: handle.status != "starting", timeout=10)
        assert handle.status == "offline"
        assert "403" in handle.last_error and "scopes" in handle.last_error
        assert TOKEN.split(".")[1] not in handle.last_error
    finally:
        controller.close()


def test_digest_credentials_work_too(back):
    controller = hw.build_controller(
        {"boards": [dict(board_config(back), token=None) | {"user": "admin", "password": ADMIN_PASSWORD}]}
    )
    controller.start([False, True, True, True])
    try:
        assert wait_for(lambda: controller.physical_states() == [False, True, True, True], timeout=10)
    finally:
        controller.close()
