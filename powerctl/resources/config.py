"""config/: device identity and the few settings DLI clients read or set."""

from __future__ import annotations

import socket

from marshmallow import fields, validate

from powerctl.access import AccessPolicy
from powerctl.resources.values import Flag
from powerctl.restapi.tree import Branch, Value
from powerctl.store import Database
from powerctl.version import __version__

ADMINS_WRITE = AccessPolicy(admin_write=True)  # whatever a client's scopes say


def _constant(value: object, field: fields.Field | None = None) -> Value:
    return Value(field or fields.Raw(), read=lambda _keys: value)


def config_node(db: Database, server: dict, audit) -> Branch:
    port = int(server["bind"].rpartition(":")[2] or 0)

    def set_lockout(_keys, minutes, who) -> None:
        with audit.change(f"Config: lockout_delay_minutes set to {minutes} by {who.actor()}"):
            db.set_setting("lockout_delay_minutes", minutes)

    def set_plaintext(_keys, allowed, who) -> None:
        db.set_setting("allow_plaintext_logins", allowed)
        audit.record(f"Config: allow_plaintext_logins set to {str(allowed).lower()} by {who.actor()}")

    return Branch(
        {
            "version": _constant(__version__),
            "serial": Value(fields.String(), read=lambda _keys: db.get_setting("serial")),
            "hostname": Value(fields.String(), read=lambda _keys: socket.gethostname()),
            "brand_name": _constant("powerctl"),
            "brand_company_name": _constant("powerctl"),
            "lockout_delay_minutes": Value(
                fields.Integer(strict=True, validate=validate.Range(0, 1440)),
                read=lambda _keys: db.get_setting("lockout_delay_minutes"),
                write=set_lockout,
                policy=ADMINS_WRITE,
            ),
            # DLI's switch for Basic credentials over plain HTTP (off: only over HTTPS)
            "allow_plaintext_logins": Value(
                Flag(),
                read=lambda _keys: bool(db.get_setting("allow_plaintext_logins", False)),
                write=set_plaintext,
                policy=ADMINS_WRITE,
            ),
            "http_ports": _constant([] if server["tls"] else [port]),
            "https_ports": _constant([port] if server["tls"] else []),
        }
    )
