"""MQTT with Home Assistant discovery, off unless `[mqtt] url` is set (docs/mqtt.md)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from flask import Flask

import hw
from powerctl.audit import Audit
from powerctl.auth import Authenticator
from powerctl.mqtt.discovery import Device
from powerctl.relay import Relay
from powerctl.store import Database
from powerctl.version import __version__


def _configuration_url(server: dict) -> str:
    host, _, port = server["bind"].rpartition(":")
    host = host.strip("[]")
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (reading the bind address, not binding)
        host = socket.gethostname()
    return f"{'https' if server['tls'] else 'http'}://{host}:{port}/"


def init_app(
    app: Flask,
    settings: dict,
    relay: Relay,
    controller: hw.Controller,
    authn: Authenticator,
    db: Database,
    trail: Audit,
) -> None:
    section = settings["mqtt"]
    if not section["url"]:
        return
    from powerctl.mqtt.bridge import Bridge

    serial = db.get_setting("serial")
    node_id = section["node_id"] or f"powerctl_{serial.lower()}"
    url = urlsplit(section["url"])
    options = dict(
        section,
        scheme=url.scheme,
        host=url.hostname,
        port=url.port or (8883 if url.scheme == "mqtts" else 1883),
    )
    device = Device(
        node_id=node_id,
        serial=serial,
        name=relay.setting("name"),
        model="powerctl gateway",
        sw_version=__version__,
        configuration_url=_configuration_url(settings["server"]),
        discovery_prefix=section["discovery_prefix"],
        base=section["base_topic"] or f"powerctl/{node_id}",
    )

    def remembered(topics: list[str] | None) -> list[str]:
        if topics is not None:
            db.set_setting("mqtt.discovery_topics", topics)
        return db.get_setting("mqtt.discovery_topics", [])

    bridge = Bridge(
        options,
        device,
        relay,
        controller.read_meters,
        lambda: authn.client_principal(section["client"], "mqtt", "mqtt"),
        trail,
        remembered,
    )
    app.extensions["powerctl.mqtt"] = bridge
    bridge.start()


def shutdown(app: Flask) -> None:
    bridge = app.extensions.pop("powerctl.mqtt", None)
    if bridge is not None:
        bridge.close()
