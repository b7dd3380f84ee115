"""Controllers' HTTPS certificates: the next pair staged before expiry, promotion, early rotation.

The fleet server's clock is the controllers' `clock` (no global datetime patching); the renewal
window and validity are the fleet's settings, set through their environment variables.
"""

from __future__ import annotations

import datetime
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from alembic.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import create_engine, inspect, text

from fleetserver import pki
from fleetserver.database import FleetDatabase, normalise_url
from fleetserver.sync import sync
from powerctl.fleet.bundle import parse_result
from powerctl.fleet.certs import check
from tests.fleetserver.conftest import Admin
from tests.fleetserver.support import make_ca

C1 = "95d8cd00-5bba-46e5-ae33-f1e4b2d65e6e"
C2 = "c89723f7-03a3-423d-a556-7eba4270d064"
URL = "https://gw1.example:8443/restapi/auth/fleet/notify/"
SYNC = {"id": "_ID_", "api": "3", "method": "cloud.access_keys_controller_sync", "params": {}}
DAY = datetime.timedelta(days=1)


def der(issued) -> bytes:
    return issued.cert.public_bytes(serialization.Encoding.DER)


def load(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def names(pem: str) -> list[str]:
    san = load(pem).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(getattr(name.value, "compressed", name.value)) for name in san]


class Socket:
    """What the server hands the app: the TLS connection with the controller's client certificate."""

    def __init__(self, data: bytes):
        self.data = data

    def getpeercert(self, binary_form: bool = False) -> bytes:
        assert binary_form
        return self.data


class Fleet:
    """One fleet server app, a registered CA and one enrolled controller (C1, with a URL)."""

    def __init__(self, app):
        self.app = app
        self.state = app.extensions["powerctl.fleet"]
        self.admin = Admin(app.test_client())
        self.notices: list = []
        self.state.notifier.send = lambda notices: self.notices.extend(n for n in notices if n is not None)
        self.ca = make_ca()
        code = self.admin.get("/registration-code").json["registrationCode"]
        answer = self.admin.post(
            "/ca-certificates",
            json={
                "caCertificate": self.ca.cert_pem,
                "setAsActive": True,
                "verificationCertificate": self.ca.verification_certificate(code),
            },
        )
        assert answer.status_code == 201, answer.json

    def enroll(self, uuid: str = C1, url: str | None = URL):
        assert (
            self.admin.post(
                "/controllers", json={"uuid": uuid, "serial": "70010111", "notify_url": url}
            ).status_code
            == 201
        )
        me = self.ca.issue(uuid)
        answer = self.admin.post("/certificates", json={"certificatePem": me.cert_pem, "status": "ACTIVE"})
        assert answer.status_code == 201, answer.json
        return me

    def rpc(self, me) -> dict:
        """The sync call as a controller makes it, through POST /rpc."""
        answer = self.app.test_client().post(
            "/rpc", json=SYNC, environ_base={"powerctl.tls": Socket(der(me))}
        )
        assert answer.status_code == 200, answer.json
        return answer.json["result"]

    def at(self, moment: datetime.datetime) -> None:
        """Set the fleet server's clock."""
        self.state.controllers.clock = lambda: moment

    def version(self, uuid: str = C1) -> int:
        return self.admin.get(f"/controllers/{uuid}").json["version"]


@pytest.fixture
def fleet(fleet_app):
    return Fleet(fleet_app)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def in_window(fleet, me) -> datetime.datetime:
    """Move the fleet's clock 10 days before the current certificate ends (default window: 30)."""
    old = load(fleet.rpc(me)["current"][0]["certificate"])
    moment = old.not_valid_after_utc - 10 * DAY
    fleet.at(moment)
    return moment


def test_a_certificate_inside_the_renewal_window_gets_a_next_one_staged(fleet):
    me = fleet.enroll()
    moment = in_window(fleet, me)
    result = fleet.rpc(me)
    assert result["version"] == 2
    assert [n.version for n in fleet.notices] == [2]  # told, like every other change
    first, second = result["current"]
    current, nxt = load(first["certificate"]), load(second["certificate"])
    parent = load(second["public_parent"])
    nxt.verify_directly_issued_by(parent)
    assert second["public_parent"] == first["public_parent"] == fleet.state.chain
    key = serialization.load_pem_private_key(second["private"].encode(), None)
    assert key.public_key().public_numbers() == nxt.public_key().public_numbers()
    assert nxt.public_key().public_numbers() != current.public_key().public_numbers()
    assert names(second["certificate"]) == names(first["certificate"])
    assert "gw1.example" in names(second["certificate"])
    # valid from shortly before it was issued, and past the end of the current one
    assert moment - datetime.timedelta(minutes=10) < nxt.not_valid_before_utc <= moment
    assert current.not_valid_after_utc + 700 * DAY < nxt.not_valid_after_utc
    # the gateway accepts the bundle then, and the next entry when the current one expires
    assert len(parse_result(result, moment).current) == 2
    check(
        (second["certificate"], second["private"], second["public_parent"]),
        1,
        current.not_valid_after_utc + datetime.timedelta(seconds=1),
    )
    described = fleet.admin.get(f"/controllers/{C1}").json
    assert described["next_certificate_expires"] == nxt.not_valid_after_utc.isoformat()
    # staged once: the next syncs get the same two entries at the same version
    assert fleet.rpc(me) == result
    assert fleet.version() == 2 and len(fleet.notices) == 1


