"""auth/users/: admins manage users, users change their own password with DLI's form, and a
non-admin user reaches only the outlets of its outlet_access."""

from __future__ import annotations

from powerctl.store import users as store
from tests.support import ADMIN_PASSWORD, Api

FORM = {"content_type": "application/x-www-form-urlencoded"}


def user_api(app, name, password):
    return Api(app.test_client(), user=name, password=password)


def add(admin, name, password="s3cret-pass", **fields):
    response = admin.put(f"/restapi/auth/users/{name}/", json={"password": password, **fields})
    assert response.status_code == 204, response.json
    return response


def audit_lines(app):
    return app.extensions["powerctl.audit"].tail(50)


def test_admin_creates_lists_and_deletes_users_never_showing_a_password(app, admin):
    response = admin.post(
        "/restapi/auth/users/", json={"name": "alice", "password": "s3cret-pass", "is_admin": True}
    )
    assert response.status_code == 200, response.json
    assert response.json == {"name": "alice", "is_admin": True, "is_allowed": True, "outlet_access": []}
    add(admin, "bob", outlet_access=[True, False, True])
    listed = admin.get("/restapi/auth/users/")
    assert listed.status_code == 200
    assert set(listed.json) == {"admin", "alice", "bob"}
    assert listed.json["bob"]["outlet_access"] == [True, False, True]
    text = listed.get_data(as_text=True)
    assert "password" not in text and "ha1" not in text
    assert store.user(app.extensions["powerctl.db"], "bob").ha1 not in text
    assert admin.delete("/restapi/auth/users/bob/").status_code == 204
    assert "bob" not in admin.get("/restapi/auth/users/").json
    lines = audit_lines(app)
    assert any("User alice created by user admin" in line for line in lines)
    assert any("User bob deleted by user admin" in line for line in lines)
    assert not any("s3cret-pass" in line for line in lines)


def test_post_of_an_existing_user_is_a_conflict(admin):
    response = admin.post("/restapi/auth/users/", json={"name": "admin", "password": "s3cret-pass"})
    assert response.status_code == 409


def test_password_rules(admin):
    for bad in ("1234", "short"):
        response = admin.put("/restapi/auth/users/carol/", json={"password": bad})
        assert response.status_code == 400, bad
    assert "carol" not in admin.get("/restapi/auth/users/").json


def test_the_last_admin_is_never_deleted_nor_demoted(app, admin):
    assert admin.delete("/restapi/auth/users/admin/").status_code == 409
    assert admin.put("/restapi/auth/users/admin/", json={"is_admin": False}).status_code == 409
    add(admin, "second", is_admin=True)
    assert admin.delete("/restapi/auth/users/admin/").status_code == 204
    second = user_api(app, "second", "s3cret-pass")
    assert second.delete("/restapi/auth/users/second/").status_code == 409


def test_admin_changes_any_password_and_the_next_login_uses_it(app, admin):
    add(admin, "dave", outlet_access=[True])
    assert admin.put("/restapi/auth/users/dave/", json={"password": "another-pass"}).status_code == 204
    assert user_api(app, "dave", "s3cret-pass").get("/restapi/relay/outlets/0/").status_code == 401
    assert user_api(app, "dave", "another-pass").get("/restapi/relay/outlets/0/").status_code == 200
    # the rest of the record is kept
    assert admin.get("/restapi/auth/users/dave/").json["outlet_access"] == [True]


def test_dli_password_change_form_with_prefer_representation(app, admin):
    """What a DLI provisioning client sends: PATCH of the admins, form old/new password."""
    response = admin.request(
        "PATCH",
        "/restapi/auth/users/is_admin=true/",
        data=f"old_password={ADMIN_PASSWORD}&new_password=brand-new-pass",
        headers={"Prefer": "return=representation"},
        **FORM,
    )
    assert response.status_code == 207, response.json
    assert response.json == [{"name": "admin", "is_admin": True, "is_allowed": True, "outlet_access": []}]
    assert admin.get("/restapi/").status_code == 401
    assert user_api(app, "admin", "brand-new-pass").get("/restapi/").status_code == 200
    assert any("User admin password changed by user admin" in line for line in audit_lines(app))


