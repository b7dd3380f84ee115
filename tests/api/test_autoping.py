"""autoping/ over the Flask test client: the tree, validation, scopes and the store."""

from __future__ import annotations

from tests.api.clients_support import HELLO_HASH, register
from tests.support import Api

ITEM = {"addresses": ["tcp://127.0.0.1:9"], "outlets": [2], "enabled": False}


def test_tree_has_the_dli_settings_and_defaults(admin):
    tree = admin.get("/restapi/autoping/").get_json()
    assert tree == {
        "enabled": True,
        "ping_interval": 10.0,
        "ping_timeout": 2.0,
        "post_reboot_delay": 60.0,
        "max_reboot_count": 0,
        "max_consecutive_reboot_count": 3,
        "pings_before_enabling": 10,
        "failures_before_reboot": 3,
        "items": [],
    }


def test_post_answers_the_new_index_put_replaces_delete_removes(admin):
    assert admin.post("/restapi/autoping/items/", json=ITEM).get_json() == 0
    assert admin.post("/restapi/autoping/items/", json={**ITEM, "outlets": [3]}).get_json() == 1
    item = admin.get("/restapi/autoping/items/1/").get_json()
    assert item == {
        "addresses": ["tcp://127.0.0.1:9"],
        "outlets": [3],
        "enabled": False,
        "pings_before_enabling": None,
        "script": "",
        "resumption_trial": False,
        "status": "disabled",
        "tx": 0,
        "rx": 0,
        "hits": 0,
        "reason": "",
    }
    # what a GET answered may be sent back: the read-only fields are ignored
    assert admin.put("/restapi/autoping/items/1/", json={**item, "outlets": [4]}).status_code == 204
    assert admin.get("/restapi/autoping/items/1/outlets/").status_code == 404
    assert admin.get("/restapi/autoping/items/1/").get_json()["outlets"] == [4]
    assert admin.put("/restapi/autoping/items/2/", json=ITEM).status_code == 204  # the next index creates
    assert admin.delete("/restapi/autoping/items/0/").status_code == 204
    assert [i["outlets"] for i in admin.get("/restapi/autoping/items/").get_json()] == [[4], [2]]
    assert admin.get("/restapi/autoping/items/all;outlets=2/").status_code == 207
    lines = admin.client.application.extensions["powerctl.audit"].tail(20)
    assert any(line.startswith("AutoPing item 1 replaced by user admin") for line in lines)


BAD_ITEMS = [
    ({"outlets": [1]}, "addresses"),
    ({**ITEM, "addresses": []}, "addresses"),
    ({**ITEM, "addresses": ["not a host"]}, "addresses"),
    ({**ITEM, "addresses": ["ftp://x/"]}, "addresses"),
    ({**ITEM, "addresses": ["tcp://h"]}, "addresses"),
    ({**ITEM, "outlets": [8]}, "outlets"),
    ({**ITEM, "outlets": [1, 1]}, "outlets"),
    ({**ITEM, "outlets": []}, "outlets"),
    ({**ITEM, "script": "nope"}, "script"),
    ({**ITEM, "enabled": "yes"}, "enabled"),
    ({**ITEM, "pings_before_enabling": -1}, "pings_before_enabling"),
    ({**ITEM, "colour": "red"}, "colour"),
    ([ITEM], None),
]
BAD_SETTINGS = [
    ("ping_interval", 0),
    ("ping_interval", "soon"),
    ("max_reboot_count", -1),
    ("max_reboot_count", 1.5),
    ("failures_before_reboot", 0),
    ("enabled", "maybe"),
]


