"""Registering API clients: the reference's Registration Example 1 and its "Hello" token."""

from __future__ import annotations

HELLO_HASH = "185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969"
EXAMPLE_1 = {
    "name": "user2",
    "redirect_urls": {},
    "scopes": {
        "/relay/outlets/all;/=name/": True,
        "/relay/outlets/=1,3,5/=state,transient_state,physical_state/?access=get": True,
        "/relay/outlets/3/=state,transient_state/?access=modify": True,
        "/relay/outlets/5/=cycle/?access=invoke,get": True,
        "/meter/values/all;/value/": True,
    },
    "refresh_tokens": {},
    "access_tokens": {HELLO_HASH: {"remaining_use_count": 3000}},
}


def register(admin, client_id, body):
    return admin.put(f"/restapi/auth/clients/{client_id}/", json=body)