def test_user_changes_its_own_password_and_sees_only_itself(app, admin):
    add(admin, "erin")
    erin = user_api(app, "erin", "s3cret-pass")
    listed = erin.get("/restapi/auth/users/")
    assert listed.status_code == 200 and set(listed.json) == {"erin"}
    assert erin.get("/restapi/auth/users/admin/").status_code == 404
    response = erin.request(
        "PATCH",
        "/restapi/auth/users/erin/",
        data="old_password=s3cret-pass&new_password=erins-new-pass",
        headers={"Prefer": "return=representation"},
        **FORM,
    )
    assert response.status_code == 200, response.json
    assert response.json["name"] == "erin"
    assert user_api(app, "erin", "erins-new-pass").get("/restapi/auth/users/erin/").status_code == 200


def test_a_user_cannot_make_itself_admin_nor_touch_others(app, admin):
    add(admin, "frank")
    frank = user_api(app, "frank", "s3cret-pass")
    assert frank.put("/restapi/auth/users/frank/", json={"is_admin": True}).status_code == 403
    assert frank.put("/restapi/auth/users/frank/", json={"password": "no-old-given"}).status_code == 403
    assert frank.delete("/restapi/auth/users/frank/").status_code == 403
    assert frank.put("/restapi/auth/users/mallory/", json={"password": "s3cret-pass"}).status_code == 403
    assert (
        frank.post("/restapi/auth/users/", json={"name": "m", "password": "s3cret-pass"}).status_code == 403
    )
    assert admin.get("/restapi/auth/users/frank/").json["is_admin"] is False
    assert "mallory" not in admin.get("/restapi/auth/users/").json


def test_a_wrong_old_password_is_403_and_counts_as_a_failed_login(make_app):
    app = make_app(auth={"max_failures": 2})
    admin = Api(app.test_client())
    add(admin, "gina")
    gina = user_api(app, "gina", "s3cret-pass")
    wrong = "old_password=not-my-password&new_password=whatever-new"
    response = gina.request("PATCH", "/restapi/auth/users/gina/", data=wrong, **FORM)
    assert response.status_code == 403, response.json
    assert user_api(app, "gina", "s3cret-pass").get("/restapi/auth/users/gina/").status_code == 200
    gina.request("PATCH", "/restapi/auth/users/gina/", data=wrong, **FORM)
    locked = gina.get("/restapi/auth/users/gina/")
    assert locked.status_code == 403 and "lockout" in locked.json["message"]


def test_a_non_admin_user_reaches_only_its_outlets_all_or_nothing(app, admin):
    add(admin, "hank", outlet_access=[True, False, True])
    hank = user_api(app, "hank", "s3cret-pass")
    on = {"data": "value=true", **FORM}
    assert admin.put("/restapi/relay/outlets/all;/state/", data="value=false", **FORM).status_code == 207
    assert hank.put("/restapi/relay/outlets/0/state/", **on).status_code == 204
    assert hank.put("/restapi/relay/outlets/2/state/", **on).status_code == 204
    assert hank.put("/restapi/relay/outlets/1/state/", **on).status_code == 403
    assert hank.put("/restapi/relay/outlets/=0,1/state/", **on).status_code == 403
    assert admin.get("/restapi/relay/outlets/1/state/").json is False  # nothing of it happened
    assert hank.get("/restapi/relay/outlets/=0,2/state/").status_code == 207
    assert hank.get("/restapi/relay/outlets/").status_code == 403
    assert hank.put("/restapi/relay/outlets/0/name/", data="value=x", **FORM).status_code == 403
    assert hank.get("/restapi/config/").status_code == 403
    assert hank.get("/restapi/auth/clients/").status_code == 403
    # the grants follow the record from the next request
    assert admin.put("/restapi/auth/users/hank/", json={"outlet_access": [False, True]}).status_code == 204
    assert hank.put("/restapi/relay/outlets/1/state/", **on).status_code == 204
    assert hank.put("/restapi/relay/outlets/0/state/", **on).status_code == 403


def test_fields_are_json_booleans_and_a_user_is_always_allowed(admin):
    for body in (
        {"password": "s3cret-pass", "is_admin": 1},
        {"password": "s3cret-pass", "outlet_access": [0]},
        {"password": "s3cret-pass", "outlet_access": ["true"]},
        {"password": "s3cret-pass", "is_allowed": False},
        {"password": "s3cret-pass", "surprise": True},
    ):
        assert admin.put("/restapi/auth/users/ivy/", json=body).status_code == 400, body
    assert "ivy" not in admin.get("/restapi/auth/users/").json
