"""The fleet server's app factory and per-app state."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass

from flask import Flask, jsonify
from sqlalchemy.exc import IntegrityError

from fleetserver import admin, admin_accounts, admin_certificates, admin_tokens, rpc, settings
from fleetserver.accounts import Accounts
from fleetserver.admins import AdminTokens
from fleetserver.certificates import Certificates
from fleetserver.controllers import Controllers
from fleetserver.database import FleetDatabase, default_url
from fleetserver.errors import FleetServerError, as_api_error
from fleetserver.notify import Notifier, NotifyPolicy
from fleetserver.schedule import Schedule
from fleetserver.trust import TrustFile
from powerctl import errors as http_errors
from powerctl import openapi

log = logging.getLogger("powerctl.fleet")


@dataclass
class Fleet:
    """Per-app state, in `app.extensions["powerctl.fleet"]`."""

    data_dir: str
    db: FleetDatabase
    admins: AdminTokens
    accounts: Accounts
    controllers: Controllers
    certificates: Certificates
    notifier: Notifier
    fleet_peer: str
    chain: str
    trust: TrustFile

    def refresh_trust(self) -> None:
        self.trust.refresh()


def _ensure_admin(admins: AdminTokens) -> None:
    """The admin token from $POWERCTL_FLEET_ADMIN_TOKEN (replacing the one it gave before), or
    when there is none at all a generated one, printed once."""
    given = os.environ.get("POWERCTL_FLEET_ADMIN_TOKEN")
    if given:
        log.info("admin token %s is the environment's", admins.from_environment(given))
    elif (token := admins.ensure_one()) is not None:
        print(f"powerctl fleet: created the admin token: {token}", file=sys.stderr, flush=True)


def create_app(config: dict | None = None) -> Flask:
    """Build the fleet server. `config`: data_dir, database (URL), testing, notify (a
    NotifyPolicy), trust_refresh_seconds."""
    config = dict(config or {})
    data_dir = os.path.abspath(config.get("data_dir") or "var/fleet")
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    app = Flask(__name__)
    app.config["TESTING"] = bool(config.get("testing"))
    app.config["MAX_CONTENT_LENGTH"] = 8 * 1024 * 1024

    db = FleetDatabase(config.get("database") or default_url(data_dir))
    db.migrate()
    admins = AdminTokens(db)
    _ensure_admin(admins)
    chain = settings.issuer(db)
    controllers = Controllers(db, chain)
    notifier = Notifier(
        Schedule(db), settings.fleet_peer_uuid(db), chain, data_dir, config.get("notify") or NotifyPolicy()
    )
    certificates = Certificates(db)
    trust = TrustFile(data_dir, certificates, float(config.get("trust_refresh_seconds", 30.0)))
    fleet = Fleet(
        data_dir,
        db,
        admins,
        Accounts(db),
        controllers,
        certificates,
        notifier,
        notifier.fleet_peer,
        chain[0],
        trust,
    )
    app.extensions["powerctl.fleet"] = fleet
    trust.refresh()
    trust.start()
    notifier.start()

    app.register_blueprint(admin.bp)
    app.register_blueprint(admin_accounts.bp)
    app.register_blueprint(admin_certificates.bp)
    app.register_blueprint(admin_tokens.bp)
    app.register_blueprint(rpc.bp)
    openapi.init_app(app, __package__)  # GET /openapi.json (fleetserver/openapi.json), no auth
    app.url_map.strict_slashes = False

    @app.get("/health")
    def health():
        return jsonify(status="ok", database=db.dialect)

    @app.errorhandler(FleetServerError)
    def fleet_error(err: FleetServerError):
        return http_errors.envelope(as_api_error(err).code, str(err))

    @app.errorhandler(IntegrityError)
    def lost_race(_err: IntegrityError):
        # two requests created the same thing at once; the loser changed nothing
        return http_errors.envelope(409, "conflicts with a concurrent change; retry")

    http_errors.init_app(app)
    return app


def shutdown(app: Flask) -> None:
    """Finish pending notifications and close the database pools."""
    fleet = app.extensions["powerctl.fleet"]
    fleet.trust.close()
    fleet.notifier.close()
    fleet.db.close()
