"""powerctl: a REST gateway for network power controllers, wire-compatible with DLI's REST API."""

from __future__ import annotations

import os

from flask import Flask

import hw
from powerctl import (
    audit,
    auth,
    bootstrap,
    errors,
    fleet,
    metrics,
    mqtt,
    openapi,
    pdudaemon,
    redfish,
    restapi,
    web,
)
from powerctl import config as config_mod
from powerctl.autoping.service import AutoPing
from powerctl.history import History
from powerctl.network import build_network
from powerctl.proxy import TrustedProxies
from powerctl.relay import Relay
from powerctl.resources.auth import auth_node
from powerctl.resources.autoping import autoping_node
from powerctl.resources.config import config_node
from powerctl.resources.fleet import fleet_node
from powerctl.resources.meter import meter_node
from powerctl.resources.network import network_node
from powerctl.resources.relay import relay_node
from powerctl.resources.script import script_node
from powerctl.resources.sessions import bounds as session_bounds
from powerctl.resources.sessions import sessions_node
from powerctl.restapi.tree import Branch
from powerctl.scripts.runner import Runner
from powerctl.store import Database
from powerctl.version import __version__

__all__ = ["__version__", "create_app", "shutdown"]

OUTLETS = ("relay", "outlets")  # where relay_node mounts the outlets; a session's bounds name them
FUNCTIONS = ("script", "user_functions")  # where script_node mounts the user functions


def create_app(config: dict | None = None) -> Flask:
    """Build the gateway. `config` overrides the TOML file named by its `config_file` key."""
    overrides = dict(config or {})
    settings = config_mod.load(overrides, overrides.pop("config_file", None))
    app = Flask(__name__)
    app.config["POWERCTL"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings["server"]["max_body_bytes"]
    app.config["TESTING"] = settings["testing"]

    bootstrap.ensure_data_dir(settings["data_dir"])
    db = Database(os.path.join(settings["data_dir"], "powerctl.db"))
    app.extensions["powerctl.db"] = db
    nonce_key = bootstrap.ensure_identity(db, settings["auth"]["lockout_delay_minutes"])
    trail = audit.init_app(app, db)
    authenticator = auth.init_app(app, db, trail, nonce_key)
    bootstrap.ensure_admin(db, authenticator.digest.ha1)

    controller = hw.build_controller(settings["hardware"])
    relay = Relay(db, controller, trail, settings["relay"])
    app.extensions["powerctl.relay"] = relay
    relay.start()
    scripts = settings["scripts"]
    runner = Runner(relay, trail, scripts["functions"], scripts["max_threads"], db)
    app.extensions["powerctl.scripts"] = runner
    history = History(db, controller.read_meters, settings["history"]["interval"])
    app.extensions["powerctl.history"] = history
    watchdog = AutoPing(db, relay, runner, trail, settings["autoping"])
    app.extensions["powerctl.autoping"] = watchdog

    tree = restapi.init_app(
        app,
        Branch(
            {
                "relay": relay_node(relay, db, trail),
                "meter": meter_node(controller, history),
                "config": config_node(db, settings["server"], trail),
                "script": script_node(runner, OUTLETS, relay.count),
                "autoping": autoping_node(watchdog, OUTLETS, FUNCTIONS, relay.count, runner.functions),
                "network": network_node(build_network(settings["network"]), trail),
                "auth": auth_node(
                    db,
                    trail,
                    sessions_node(db, authenticator.sessions, relay, trail),
                    fleet_node(db, lambda: app.extensions.get("powerctl.fleet")),
                ),
            }
        ),
    )
    authenticator.sessions.bounds = session_bounds(tree.root, OUTLETS, also=[metrics.LEAF])
    fleet.init_app(app, db, trail, settings)
    metrics.init_app(app, controller)
    openapi.init_app(app)
    web.init_app(app, db)
    redfish.init_app(app, relay, db, settings["redfish"])
    mqtt.init_app(app, settings, relay, controller, authenticator, db, trail)
    pdudaemon.init_app(app, settings, relay, authenticator, trail)
    errors.init_app(app)
    history.start()
    watchdog.start()
    if settings["server"]["trusted_proxies"]:
        app.wsgi_app = TrustedProxies(app.wsgi_app, settings["server"]["trusted_proxies"])
    return app


def shutdown(app: Flask) -> None:
    """Stop scripts, timers and monitors, close the hardware and flush the audit trail."""
    pdudaemon.shutdown(app)
    mqtt.shutdown(app)
    fleet.shutdown(app)
    app.extensions["powerctl.autoping"].close()
    app.extensions["powerctl.scripts"].close()
    app.extensions["powerctl.history"].close()
    app.extensions["powerctl.relay"].close()
    app.extensions["powerctl.audit"].close()
    app.extensions["powerctl.db"].close()
