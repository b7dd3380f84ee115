"""GET /metrics: Prometheus text with outlets, meters, requests, logins, tokens and boards."""

from __future__ import annotations

import time

from prometheus_client.parser import text_string_to_metric_families

from hw.drivers.numato_emulator import NumatoEmulator
from tests.support import Api

HELLO_HASH = "185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969"
OTHER_HASH = "a" * 64
SPENT_HASH = "b" * 64


def samples(response) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape keyed by (name, labels)."""
    assert response.status_code == 200, response.get_data(as_text=True)
    out = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(scraped: dict, metric: str, **labels) -> float | None:
    return scraped.get((metric, frozenset(labels.items())))


def register(admin: Api, client: str, scopes: dict, tokens: dict) -> None:
    response = admin.put(
        f"/restapi/auth/clients/{client}/",
        json={
            "name": client,
            "redirect_urls": {},
            "refresh_tokens": {},
            "scopes": scopes,
            "access_tokens": tokens,
        },
    )
    assert response.status_code == 204, response.json


def test_admin_reads_outlet_states_with_index_and_name(app, admin):
    assert admin.put("/restapi/relay/outlets/2/state/", json=False).status_code == 204
    assert admin.put("/restapi/relay/outlets/5/name/", json="Router").status_code == 204
    response = admin.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    scraped = samples(response)
    assert value(scraped, "powerctl_outlet_state", outlet="2", name="Outlet 3") == 0
    assert value(scraped, "powerctl_outlet_state", outlet="5", name="Router") == 1
    assert value(scraped, "powerctl_outlet_transient_state", outlet="2", name="Outlet 3") == 0
    assert value(scraped, "powerctl_outlet_physical_state", outlet="2", name="Outlet 3") == 0
    assert value(scraped, "powerctl_outlet_physical_state", outlet="0", name="Outlet 1") == 1
    assert sum(1 for name, _ in scraped if name == "powerctl_outlet_state") == 8


def test_meter_values_carry_their_id_and_unit(admin):
    scraped = samples(admin.get("/metrics/"))
    volts = value(scraped, "powerctl_meter_value", id="bus.0.voltage", unit="V", quantity="voltage")
    assert volts is not None and volts > 0


def test_requests_are_counted_by_method_and_status(admin):
    assert admin.get("/restapi/relay/outlets/99/").status_code == 404
    assert admin.put("/restapi/relay/outlets/0/physical_state/", json=True).status_code == 405
    scraped = samples(admin.get("/metrics"))
    assert value(scraped, "powerctl_http_requests_total", method="GET", status="404") == 1
    assert value(scraped, "powerctl_http_requests_total", method="PUT", status="405") == 1
    assert value(scraped, "powerctl_http_requests_total", method="GET", status="401") >= 1


def test_failed_logins_and_lockouts_are_counted(make_app):
    app = make_app(auth={"max_failures": 3})
    attacker = Api(app.test_client(), password="wrong")
    for _ in range(3):
        response = attacker.get("/restapi/", environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert response.status_code == 401
    bearer = app.test_client().get(
        "/restapi/",
        headers={"Authorization": "Bearer nobody.SGVsbG8"},
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    )
    assert bearer.status_code == 401
    scraped = samples(Api(app.test_client()).get("/metrics"))
    assert value(scraped, "powerctl_auth_failures_total") == 4
    assert value(scraped, "powerctl_lockouts_total") == 1


def test_token_uses_are_summed_per_client_and_never_name_a_token(admin):
    register(
        admin,
        "lab",
        {"/relay/": True},
        {
            HELLO_HASH: {"remaining_use_count": 3},
            OTHER_HASH: {"remaining_use_count": 4},
            SPENT_HASH: {"remaining_use_count": 0},
        },
    )
    register(admin, "ci", {"/relay/": True}, {HELLO_HASH: {}})
    assert Api(admin.client, bearer="lab.SGVsbG8").get("/restapi/relay/name/").status_code == 200
    response = admin.get("/metrics")
    scraped = samples(response)
    assert value(scraped, "powerctl_client_token_uses_remaining", client="lab") == 2 + 4
    assert value(scraped, "powerctl_client_tokens_exhausted", client="lab") == 1
    assert value(scraped, "powerctl_client_tokens_unlimited", client="lab") == 0
    assert value(scraped, "powerctl_client_tokens_unlimited", client="ci") == 1
    text = response.get_data(as_text=True)
    for digest in (HELLO_HASH, OTHER_HASH, SPENT_HASH):
        assert digest not in text and digest[:16] not in text


def test_a_client_with_the_metrics_scope_may_scrape(app, admin):
    register(admin, "prom", {"/metrics/?access=get": True}, {HELLO_HASH: {}})
    response = Api(admin.client, bearer="prom.SGVsbG8").get("/metrics")
    assert value(samples(response), "powerctl_info", version=powerctl_version()) == 1
    assert "access allowed for prom (prom@127.0.0.1, bearer)" in app.extensions["powerctl.audit"].tail(5)


def test_a_client_without_the_scope_gets_403_in_the_envelope(app, admin):
    register(admin, "lab", {"/relay/": True, "/metrics/?access=modify": True}, {HELLO_HASH: {}})
    response = Api(admin.client, bearer="lab.SGVsbG8").get("/metrics")
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'
    assert response.json["code"] == 403 and "/metrics/" in response.json["message"]
    assert any(
        line.startswith("access denied for lab (lab@127.0.0.1, bearer): no get scope")
        for line in app.extensions["powerctl.audit"].tail(5)
    )


def test_anonymous_callers_get_401_and_other_methods_405(app):
    client = app.test_client()
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Digest ")
    assert response.json == {"code": 401, "status": "Unauthorized", "message": response.json["message"]}
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        refused = client.open("/metrics", method=method)
        assert refused.status_code == 405 and refused.json["code"] == 405


def test_board_online_gauge_and_error_counter_follow_the_hardware(make_app):
    with NumatoEmulator(4) as emu:
        app = make_app(
            hardware={
                "poll_interval": 0.05,
                "boards": [
                    {"name": "bench", "driver": "numato", "url": emu.path, "relays": 4, "timeout": 0.3},
                    {"name": "side", "driver": "sim", "relays": 4},
                ],
            }
        )
        admin = Api(app.test_client())
        scraped = samples(admin.get("/metrics"))
        assert value(scraped, "powerctl_board_online", board="bench") == 1
        assert value(scraped, "powerctl_board_errors_total", board="bench") == 0
        emu.vanish()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            scraped = samples(admin.get("/metrics"))
            if value(scraped, "powerctl_board_online", board="bench") == 0:
                break
            time.sleep(0.05)
        assert value(scraped, "powerctl_board_online", board="bench") == 0
        assert value(scraped, "powerctl_board_errors_total", board="bench") >= 1
        assert value(scraped, "powerctl_board_online", board="side") == 1
        assert value(scraped, "powerctl_board_errors_total", board="side") == 0


def test_each_app_counts_its_own_requests(make_app):
    first, second = make_app(), make_app()
    for _ in range(3):
        Api(first.test_client()).get("/restapi/relay/outlets/42/")
    scraped = samples(Api(second.test_client()).get("/metrics"))
    assert value(scraped, "powerctl_http_requests_total", method="GET", status="404") is None


def powerctl_version() -> str:
    from powerctl.version import __version__

    return __version__


def _outlets_shown(scraped: dict, metric: str) -> dict[str, str]:
    return {dict(labels)["outlet"]: dict(labels)["name"] for name, labels in scraped if name == metric}


def test_a_session_narrowed_to_one_outlet_scrapes_only_that_outlet_and_no_client(app, admin):
    register(admin, "other", {"/relay/": True}, {HELLO_HASH: {"remaining_use_count": 7}})
    role = {"/metrics/?access=get": True, "/relay/outlets/all;/=name,state,physical_state/?access=get": True}
    assert admin.put("/restapi/auth/roles/watch/", json={"scopes": role}).status_code == 204
    made = admin.post("/restapi/auth/sessions/", json={"whoami": "a@b", "role": "watch", "outlets": [1]})
    scraped = samples(Api(admin.client, bearer=made.json["token"]).get("/metrics"))
    assert _outlets_shown(scraped, "powerctl_outlet_state") == {"1": "Outlet 2"}
    assert _outlets_shown(scraped, "powerctl_outlet_physical_state") == {"1": "Outlet 2"}
    assert _outlets_shown(scraped, "powerctl_outlet_transient_state") == {}  # not in the role
    assert not any(name.startswith("powerctl_client_") for name, _ in scraped)


def test_a_client_scrapes_what_its_scopes_read_and_never_client_ids(app, admin):
    register(
        admin,
        "prom",
        {"/metrics/?access=get": True, "/relay/outlets/=2,3/state/?access=get": True},
        {HELLO_HASH: {"remaining_use_count": 5}},
    )
    response = Api(admin.client, bearer="prom.SGVsbG8").get("/metrics")
    scraped = samples(response)
    assert _outlets_shown(scraped, "powerctl_outlet_state") == {"2": "", "3": ""}  # names need get on name
    assert not any(name.startswith("powerctl_meter_") for name, _ in scraped)
    assert "prom" not in response.get_data(as_text=True)
    assert value(samples(admin.get("/metrics")), "powerctl_client_token_uses_remaining", client="prom") == 4
