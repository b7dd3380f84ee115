"""GET /metrics: the gateway's state in the Prometheus text format, one registry per app."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from flask import Blueprint, Flask, Response, current_app
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

import hw
import scopes
from powerctl import access
from powerctl.auth import Principal
from powerctl.version import __version__

# The classic text format: every Prometheus release reads it, and our names are plain ASCII.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# /metrics is no part of the /restapi/ tree; a scope on /metrics/ lets a client scrape it, and
# each series needs get on the tree leaf it shows (below OUTLETS and METERS).
LEAF = ("metrics",)
OUTLETS = ("relay", "outlets")
METERS = ("meter", "values")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

bp = Blueprint("metrics", __name__)


class Metrics:
    """Counters fed by request and authentication hooks, and gauges read at scrape time."""

    def __init__(self, app: Flask, controller: hw.Controller):
        # Per app, never the global registry: a process (a test run) may build many apps.
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "powerctl_http_requests",
            "HTTP requests answered, by method and status",
            ["method", "status"],
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "powerctl_auth_failures",
            "Failed authentication attempts (bad or exhausted credentials)",
            registry=self.registry,
        )
        self.lockouts = Counter(
            "powerctl_lockouts", "Lockouts started after repeated failed logins", registry=self.registry
        )
        self.state = StateCollector(app, controller)
        # (method, status line) -> its counter: labels() validates and locks on every call
        self._children: dict[tuple[str, str], Counter] = {}

    def count(self, method: str, status: str) -> None:
        """Count one answer: its request's method and its WSGI status line ("207 MULTI STATUS")."""
        key = (method, status)
        child = self._children.get(key)
        if child is None:
            label = method.upper() if method.upper() in METHODS else "other"
            child = self._children[key] = self.requests.labels(label, status[:3])
        child.inc()

    def counting(self, wsgi_app: Callable) -> Callable:
        """`wsgi_app`, counting each answer as it starts.

        A WSGI layer rather than an after_request hook: Flask passes every hook through
        ensure_sync and the request proxy each time, several times the cost of the count.
        """

        def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
            method = environ.get("REQUEST_METHOD", "")

            def counted(status: str, headers: list, exc_info=None):
                self.count(method, status)
                return start_response(status, headers, exc_info)

            return wsgi_app(environ, counted)

        return app

    def auth_event(self, event: str) -> None:
        if event == "failure":
            self.auth_failures.inc()
        elif event == "lockout":
            self.lockouts.inc()


class Scrape:
    """One scrape as one caller may see it: the counters, then the state its grants allow."""

    def __init__(self, metrics: Metrics, principal: Principal):
        self.metrics = metrics
        self.principal = principal

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics.registry.collect()
        yield from self.metrics.state.collect(self.principal)


class StateCollector:
    """Reads outlets, meters, boards and token use counts when Prometheus scrapes.

    Each series is one leaf of the /restapi/ tree read by the caller: an outlet's state is
    shown as a `get` of relay/outlets/N/state/ would be (session bounds included), its name
    label only if relay/outlets/N/name/ may be read too. Client ids and token counts are for
    admins only, as auth/clients/ is.
    """

    def __init__(self, app: Flask, controller: hw.Controller):
        self.app = app
        self.controller = controller

    def collect(self, principal: Principal) -> Iterator[Metric]:
        info = GaugeMetricFamily("powerctl_info", "The gateway's version", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        yield from self.outlets(principal)
        yield from self.meters(principal)
        yield from self.boards()
        if principal.is_admin:
            yield from self.tokens()

    def outlets(self, principal: Principal) -> list[Metric]:
        relay = self.app.extensions["powerctl.relay"]
        labels = ["outlet", "name"]
        state = GaugeMetricFamily(
            "powerctl_outlet_state", "Configured (persistent) state, 1 on", labels=labels
        )
        transient = GaugeMetricFamily(
            "powerctl_outlet_transient_state",
            "Where the outlet is headed now (differs during a cycle), 1 on",
            labels=labels,
        )
        physical = GaugeMetricFamily(
            "powerctl_outlet_physical_state",
            "What the board last reported, 1 on; absent until it reports",
            labels=labels,
        )
        for index in range(relay.count):
            record = relay.outlet(index)

            def may(name: str, index: int = index) -> bool:
                return access.covers(principal, [(*OUTLETS, str(index), name)], scopes.Access.GET)

            names = [str(index), record.name if may("name") else ""]
            if may("state"):
                state.add_metric(names, float(record.state))
            if may("transient_state"):
                transient.add_metric(names, float(relay.transient(index)))
            reported = relay.physical(index)
            if reported is not None and may("physical_state"):
                physical.add_metric(names, float(reported))
        return [state, transient, physical]

    def meters(self, principal: Principal) -> list[Metric]:
        values = GaugeMetricFamily(
            "powerctl_meter_value",
            "Meter readings; absent while unreadable",
            labels=["id", "unit", "quantity"],
        )
        for meter_id, reading in self.controller.read_meters().items():
            if reading.value is not None and access.covers(
                principal, [(*METERS, meter_id, "value")], scopes.Access.GET
            ):
                values.add_metric([meter_id, reading.unit, reading.quantity], reading.value)
        return [values]

    def boards(self) -> list[Metric]:
        online = GaugeMetricFamily("powerctl_board_online", "1 while the board answers", labels=["board"])
        errors = CounterMetricFamily(
            "powerctl_board_errors", "Failed opens, polls and commands of the board", labels=["board"]
        )
        for board in self.controller.boards:
            online.add_metric([board.name], float(board.status == "online"))
            errors.add_metric([board.name], board.errors)
        return [online, errors]

    def tokens(self) -> list[Metric]:
        """Use counts per client, summed: never a series per token, which would name its hash."""
        db = self.app.extensions["powerctl.db"]
        remaining = GaugeMetricFamily(
            "powerctl_client_token_uses_remaining",
            "Uses left on the client's limited tokens, summed",
            labels=["client"],
        )
        exhausted = GaugeMetricFamily(
            "powerctl_client_tokens_exhausted",
            "The client's limited tokens with no use left",
            labels=["client"],
        )
        unlimited = GaugeMetricFamily(
            "powerctl_client_tokens_unlimited", "The client's tokens without a use limit", labels=["client"]
        )
        for client_id in db.client_ids():
            record = db.client(client_id)
            if record is None:
                continue  # deleted between the two reads
            counts = [
                limits["remaining_use_count"]
                for limits in record.access_tokens.values()
                if "remaining_use_count" in limits
            ]
            remaining.add_metric([client_id], sum(counts))
            exhausted.add_metric([client_id], sum(1 for count in counts if count == 0))
            unlimited.add_metric([client_id], len(record.access_tokens) - len(counts))
        return [remaining, exhausted, unlimited]


@bp.get("/metrics", provide_automatic_options=False)
@bp.get("/metrics/", provide_automatic_options=False)
def scrape() -> Response:
    principal = access.authenticate()
    access.require(principal, [LEAF], scopes.Access.GET)
    metrics: Metrics = current_app.extensions["powerctl.metrics"]
    return Response(generate_latest(Scrape(metrics, principal)), headers={"Content-Type": CONTENT_TYPE})


def init_app(app: Flask, controller: hw.Controller) -> Metrics:
    metrics = Metrics(app, controller)
    app.extensions["powerctl.metrics"] = metrics
    app.extensions["powerctl.auth"].observers.append(metrics.auth_event)
    app.wsgi_app = metrics.counting(app.wsgi_app)
    app.register_blueprint(bp)
    return metrics