def test_outside_the_window_the_bundle_has_one_certificate_and_no_change(fleet):
    me = fleet.enroll()
    result = fleet.rpc(me)
    assert len(result["current"]) == 1 and result["version"] == 1
    assert fleet.admin.get(f"/controllers/{C1}").json["next_certificate_expires"] is None
    assert fleet.notices == []


def test_concurrent_syncs_stage_one_next_pair_and_bump_once(fleet):
    me = fleet.enroll()
    in_window(fleet, me)
    state = fleet.state
    notices: list = []
    lock = threading.Lock()

    def notify(batch):
        with lock:
            notices.extend(n for n in batch if n is not None)

    start = threading.Barrier(8)

    def one(_):
        start.wait(timeout=30)
        return sync(state.db, der(me), state.fleet_peer, state.chain, state.controllers, notify)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(8)))
    assert {r["version"] for r in results} == {2}
    assert len({r["current"][1]["certificate"] for r in results}) == 1
    assert all(len(r["current"]) == 2 for r in results)
    assert [n.version for n in notices] == [2]
    assert fleet.version() == 2


def test_rotate_stages_a_next_pair_now_and_replaces_a_staged_one(fleet):
    me = fleet.enroll()
    before = fleet.rpc(me)["current"][0]
    answer = fleet.admin.post(f"/controllers/{C1}/rotate")
    assert answer.status_code == 200 and answer.json == {"version": 2}
    assert [n.version for n in fleet.notices] == [2]
    first = fleet.rpc(me)
    assert first["version"] == 2 and first["current"][0] == before  # still served until it ends
    staged = first["current"][1]
    assert len(parse_result(first).current) == 2
    # rotating again replaces the staged pair (say its key leaked)
    assert fleet.admin.post(f"/controllers/{C1}/rotate", json={}).json == {"version": 3}
    second = fleet.rpc(me)
    assert second["current"][0] == before and second["current"][1]["private"] != staged["private"]


def test_rotate_immediate_replaces_the_current_pair_at_once(fleet):
    me = fleet.enroll()
    fleet.admin.post(f"/controllers/{C1}/rotate")
    before = fleet.rpc(me)["current"]
    answer = fleet.admin.post(f"/controllers/{C1}/rotate", json={"immediate": True})
    assert answer.json == {"version": 3}
    (current,) = fleet.rpc(me)["current"]
    assert current["private"] not in {entry["private"] for entry in before}
    assert len(parse_result(fleet.rpc(me)).current) == 1


def test_rotate_refuses_unknown_denied_and_malformed(fleet):
    assert fleet.admin.post(f"/controllers/{C1}/rotate").status_code == 404
    fleet.enroll()
    assert fleet.admin.post("/controllers/NOT-A-UUID/rotate").status_code == 400
    for bad in ({"immediate": True, "extra": 1}, {"immediate": "maybe"}, [True]):
        assert fleet.admin.post(f"/controllers/{C1}/rotate", json=bad).status_code == 400, bad
    assert fleet.version() == 1
    fleet.admin.delete(f"/controllers/{C1}")
    answer = fleet.admin.post(f"/controllers/{C1}/rotate")
    assert answer.status_code == 404 and answer.json["code"] == 404
    assert fleet.notices == []
    refused = Admin(fleet.app.test_client(), token=None).post(f"/controllers/{C2}/rotate")
    assert refused.status_code == 401


def test_the_staged_pair_becomes_current_once_the_current_one_expires(fleet):
    me = fleet.enroll()
    old = load(fleet.rpc(me)["current"][0]["certificate"])
    fleet.at(old.not_valid_after_utc - 10 * DAY)  # inside the default 30-day window
    staged = fleet.rpc(me)
    assert staged["version"] == 2 and len(staged["current"]) == 2
    later = old.not_valid_after_utc + datetime.timedelta(minutes=1)
    fleet.at(later)
    promoted = fleet.rpc(me)
    assert promoted["version"] == 3
    assert promoted["current"] == [staged["current"][1]]  # the same pair the gateway rotated to
    assert len(parse_result(promoted, later).current) == 1  # valid at that moment
    assert [n.version for n in fleet.notices] == [2, 3]
    assert fleet.rpc(me)["version"] == 3


