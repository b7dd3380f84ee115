"""A resource declares its nodes' policies and batches; the gate and the dispatcher heed them."""

from __future__ import annotations

import pytest
from marshmallow import fields

from powerctl.access import AccessPolicy
from powerctl.restapi.tree import Batch, Branch, Call, Collection, KeyPath, Tree, Value, owner
from scopes import Access
from tests.api.sessions_support import add_client

ADMINS_ONLY = "client {} may not do this: this path is for admins only"


def lamp_node(calls: list) -> Branch:
    """A resource as a module would declare it: every policy and batch next to its node."""
    level = {"value": 3}

    def pressers(keys: KeyPath, _body, access: Access) -> list[tuple[KeyPath, Access]]:
        return [((*keys[:-1], "press"), Access.INVOKE)] if access == Access.GET else []

    bulb = Branch(
        {
            "on": Value(
                fields.Boolean(),
                read=lambda keys: owner(keys) == "1",
                batch=Batch(read=lambda keys_list: calls.append(("read", keys_list)) or [False, True, False]),
            ),
            "flash": Call(
                lambda keys, _body, _who: calls.append(("one", keys)),
                batch=Batch(invoke=lambda keys_list, _body, _who: [calls.append(("all", keys_list))] * 3),
            ),
        }
    )
    return Branch(
        {
            "level": Value(
                fields.Integer(),
                read=lambda _keys: level["value"],
                write=lambda _keys, value, _who: level.update(value=value),
                policy=AccessPolicy(admin_write=True),
            ),
            "note": Value(fields.String(), read=lambda _keys: "hi", policy=AccessPolicy(covered_by=pressers)),
            "press": Call(lambda _keys, _body, _who: 1),
            "service": Branch(
                {
                    "key": Value(fields.String(), read=lambda _keys: "k"),
                    "log": Value(
                        fields.String(), read=lambda _keys: "", policy=AccessPolicy(open_to_clients=True)
                    ),
                },
                policy=AccessPolicy(admin_only=True),
            ),
            "bulbs": Collection(keys=lambda _prefix: ["0", "1", "2"], item=bulb, stable=True),
        }
    )


@pytest.fixture
def lamp(app):
    """The tree with the lamp mounted: the one line create_app would have."""
    calls: list = []
    root = app.extensions["powerctl.tree"].root
    app.extensions["powerctl.tree"] = Tree(Branch({**root.children, "lamp": lamp_node(calls)}))
    return calls


def test_admin_write_refuses_clients_whatever_their_scopes(app, admin, lamp):
    client = add_client(app, admin, "c1", {"/lamp/level/": True})
    assert client.get("/restapi/lamp/level/").json == 3
    refused = client.put("/restapi/lamp/level/", json=5)
    assert refused.status_code == 403
    assert refused.json["message"] == "client c1 may not do this: only admins may change /lamp/level/"
    assert admin.put("/restapi/lamp/level/", json=5).status_code == 204
    assert client.get("/restapi/lamp/level/").json == 5


def test_covered_by_names_the_grant_that_also_authorises(app, admin, lamp):
    presser = add_client(app, admin, "presser", {"/lamp/press/?access=invoke": True})
    other = add_client(app, admin, "other", {"/lamp/level/": True})
    assert presser.get("/restapi/lamp/note/").json == "hi"
    assert other.get("/restapi/lamp/note/").status_code == 403
    assert presser.get("/restapi/lamp/level/").status_code == 403  # a grant for note/ alone


def test_admin_only_closes_a_subtree_and_open_to_clients_reopens_a_node(app, admin, lamp):
    wide = add_client(app, admin, "wide", {"/": True})
    refused = wide.get("/restapi/lamp/service/key/")
    assert refused.status_code == 403 and refused.json["message"] == ADMINS_ONLY.format("wide")
    assert wide.get("/restapi/lamp/service/log/").status_code == 200
    assert "service" not in wide.get("/restapi/lamp/").json
    assert admin.get("/restapi/lamp/service/key/").json == "k"


def test_a_batch_answers_a_matrix_in_one_call(app, admin, lamp):
    client = add_client(app, admin, "c1", {"/lamp/bulbs/": True})
    assert client.get("/restapi/lamp/bulbs/all;/on/").json == [False, True, False]
    assert lamp == [("read", [("lamp", "bulbs", str(i), "on") for i in range(3)])]
    lamp.clear()
    assert client.get("/restapi/lamp/bulbs/1/on/").json is True  # one member: read, no batch
    assert client.post("/restapi/lamp/bulbs/all;/flash/").status_code == 207
    assert lamp == [("all", [("lamp", "bulbs", str(i), "flash") for i in range(3)])]


def test_a_policy_or_batch_that_cannot_hold_is_refused_when_declared():
    with pytest.raises(ValueError, match="admin-only or open to clients"):
        AccessPolicy(admin_only=True, open_to_clients=True)
    with pytest.raises(TypeError):
        Value(fields.Raw(), read=lambda _keys: None, batch=Batch(invoke=lambda *_: []))
    with pytest.raises(TypeError):
        Call(lambda *_: None, batch=Batch(read=lambda _keys_list: []))
