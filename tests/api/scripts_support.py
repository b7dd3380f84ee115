"""Shared pieces of the script tests: functions with short sleeps, clients, waiting."""

from __future__ import annotations

from tests.api.clients_support import HELLO_HASH, register
from tests.support import Api

FUNCTIONS = {
    "cycle_schedule_1": {
        "steps": [
            {"action": "off", "outlets": [2, 3]},
            {"action": "sleep", "seconds": 0.2},
            {"action": "on", "outlets": [2, 3]},
        ]
    },
    "cycle_an_outlet": {
        "args": ["outlet", "seconds"],
        "steps": [
            {"action": "off", "outlets": "$outlet"},
            {"action": "sleep", "seconds": "$seconds"},
            {"action": "on", "outlets": "$outlet"},
        ],
    },
    "long_nap": {
        "steps": [
            {"action": "off", "outlets": [0]},
            {"action": "sleep", "seconds": 60},
            {"action": "on", "outlets": [0]},
        ]
    },
    "other": {"steps": [{"action": "toggle", "outlets": "=4,5"}]},
}

DAVE_SMITH = {  # the reference's Registration Example 2
    "/relay/outlets/all;/=name/": True,
    "/relay/outlets/all;/=state,transient_state,physical_state/?access=get": True,
    "/relay/outlets/=2,3,5;/=state,transient_state/?access=modify,get": True,
    "/relay/outlets/=2,3,6/=cycle/?access=invoke,get": True,
    "/network/wireless/enabled/?access=modify,get": True,
    "/script/start/?access=invoke": True,
}


def client(app, admin, name: str, scopes: dict) -> Api:
    """Register a client holding `scopes` and the reference's "Hello" token."""
    body = {
        "name": name,
        "redirect_urls": {},
        "refresh_tokens": {},
        "scopes": scopes,
        "access_tokens": {HELLO_HASH: {}},
    }
    assert register(admin, name, body).status_code == 204
    return Api(app.test_client(), bearer=f"{name}.SGVsbG8")


def start(api: Api, name: str, **extra):
    return api.post("/restapi/script/start/", json=[{"user_function": name, **extra}])


def audit_lines(app, count: int = 200) -> list[str]:
    return app.extensions["powerctl.audit"].tail(count)


def states(admin: Api) -> list[bool]:
    return admin.get("/restapi/relay/outlets/all;/state/").json


STOP = "/script/stop/?access=invoke"  # the scope that lets a client stop threads


def threads(api) -> dict:
    """script/threads/ as `api` sees it: {id: {"label": ...}}."""
    return api.get("/restapi/script/threads/").json