def test_a_bad_item_is_400_with_the_envelope_and_nothing_written(admin):
    assert admin.post("/restapi/autoping/items/", json=ITEM).status_code == 200
    for body, where in BAD_ITEMS:
        for method, path in (("post", "/restapi/autoping/items/"), ("put", "/restapi/autoping/items/0/")):
            answer = getattr(admin, method)(path, json=body)
            assert answer.status_code == 400, (method, body, answer.get_data(as_text=True))
            envelope = answer.get_json()
            assert envelope["code"] == 400 and envelope["status"] == "Bad Request"
            assert where is None or where in str(envelope["errors"]), (body, envelope)
    assert admin.get("/restapi/autoping/items/").get_json()[0]["outlets"] == [2]
    assert len(admin.get("/restapi/autoping/items/").get_json()) == 1


def test_a_bad_setting_is_400(admin):
    for path, value in BAD_SETTINGS:
        before = admin.get(f"/restapi/autoping/{path}/").get_json()
        answer = admin.put(f"/restapi/autoping/{path}/", json=value)
        assert answer.status_code == 400 and answer.get_json()["code"] == 400, (path, value)
        assert admin.get(f"/restapi/autoping/{path}/").get_json() == before


def test_settings_and_items_survive_a_restart(make_app):
    admin = Api(make_app().test_client())
    assert admin.put("/restapi/autoping/ping_interval/", data={"value": "0.5"}).status_code == 204
    assert admin.post("/restapi/autoping/items/", json=ITEM).status_code == 200
    again = Api(make_app().test_client())
    assert again.get("/restapi/autoping/ping_interval/").get_json() == 0.5
    assert again.get("/restapi/autoping/items/0/").get_json()["addresses"] == ITEM["addresses"]


def test_items_declared_in_the_config_seed_the_first_start(make_app):
    declared = {"autoping": {"ping_interval": 30, "items": [{**ITEM, "outlets": [5]}]}}
    admin = Api(make_app(**declared).test_client())
    assert admin.get("/restapi/autoping/ping_interval/").get_json() == 30
    assert admin.get("/restapi/autoping/items/0/outlets/").status_code == 404
    assert admin.delete("/restapi/autoping/items/0/").status_code == 204
    # the store wins once seeded: a deleted item does not come back from the file
    again = Api(make_app(**declared).test_client())
    assert again.get("/restapi/autoping/items/").get_json() == []


def test_clients_need_scopes_and_may_only_cycle_what_they_could(admin, app):
    scopes = {
        "/autoping/items/?access=get,invoke,modify": True,
        "/relay/outlets/2/cycle/?access=invoke": True,
    }
    body = {"name": "watcher", "redirect_urls": {}, "scopes": scopes, "refresh_tokens": {}}
    assert register(admin, "watcher", {**body, "access_tokens": {HELLO_HASH: {}}}).status_code == 204
    client = Api(app.test_client(), bearer="watcher.SGVsbG8")
    assert client.get("/restapi/autoping/enabled/").status_code == 403
    assert client.post("/restapi/autoping/items/", json=ITEM).get_json() == 0
    refused = client.post("/restapi/autoping/items/", json={**ITEM, "outlets": [3]})
    assert refused.status_code == 403 and "/relay/outlets/3/cycle/" in refused.get_json()["message"]
    assert client.put("/restapi/autoping/items/0/", json={**ITEM, "outlets": [3]}).status_code == 403
    assert client.get("/restapi/autoping/items/").get_json()[0]["outlets"] == [2]
    lines = app.extensions["powerctl.audit"].tail(30)
    assert any("access denied for watcher" in line and "/relay/outlets/3/cycle/" in line for line in lines)


def test_a_matrix_delete_removes_the_items_it_names(admin):
    for outlet in range(4):
        assert admin.post("/restapi/autoping/items/", json={**ITEM, "outlets": [outlet]}).status_code == 200
    assert admin.delete("/restapi/autoping/items/=0,2/").status_code == 204
    assert [i["outlets"] for i in admin.get("/restapi/autoping/items/").get_json()] == [[1], [3]]


def test_reset_statistics_is_a_call(admin):
    assert admin.post("/restapi/autoping/reset_statistics/").status_code == 200
    assert admin.get("/restapi/autoping/reset_statistics/").status_code == 405
