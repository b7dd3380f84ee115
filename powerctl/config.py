"""Gateway configuration: embedded defaults, an optional TOML file, then explicit overrides."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from powerctl.autoping.config import AutoPingSection, check_items
from powerctl.errors import describe_validation
from powerctl.network import NetworkSection
from powerctl.proxy import networks
from powerctl.scripts.config import ScriptsSection, check_outlets, outlet_count


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
    # DLI's power-loss recovery: 0 all off, 1 all on, 2 each outlet's configured state
    recovery_mode = fields.Integer(load_default=2, strict=True, validate=validate.OneOf((0, 1, 2)))


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


def _bind(text: str) -> None:
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValidationError(f"{text!r} is not HOST:PORT (for example 127.0.0.1:8443 or [::1]:8443)")


class ServerSection(_Strict):
    bind = fields.String(load_default="127.0.0.1:8443", validate=_bind)
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


class RedfishSection(_Strict):
    """[redfish]: the Redfish view under /redfish/ (docs/redfish.md)."""

    enabled = fields.Boolean(load_default=True)
    manufacturer = fields.String(load_default="powerctl", validate=validate.Length(1, 64))
    model = fields.String(load_default="powerctl gateway", validate=validate.Length(1, 64))
    firmware_version = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64))
    session_timeout = fields.Integer(load_default=1800, validate=validate.Range(30, 86400))


class MqttSection(_Strict):
    """[mqtt]: outlets and meters on an MQTT broker with Home Assistant discovery (docs/mqtt.md)."""

    url = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(
            r"^mqtts?://[^\s/:]+(:\d{1,5})?/?$", error="must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"
        ),
    )
    client = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64))
    node_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[a-z0-9_]{1,64}$", error="must be 1-64 of a-z, 0-9 and _"),
    )
    discovery_prefix = fields.String(
        load_default="homeassistant", validate=validate.Regexp(r"^[^\s#+]{1,64}$")
    )
    base_topic = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^[^\s#+]{1,128}$")
    )
    username = fields.String(load_default=None, allow_none=True)
    password = fields.String(load_default=None, allow_none=True)
    ca_file = fields.String(load_default=None, allow_none=True)
    cert_file = fields.String(load_default=None, allow_none=True)
    key_file = fields.String(load_default=None, allow_none=True)
    keepalive = fields.Integer(load_default=60, validate=validate.Range(5, 3600))
    meter_interval = fields.Float(load_default=10.0, validate=validate.Range(1, 3600))

    @validates_schema(skip_on_field_errors=True)
    def _client_with_url(self, data: dict, **_kwargs) -> None:
        if not data["url"]:
            return
        if not data["client"]:
            raise ValidationError("needs client too: the registered client whose scopes commands use", "url")
        try:
            import paho.mqtt.client  # noqa: F401
        except ImportError:
            raise ValidationError(
                "needs the mqtt extra, which is not installed: pip install 'powerctl[mqtt]'", "url"
            ) from None


class PduHostname(_Strict):
    client = fields.String(required=True, validate=validate.Length(1, 64))
    token_required = fields.Boolean(load_default=False)


class PduDaemonSection(_Strict):
    """[pdudaemon]: a pdudaemon-compatible listener; on once a hostname is configured."""

    bind = fields.String(load_default="127.0.0.1:16421", validate=_bind)
    http = fields.Boolean(load_default=True)
    tcp = fields.Boolean(load_default=False)  # pdudaemon's legacy line protocol, same port
    allow = fields.List(fields.String(validate=_network), load_default=list)
    header_timeout = fields.Float(load_default=10.0, validate=validate.Range(0.5, 120))
    max_connections_per_address = fields.Integer(load_default=16, validate=validate.Range(1, 1024))
    hostnames = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")),
        values=fields.Nested(PduHostname),
        load_default=dict,
    )


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


class HistorySection(_Strict):
    """[history]: meter history (docs/history.md); interval 0 samples nothing."""

    interval = fields.Integer(
        load_default=10,
        strict=True,
        validate=validate.Range(0, 3600, error="must be 0 (off) to 3600 seconds between samples"),
    )


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
    redfish = fields.Nested(RedfishSection, load_default=lambda: RedfishSection().load({}))
    mqtt = fields.Nested(MqttSection, load_default=lambda: MqttSection().load({}))
    pdudaemon = fields.Nested(PduDaemonSection, load_default=lambda: PduDaemonSection().load({}))
    history = fields.Nested(HistorySection, load_default=lambda: HistorySection().load({}))
    autoping = fields.Nested(AutoPingSection, load_default=lambda: AutoPingSection().load({}))

    @validates_schema(skip_on_field_errors=True)
    def _functions_name_real_outlets(self, data: dict, **_kwargs) -> None:
        check_outlets(data["scripts"], data["hardware"])

    @validates_schema(skip_on_field_errors=True)
    def _items_name_real_outlets(self, data: dict, **_kwargs) -> None:
        count = outlet_count(data["hardware"])
        for number, item in enumerate(data["autoping"]["items"]):
            try:
                check_items([item], count or 10_001, data["scripts"]["functions"])
            except ValidationError as err:
                raise ValidationError({"items": {number: err.messages}}, "autoping") from None


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
