"""auth/fleet/: where the synced credentials stand (admins only); sync/ asks at once."""

from __future__ import annotations

from collections.abc import Callable

from marshmallow import fields

from powerctl.domain import FleetNotConfigured
from powerctl.restapi.tree import Branch, Call, Value
from powerctl.store import Database
from powerctl.store import fleet as store


def fleet_node(db: Database, service: Callable[[], object]) -> Branch:
    """`service()` is the app's FleetSync, or None when [fleet] has no url."""

    def sync(_keys, _body, who) -> dict:
        running = service()
        if running is None:
            raise FleetNotConfigured("fleet sync is not configured: set [fleet] url (docs/fleet.md)")
        running.try_sync(f"by {who.actor()}")  # type: ignore[attr-defined]
        return store.status(db)

    return Branch(
        {
            "version": Value(fields.Integer(allow_none=True), read=lambda _keys: store.status(db)["version"]),
            "last_sync": Value(
                fields.Float(allow_none=True), read=lambda _keys: store.status(db)["last_sync"]
            ),
            "last_error": Value(
                fields.String(allow_none=True), read=lambda _keys: store.status(db)["last_error"]
            ),
            "sync": Call(invoke=sync),
        }
    )
