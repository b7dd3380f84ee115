"""The TLS trust file follows the registered CAs, also those registered by another instance."""

from __future__ import annotations

import time

from fleetserver import create_app, shutdown
from fleetserver.trust import trust_file
from tests.fleetserver.conftest import Admin
from tests.fleetserver.support import make_ca


def register(admin, ca) -> str:
    code = admin.get("/registration-code").json["registrationCode"]
    return admin.post(
        "/ca-certificates",
        json={"caCertificate": ca.cert_pem, "verificationCertificate": ca.verification_certificate(code)},
    ).json["certificateId"]


def test_registering_and_deleting_a_ca_rewrites_the_file_at_once(fleet_app, admin):
    path = trust_file(fleet_app.extensions["powerctl.fleet"].data_dir)
    assert path.read_text() == ""
    ca = make_ca()
    ident = register(admin, ca)
    assert path.read_text() == ca.cert_pem
    admin.delete(f"/ca-certificates/{ident}")
    assert path.read_text() == ""


def test_another_instance_on_the_same_database_picks_up_a_new_ca(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("POWERCTL_FLEET_ADMIN_TOKEN", "t")
    apps = [
        create_app({"data_dir": str(tmp_path / name), "database": database_url, "trust_refresh_seconds": 0.1})
        for name in ("one", "two")
    ]
    try:
        ca = make_ca()
        register(Admin(apps[0].test_client(), "t"), ca)
        other = trust_file(str(tmp_path / "two"))
        deadline = time.monotonic() + 10
        while other.read_text() != ca.cert_pem and time.monotonic() < deadline:
            time.sleep(0.05)
        assert other.read_text() == ca.cert_pem
    finally:
        for app in apps:
            shutdown(app)
