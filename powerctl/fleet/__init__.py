"""Credentials synced from a fleet server: the controller side (docs/fleet.md)."""

from __future__ import annotations

from flask import Flask

from powerctl.audit import Audit
from powerctl.fleet.errors import BundleRefused, RemoteError, SyncError, Unreachable
from powerctl.fleet.sync import FleetSync
from powerctl.store import Database

__all__ = ["BundleRefused", "FleetSync", "RemoteError", "SyncError", "Unreachable", "init_app"]


def init_app(app: Flask, db: Database, trail: Audit, settings: dict) -> FleetSync | None:
    """Route the notify call; with `[fleet] url`, start the worker's sync thread."""
    from powerctl.fleet.notify import bp

    app.register_blueprint(bp)
    if not settings["fleet"]["url"]:
        return None
    service = FleetSync(db, settings["fleet"], settings["data_dir"], trail.record)
    app.extensions["powerctl.fleet"] = service
    service.start()
    return service


def shutdown(app: Flask) -> None:
    service = app.extensions.get("powerctl.fleet")
    if service is not None:
        service.close()
