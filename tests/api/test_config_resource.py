"""config/: identity leaves DLI clients read, and lockout_delay_minutes that only admins set."""

from __future__ import annotations

import powerctl
from tests.api.scripts_support import audit_lines, client


def test_version_as_a_matrix_answers_207_with_a_one_element_array(admin):
    response = admin.get("/restapi/config/=version/")
    assert response.status_code == 207
    assert response.data == f'["{powerctl.__version__}"]'.encode()


def test_config_object_lists_every_leaf(admin):
    response = admin.get("/restapi/config/")
    assert response.status_code == 200
    body = response.json
    assert body["version"] == powerctl.__version__
    assert body["brand_name"] == "powerctl" and body["brand_company_name"] == "powerctl"
    assert isinstance(body["serial"], str) and body["serial"]
    assert isinstance(body["hostname"], str)
    assert body["lockout_delay_minutes"] == 5
    assert (body["http_ports"], body["https_ports"]) == ([], [8443])


def test_gdm_reads_several_identity_leaves_in_one_request(admin):
    response = admin.get("/restapi/config/=version,serial,brand_company_name,brand_name/")
    assert response.status_code == 207 and len(response.json) == 4


def test_admins_set_the_lockout_delay_and_it_is_audited(app, admin):
    assert (
        admin.put(
            "/restapi/config/lockout_delay_minutes/",
            data="value=10",
            content_type="application/x-www-form-urlencoded",
        ).status_code
        == 204
    )
    assert admin.get("/restapi/config/lockout_delay_minutes/").json == 10
    assert admin.put("/restapi/config/lockout_delay_minutes/", json=-1).status_code == 400
    assert "Config: lockout_delay_minutes set to 10 by user admin from 127.0.0.1" in audit_lines(app)


def test_a_client_may_read_config_but_never_write_the_lockout_delay(app, admin):
    api = client(app, admin, "ops", {"/config/": True})
    assert api.get("/restapi/config/=version/").json == [powerctl.__version__]
    refused = api.put("/restapi/config/lockout_delay_minutes/", json=0)
    assert refused.status_code == 403 and "only admins" in refused.json["message"]
    assert admin.get("/restapi/config/lockout_delay_minutes/").json == 5


def test_identity_leaves_are_read_only(admin):
    for leaf in ("version", "serial", "hostname", "http_ports"):
        assert admin.put(f"/restapi/config/{leaf}/", json="x").status_code == 405, leaf
