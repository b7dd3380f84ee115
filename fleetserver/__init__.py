"""The fleet server: holds controllers' credentials and certificates, answers their sync calls.

A separate program from the gateway (`powerctl-fleet serve`, docs/fleet-server.md), which never
imports it. It needs the `fleet` extra (SQLAlchemy, Alembic, psycopg): this module imports them
only when an app is built, so `powerctl-fleet --help` works without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["create_app", "shutdown"]


def create_app(config: dict | None = None) -> Flask:
    """Build the fleet server. `config`: data_dir, database (URL), testing, notify
    (a notify.NotifyPolicy), trust_refresh_seconds (docs/fleet-server.md)."""
    from fleetserver.app import create_app as build

    return build(config)


def shutdown(app: Flask) -> None:
    """Finish pending notifications and close the database pools."""
    from fleetserver.app import shutdown as close

    close(app)
