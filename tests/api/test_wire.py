"""Wire rules shared by every /restapi/ resource, and the JSON error envelope."""

from __future__ import annotations

import pytest

FORM = {"content_type": "application/x-www-form-urlencoded"}


def test_missing_trailing_slash_redirects_to_the_slashed_uri(admin):
    response = admin.get("/restapi/relay/outlets/0/state")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/restapi/relay/outlets/0/state/")
    put = admin.put("/restapi/relay/outlets/0/state", data="value=false", **FORM)
    assert put.status_code == 307
    assert admin.get("/restapi/relay/outlets/0/state/").json is True


def test_state_changes_need_a_csrf_header(admin):
    response = admin.put("/restapi/relay/outlets/0/state/", data="value=false", csrf=False, **FORM)
    assert response.status_code == 403
    assert "X-CSRF" in response.json["message"]
    assert admin.get("/restapi/relay/outlets/0/state/").json is True
    ajax = admin.put(
        "/restapi/relay/outlets/0/state/",
        data="value=false",
        csrf=False,
        headers={"X-Requested-With": "XMLHttpRequest"},
        **FORM,
    )
    assert ajax.status_code == 204


def test_post_with_x_http_method_put_is_a_put(admin):
    response = admin.post(
        "/restapi/relay/outlets/=3/state/", data="value=false", headers={"X-HTTP-Method": "PUT"}, **FORM
    )
    assert response.status_code == 207
    assert admin.get("/restapi/relay/outlets/3/state/").json is False


def test_depth_range_answers_206_with_refs(admin):
    response = admin.get("/restapi/", headers={"Range": "dli-depth=1"})
    assert response.status_code == 206
    assert response.json["relay"] == {"$ref": "relay/"}
    deeper = admin.get("/restapi/relay/", headers={"Range": "dli-depth=2"}).json
    assert deeper["outlets"]["0"] == {"$ref": "outlets/0/"}  # a limited array is keyed by index
    assert deeper["name"] == "powerctl"


def test_malformed_depth_range_is_400(admin):
    assert admin.get("/restapi/", headers={"Range": "dli-depth=x"}).status_code == 400


@pytest.mark.parametrize(
    ("path", "status", "needle"),
    [
        ("/restapi/relay/outlets/9/state/", 404, '"9"'),
        ("/restapi/nothing/", 404, "nothing"),
        ("/restapi/relay/outlets/0/state/deeper/", 404, "deeper"),
        ("/restapi/relay/outlets/=1,,2/state/", 400, "column"),
        ("/restapi/relay/outlets/all;locked/state/", 400, "column"),
        ("/restapi/relay/outlets/0/cycle/", 405, "POST"),
    ],
)
def test_errors_use_the_json_envelope(admin, path, status, needle):
    response = admin.get(path)
    assert response.status_code == status
    body = response.json
    assert body["code"] == status and body["status"] and needle in body["message"]
    assert response.mimetype == "application/json"


def test_malformed_path_names_the_column(admin):
    body = admin.get("/restapi/relay/outlets/all;locked/state/").json
    assert body["errors"]["column"] == len("/relay/outlets/all;locked") + 1 or body["errors"]["column"] > 0


def test_oversized_body_is_413(make_app):
    from tests.support import Api

    app = make_app(server={"max_body_bytes": 1024})
    response = Api(app.test_client()).put(
        "/restapi/relay/outlets/0/name/", data="value=" + "x" * 5000, **FORM
    )
    assert response.status_code == 413
    assert response.json["code"] == 413


def test_unknown_body_type_is_415(admin):
    response = admin.put("/restapi/relay/outlets/0/name/", data=b"<x/>", content_type="text/xml")
    assert response.status_code == 415


def test_bad_json_body_is_400_with_the_position(admin):
    response = admin.put(
        "/restapi/relay/outlets/0/name/", data='"unterminated', content_type="application/json"
    )
    assert response.status_code == 400 and "column" in response.json["message"]


def test_options_is_refused(admin):
    assert admin.request("OPTIONS", "/restapi/").status_code == 405


def test_head_answers_like_get_without_a_body(admin):
    response = admin.request("HEAD", "/restapi/relay/outlets/0/state/")
    assert response.status_code == 200 and response.data == b""


def test_no_content_answers_carry_no_content_type(admin):
    put = admin.put("/restapi/relay/outlets/0/state/", data="value=false", **FORM)
    assert put.status_code == 204
    assert "Content-Type" not in put.headers
    assert put.data == b""


def test_every_kind_of_tree_node_compares_by_identity(app):
    # The /restapi/ view finds a matrix of one node with list.count, which compares with ==:
    # two nodes that compared equal by their fields would be checked and read as one.
    from powerctl.restapi.tree import Node

    kinds, pending = [], [Node]
    while pending:
        kind = pending.pop()
        kinds.append(kind)
        pending += kind.__subclasses__()
    assert len(kinds) >= 5
    assert [kind for kind in kinds if kind.__eq__ is not object.__eq__] == []


def test_a_request_leaves_no_reference_cycle_of_its_own(admin):
    """What a /restapi/ request builds is freed when it returns, not at the next cycle collection."""
    import gc

    from powerctl.restapi.dispatch import Request

    admin.get("/restapi/relay/outlets/all;/physical_state/")  # warm: first-time caches built
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds is kept in gc.garbage to look at
    try:
        for path in ("/restapi/relay/outlets/all;/physical_state/", "/restapi/relay/outlets/=0,2/name/"):
            assert admin.get(path).status_code == 207
        gc.collect()
        left = [thing for thing in gc.garbage if isinstance(thing, Request)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == []
