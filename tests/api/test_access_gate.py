"""The one access gate: every route and every admin-only node refuses a bearer client alike."""

from __future__ import annotations

import pytest

from powerctl.restapi.tree import Branch, Call, Collection, Node, Value
from tests.api.sessions_support import add_client

# Routes anyone may read: the contract and the page's static files hold no device data, and
# DSP0266 has Redfish's root, its OData documents and session login open to all; a URI that is no
# Redfish resource is 404 to anyone, as an unknown path is.
PUBLIC = {
    "redfish.unknown",
    "openapi.document",
    "web.static",
    "static",
    "redfish.redfish",
    "redfish.v1",
    "redfish.v1_odata",
    "redfish.v1_metadata",
}
SAMPLE = {
    "client_id": "c1",
    "digest": "a" * 64,
    "filename": "settings.js",
    "outlet_id": "1",
    "session_id": "x",
}
# /restapi/<path:_rest> stands for the whole tree: a value, a function, a collection, auth/
RESTS = ["relay/", "relay/outlets/0/state/", "relay/outlets/1/cycle/", "script/start/", "auth/clients/c1/"]
ADMINS_ONLY = "client wide may not do this: this path is for admins only"


def _urls(rule) -> list[str]:
    urls = [rule.rule]
    for name in rule.arguments:
        values = RESTS if name == "_rest" else [SAMPLE[name]]
        urls = [url.replace(f"<path:{name}>", v).replace(f"<{name}>", v) for url in urls for v in values]
    return urls


def _answered(app, admin, url: str) -> set[str]:
    """The methods a route serves someone at url, asked without changing anything."""
    if url.startswith("/restapi/") and "notify" not in url:
        allow = admin.request("OPTIONS", url).headers.get("Allow", "")
        methods = {m.strip() for m in allow.split(",")}
        return methods | ({"PATCH"} if "PUT" in methods else set())
    anonymous = app.test_client()
    return {
        m
        for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if anonymous.open(url, method=m).status_code != 405
    }


def test_every_route_refuses_a_bearer_client_without_scopes_there(app, admin):
    add_client(app, admin, "c1", {"/config/version/?access=get": True})
    nobody = add_client(app, admin, "narrow", {"/config/version/?access=get": True})
    checked = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or rule.rule == "/restapi":
            continue  # /restapi without its slash only redirects
        for url, method in ((u, m) for u in _urls(rule) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})):
            if url == "/redfish/v1/SessionService/Sessions" and method == "POST":
                continue  # the Redfish login itself (a bearer client is refused every session it lists)
            if method not in _answered(app, admin, url):
                continue  # no one's: a GET of a function, notify but by POST
            response = nobody.request(method, url, json={})
            assert response.status_code == 403, (method, url, response.get_data(as_text=True))
            if url.startswith("/redfish/"):  # that surface's own error body
                assert response.json["error"]["code"].endswith("InsufficientPrivilege")
            else:
                assert response.json["code"] == 403
            checked.add((method, rule.endpoint))
    endpoints = {endpoint for _, endpoint in checked}
    assert {"restapi.dispatch", "metrics.scrape", "web.settings", "fleet_notify.notify"} <= endpoints
    assert {"web.new_token", "web.revoke_token", "web.scope_check"} <= endpoints
    assert {
        "redfish.v1_PowerEquipment",
        "redfish.v1_PowerEquipment_RackPDUs_1_Outlets_outlet_id",
    } <= endpoints


def _closed_paths(node: Node, keys: tuple[str, ...], closed: bool, depth: int = 0):
    """(path, node) for every admin-only node, with an existing key and a made-up one per collection."""
    closed = node.policy.closes(closed)
    if closed:
        yield "/restapi/" + "".join(k + "/" for k in keys), node
    if depth > 6:
        return
    if isinstance(node, Branch):
        for key, member in node.children.items():
            yield from _closed_paths(member, (*keys, key), closed, depth + 1)
    elif isinstance(node, Collection):
        existing = list(node.keys(keys))[:1]
        for key in [*existing, "nosuch"]:
            yield from _closed_paths(node.item, (*keys, key), closed, depth + 1)


def _methods(node: Node) -> list[str]:
    methods = ["GET"]
    if (isinstance(node, Value) and node.writable) or (isinstance(node, Collection) and node.creatable):
        methods.append("PUT")
    if isinstance(node, Value) and node.delete:
        methods.append("DELETE")
    if isinstance(node, Call) or (isinstance(node, Collection) and node.invoke):
        methods.append("POST")
    return methods


def test_every_admin_only_node_gives_a_client_the_same_403_naming_nothing(app, admin):
    add_client(app, admin, "c1", {"/relay/": True})
    assert admin.put("/restapi/auth/roles/viewonly/", json={"scopes": {"/relay/": True}}).status_code == 204
    wide = add_client(app, admin, "wide", {"/": True})
    paths = list(_closed_paths(app.extensions["powerctl.tree"].root, (), False))
    assert any("/c1/" in path for path, _ in paths) and any("nosuch" in path for path, _ in paths)
    for path, node in paths:
        for method in _methods(node):
            response = wide.request(method, path, json={})
            assert response.status_code == 403, (method, path, response.status_code)
            assert response.json["message"] == ADMINS_ONLY, (method, path)


@pytest.mark.parametrize(
    "path",
    [
        "/restapi/auth/clients/nosuch/",
        "/restapi/auth/clients/c1/",
        "/restapi/auth/clients/=c1,nosuch/",
        "/restapi/auth/clients/all;name=c1/",
        "/restapi/auth/nosuch/",
        "/restapi/=relay,auth/",
        "/restapi/auth/clients/c1/nosuch/",
    ],
)
def test_admin_only_paths_do_not_tell_which_ids_exist(app, admin, path):
    add_client(app, admin, "c1", {"/relay/": True})
    wide = add_client(app, admin, "wide", {"/": True})
    response = wide.get(path)
    assert response.status_code == 403
    assert response.json["message"] == ADMINS_ONLY
    assert "c1" not in response.get_data(as_text=True)
    assert admin.get("/restapi/auth/clients/nosuch/").status_code == 404  # admins still see 404


def test_sessions_stay_open_to_clients_inside_auth(app, admin):
    creator = add_client(app, admin, "maker", {"/auth/sessions/": True})
    assert creator.get("/restapi/auth/sessions/").status_code == 200
    assert creator.get("/restapi/auth/sessions/nosuch/").status_code == 404