@pytest.mark.parametrize("staged", [False, True])
def test_a_controller_that_missed_the_window_gets_a_fresh_certificate(fleet, staged):
    me = fleet.enroll()
    old = fleet.rpc(me)["current"][0]
    if staged:  # staged, then offline until the staged one expired too
        fleet.admin.post(f"/controllers/{C1}/rotate")
    later = load(old["certificate"]).not_valid_after_utc + 900 * DAY
    fleet.at(later)
    result = fleet.rpc(me)
    assert result["version"] == (3 if staged else 2)
    (current,) = result["current"]
    assert current["private"] != old["private"]
    parse_result(result, later)  # the gateway takes it: valid at that moment, verified
    assert "gw1.example" in names(current["certificate"])


def test_a_new_notify_url_drops_the_staged_pair_and_renames_both(fleet):
    me = fleet.enroll()
    fleet.admin.post(f"/controllers/{C1}/rotate")
    assert len(fleet.rpc(me)["current"]) == 2
    answer = fleet.admin.patch(f"/controllers/{C1}", json={"notify_url": "https://gw2.example/n/"})
    assert answer.json["version"] == 3
    (current,) = fleet.rpc(me)["current"]
    assert "gw2.example" in names(current["certificate"])
    assert "gw1.example" not in names(current["certificate"])
    fleet.at(load(current["certificate"]).not_valid_after_utc - DAY)
    nxt = fleet.rpc(me)["current"][1]
    assert "gw2.example" in names(nxt["certificate"])
    assert "gw1.example" not in names(nxt["certificate"])


def test_validity_and_window_are_fleet_settings_kept_in_the_database(make_fleet, database_url, monkeypatch):
    monkeypatch.setenv("POWERCTL_FLEET_SERVER_CERT_DAYS", "10")
    monkeypatch.setenv("POWERCTL_FLEET_RENEW_BEFORE_DAYS", "3")
    fleet = Fleet(make_fleet(database_url))
    me = fleet.enroll()
    current = load(fleet.rpc(me)["current"][0]["certificate"])
    assert datetime.timedelta(days=9) < current.not_valid_after_utc - now() <= 10 * DAY
    fleet.at(current.not_valid_after_utc - 4 * DAY)
    assert len(fleet.rpc(me)["current"]) == 1
    fleet.at(current.not_valid_after_utc - 2 * DAY)
    assert len(fleet.rpc(me)["current"]) == 2
    # another instance (or a restart) without the variables uses the stored values
    monkeypatch.delenv("POWERCTL_FLEET_SERVER_CERT_DAYS")
    monkeypatch.delenv("POWERCTL_FLEET_RENEW_BEFORE_DAYS")
    policy = make_fleet(database_url).extensions["powerctl.fleet"].controllers.policy
    assert (policy.validity_days, policy.renew_before_days) == (10, 3)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # backend-independent
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("POWERCTL_FLEET_SERVER_CERT_DAYS", "0"),
        ("POWERCTL_FLEET_RENEW_BEFORE_DAYS", "-1"),
        ("POWERCTL_FLEET_RENEW_BEFORE_DAYS", "soon"),
        ("POWERCTL_FLEET_RENEW_BEFORE_DAYS", "825"),
    ],
)
def test_a_bad_setting_stops_the_start(make_fleet, database_url, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=variable):
        make_fleet(database_url)


def test_the_migration_upgrades_an_existing_database(empty_database_url, make_fleet):
    """A database made by the first schema, with a controller in it, upgrades in place."""
    issuer = pki.new_issuer()
    cert, key = pki.issue_server(*issuer, C1, URL)
    engine = create_engine(normalise_url(empty_database_url))
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", "fleetserver:migrations")
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
            connection.execute(
                text(
                    "INSERT INTO controllers (uuid, serial, notify_url, version, fleet_token,"
                    " server_cert_pem, server_key_pem, created) VALUES (:uuid, '70010111', :url, 7,"
                    " 'token', :cert, :key, CURRENT_TIMESTAMP)"
                ),
                {"uuid": C1, "url": URL, "cert": cert, "key": key},
            )
            connection.execute(
                text("INSERT INTO settings (key, value) VALUES ('issuer', :pair)"),
                {"pair": json.dumps(issuer)},
            )
    finally:
        engine.dispose()
    db = FleetDatabase(empty_database_url)
    try:
        db.migrate()
    finally:
        db.close()
    engine = create_engine(normalise_url(empty_database_url))
    try:
        with engine.connect() as connection:
            columns = {c["name"] for c in inspect(connection).get_columns("controllers")}
    finally:
        engine.dispose()
    assert {"next_cert_pem", "next_key_pem"} <= columns
    fleet = Fleet(make_fleet(empty_database_url))
    described = fleet.admin.get(f"/controllers/{C1}").json
    assert described["version"] == 7 and described["next_certificate_expires"] is None
    me = fleet.ca.issue(C1)
    assert (
        fleet.admin.post(
            "/certificates", json={"certificatePem": me.cert_pem, "status": "ACTIVE"}
        ).status_code
        == 201
    )
    assert fleet.rpc(me)["current"] == [{"certificate": cert, "private": key, "public_parent": issuer[0]}]
    assert fleet.admin.post(f"/controllers/{C1}/rotate").json == {"version": 8}
    assert len(parse_result(fleet.rpc(me)).current) == 2
