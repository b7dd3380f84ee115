"""The error map: domain errors say what happened; errors.describe gives any surface the status."""

from __future__ import annotations

import ast
import pathlib

import pytest
from werkzeug.exceptions import RequestEntityTooLarge

import hw
import scopes
from hw.network import NetworkError, NetworkReplyError
from powerctl import domain, errors

ROOT = pathlib.Path(__file__).resolve().parents[1]
SERVICES = [
    "powerctl/domain.py",
    "powerctl/relay.py",
    "powerctl/auth/sessions.py",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "powerctl/scripts").glob("*.py")),
]


def subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *subclasses(direct))]


@pytest.mark.parametrize(
    ("err", "status", "message"),
    [
        (domain.OutletLocked(3, "Outlet 4"), 409, "outlet 3 (Outlet 4) is locked"),
        (domain.BoardOffline("bench", 1, "closed"), 503, 'board "bench" for outlet 1 is offline: closed'),
        (domain.UnknownFunction("nope"), 409, 'there is no user function "nope"'),
        (domain.BadArguments('"f" takes 1 arguments'), 409, '"f" takes 1 arguments'),
        (domain.ThreadLimit("4 script threads are running"), 409, "4 script threads are running"),
        (domain.NoSuchThread('no script thread "9" is running'), 409, 'no script thread "9" is running'),
        (domain.ShuttingDown("the gateway is shutting down"), 503, "the gateway is shutting down"),
        (domain.SessionLimit("user admin already has 2 sessions"), 409, "user admin already has 2 sessions"),
        (domain.FleetNotConfigured("fleet sync is not configured"), 409, "fleet sync is not configured"),
        (hw.BoardUnavailable("no answer", "bench"), 503, 'board "bench": no answer'),
        (NetworkError("timed out", ["nmcli"]), 503, "timed out"),
        (NetworkReplyError("garbled", ["nmcli"]), 502, "garbled"),
        (scopes.NoSuchPath("no child", "/x/", 1), 404, "no child at column 1: '/x/'"),
        (scopes.AmbiguousPath("several", "/x/", 1), 409, "several at column 1: '/x/'"),
        (scopes.ScopeError("bad", "/x/", 1), 400, "bad at column 1: '/x/'"),
        (errors.Forbidden("only admins"), 403, "only admins"),
        (RequestEntityTooLarge("body over the limit"), 413, "body over the limit"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_describe_gives_a_surface_the_status_and_a_message_naming_no_url(err, status, message):
    assert errors.describe(err) == (status, message)
    assert "/restapi/" not in message


def test_every_domain_error_has_a_status():
    missing = [cls.__name__ for cls in subclasses(domain.PowerctlError) if cls not in errors.STATUS]
    assert missing == []


def test_an_unexpected_error_is_500_and_never_echoes_its_text():
    assert errors.describe(RuntimeError("Authorization: Bearer secret")) == (500, errors.INTERNAL)


@pytest.mark.parametrize("path", SERVICES)
def test_services_know_nothing_of_http(path):
    tree = ast.parse((ROOT / path).read_text())
    imported = [
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert [name for name in imported if name.split(".")[0] in ("flask", "werkzeug")] == []
    assert "powerctl.errors" not in imported


def test_the_restapi_envelope_adds_what_to_do_next_on_this_surface(admin):
    admin.put("/restapi/relay/outlets/2/locked/", json=True)
    response = admin.put("/restapi/relay/outlets/2/state/", json=False)
    assert response.status_code == 409
    assert response.json == {
        "code": 409,
        "status": "Conflict",
        "message": "outlet 2 (Outlet 3) is locked;"
        " unlock it first with PUT /restapi/relay/outlets/2/locked/ value=false",
    }
