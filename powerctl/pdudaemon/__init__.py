"""A pdudaemon-compatible listener (labgrid, LAVA, pduclient), off unless hostnames are configured.

docs/pdudaemon.md has the configuration and what each client needs.
"""

from __future__ import annotations

from flask import Flask

from powerctl.audit import Audit
from powerctl.auth import Authenticator
from powerctl.relay import Relay


def init_app(app: Flask, settings: dict, relay: Relay, authn: Authenticator, trail: Audit) -> None:
    section = settings["pdudaemon"]
    if not section["hostnames"]:
        return
    from powerctl.pdudaemon.listener import Listener
    from powerctl.pdudaemon.service import PduDaemon

    listener = Listener(PduDaemon(relay, authn, trail, section), section)
    listener.start()
    app.extensions["powerctl.pdudaemon"] = listener


def shutdown(app: Flask) -> None:
    listener = app.extensions.pop("powerctl.pdudaemon", None)
    if listener is not None:
        listener.close()
