"""Gateway configuration: embedded defaults, an optional TOML file, then explicit overrides."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from powerctl.errors import describe_validation
from powerctl.network import NetworkSection
from powerctl.proxy import networks
from powerctl.scripts.config import ScriptsSection, check_outlets


class ConfigError(ValueError):
    """The configuration file or overrides are invalid; the message names the key."""


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class RelaySection(_Strict):
    name = fields.String(load_default="powerctl", validate=validate.Length(1, 64))
    cycle_delay = fields.Float(load_default=5.0, validate=validate.Range(0, 3600))
    sequence_delay = fields.Float(load_default=1.0, validate=validate.Range(0, 3600))
    initial_state = fields.Boolean(load_default=True)


class AuthSection(_Strict):
    realm = fields.String(load_default="powerctl", validate=validate.Length(1, 64))
    nonce_lifetime = fields.Integer(load_default=300, validate=validate.Range(10, 86400))
    max_failures = fields.Integer(load_default=10, validate=validate.Range(1, 10_000))
    lockout_delay_minutes = fields.Integer(load_default=5, validate=validate.Range(0, 1440))


def _network(text: str) -> None:
    try:
        networks([text])
    except ValueError as err:
        raise ValidationError(f"{text!r} is not an IP address or network") from err


class ServerSection(_Strict):
    bind = fields.String(load_default="127.0.0.1:8443")
    tls = fields.Boolean(load_default=True)
    syslog = fields.String(load_default=None, allow_none=True)
    threads = fields.Integer(load_default=16, validate=validate.Range(1, 256))
    max_body_bytes = fields.Integer(load_default=1 << 20, validate=validate.Range(1024, 1 << 26))
    # what a slow or silent client may cost (docs/deployment.md)
    header_timeout = fields.Float(load_default=10.0, validate=validate.Range(0.5, 300))
    keepalive_timeout = fields.Float(load_default=5.0, validate=validate.Range(0.1, 300))
    body_timeout = fields.Float(load_default=30.0, validate=validate.Range(1, 3600))
    connections_per_address = fields.Integer(load_default=64, validate=validate.Range(1, 100_000))
    # addresses or networks of reverse proxies whose X-Forwarded-For is believed
    trusted_proxies = fields.List(fields.String(validate=_network), load_default=list)


class FleetSection(_Strict):
    """[fleet]: where synced credentials come from (docs/fleet.md); no url, no syncing."""

    url = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^https://[^\s/]+(/\S*)?$", error="must be an https:// URL"),
    )
    ca_file = fields.String(load_default=None, allow_none=True)
    cert_file = fields.String(load_default=None, allow_none=True)
    key_file = fields.String(load_default=None, allow_none=True)
    poll_interval = fields.Integer(load_default=3600, validate=validate.Range(0, 7 * 86400))
    timeout = fields.Float(load_default=30.0, validate=validate.Range(1, 600))
    client_role = fields.String(load_default=None, allow_none=True)
    peer_role = fields.String(load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=True)
    def _files_with_url(self, data: dict, **_kwargs) -> None:
        missing = [k for k in ("ca_file", "cert_file", "key_file") if data["url"] and not data[k]]
        if missing:
            raise ValidationError(f"needs {', '.join(missing)} too", "url")


class ConfigSchema(_Strict):
    data_dir = fields.String(load_default=None, allow_none=True)
    testing = fields.Boolean(load_default=False)
    relay = fields.Nested(RelaySection, load_default=lambda: RelaySection().load({}))
    auth = fields.Nested(AuthSection, load_default=lambda: AuthSection().load({}))
    server = fields.Nested(ServerSection, load_default=lambda: ServerSection().load({}))
    hardware = fields.Dict(load_default=dict)
    scripts = fields.Nested(ScriptsSection, load_default=lambda: ScriptsSection().load({}))
    network = fields.Nested(NetworkSection, load_default=lambda: NetworkSection().load({}))
    fleet = fields.Nested(FleetSection, load_default=lambda: FleetSection().load({}))

    @validates_schema(skip_on_field_errors=True)
    def _functions_name_real_outlets(self, data: dict, **_kwargs) -> None:
        check_outlets(data["scripts"], data["hardware"])


def _merge(base: dict, extra: dict) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_toml(path: str | os.PathLike) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path} is not valid TOML: {err}") from err


def load(overrides: dict | None = None, path: str | os.PathLike | None = None) -> dict:
    """Return the validated configuration; raise ConfigError naming each bad key."""
    raw = read_toml(path) if path else {}
    raw = _merge(raw, overrides or {})
    try:
        config = ConfigSchema().load(raw)
    except ValidationError as err:
        problems = "; ".join(describe_validation(err.messages))
        raise ConfigError(f"invalid configuration: {problems}") from err
    config["data_dir"] = str(
        Path(config["data_dir"] or os.environ.get("POWERCTL_DATA_DIR") or "var").resolve()
    )
    return config
