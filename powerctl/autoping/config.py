"""The settings and items of AutoPing as marshmallow schemas: the [autoping] section and the API."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from powerctl.autoping.addresses import AddressError, parse_address
from powerctl.autoping.checks import MISSING_ICMP, icmp_available

MAX_ADDRESSES = 16
MAX_OUTLETS = 64
MAX_ITEMS = 4096
FUNCTION_NAME = r"^([A-Za-z_][A-Za-z0-9_]{0,63})?$"
READ_ONLY = ("status", "tx", "rx", "hits", "reason")  # shown by GET, ignored when sent back


class JsonBoolean(fields.Field):
    """true or false as JSON has them (TOML too): never 0, 1 or "true"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


class AddressField(fields.Field):
    """A host (ICMP), tcp://HOST:PORT or an http(s):// URL, kept as the text written."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            address = parse_address(value)
        except AddressError as err:
            raise ValidationError(str(err)) from None
        if address.kind == "icmp" and not icmp_available():
            raise ValidationError(f"{value!r}: {MISSING_ICMP}")
        return address.text


def _count(low: int, high: int, **kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(low, high), **kwargs)


def _seconds(low: float, high: float, default: float) -> fields.Float:
    return fields.Float(
        load_default=default,
        allow_nan=False,
        validate=validate.Range(low, high, error=f"must be between {low:g} and {high:g} s"),
    )


class ItemSchema(Schema):
    """One item: addresses to watch, and the outlets to cycle or the function to start."""

    class Meta:
        unknown = RAISE

    addresses = fields.List(AddressField(), required=True, validate=validate.Length(1, MAX_ADDRESSES))
    outlets = fields.List(_count(0, 10_000), load_default=list, validate=validate.Length(max=MAX_OUTLETS))
    enabled = JsonBoolean(load_default=True)
    pings_before_enabling = _count(0, 100_000, load_default=None, allow_none=True)
    script = fields.String(
        load_default="", validate=validate.Regexp(FUNCTION_NAME, error="not a function name")
    )
    resumption_trial = JsonBoolean(load_default=False)

    @validates_schema(skip_on_field_errors=True)
    def _acts(self, data: dict, **_kwargs) -> None:
        if not data["outlets"] and not data["script"]:
            raise ValidationError("an item needs outlets to cycle or a script to start", "outlets")
        if len(set(data["outlets"])) != len(data["outlets"]):
            raise ValidationError("an outlet is listed twice", "outlets")
        if len(set(data["addresses"])) != len(data["addresses"]):
            raise ValidationError("an address is listed twice", "addresses")


# The settings of autoping/ (and their defaults, the first values of a new data directory).
SETTINGS = {
    "enabled": JsonBoolean(load_default=True),
    "ping_interval": _seconds(0.05, 3600, 10.0),
    "ping_timeout": _seconds(0.05, 60, 2.0),
    "post_reboot_delay": _seconds(0, 86_400, 60.0),
    "max_reboot_count": _count(0, 1_000_000, load_default=0),
    "max_consecutive_reboot_count": _count(0, 1000, load_default=3),
    "pings_before_enabling": _count(0, 100_000, load_default=10),
    "failures_before_reboot": _count(1, 1000, load_default=3),
}


class AutoPingSection(Schema.from_dict(SETTINGS)):  # type: ignore[misc]
    """[autoping]: the settings' first values, the items declared, and the scheduler's bound."""

    class Meta:
        unknown = RAISE

    max_concurrent_checks = _count(1, 10_000, load_default=256)
    items = fields.List(fields.Nested(ItemSchema), load_default=list, validate=validate.Length(max=MAX_ITEMS))


def check_items(items: list[dict], outlet_count: int, functions: dict) -> None:
    """Refuse items naming outlets the boards lack, or a function that does not take them."""
    last = outlet_count - 1
    for item in items:
        bad = [index for index in item["outlets"] if index > last]
        if bad:
            raise ValidationError({"outlets": [f"there is no outlet {bad[0]} (outlets are 0-{last})"]})
        name = item["script"]
        if not name:
            continue
        function = functions.get(name)
        if function is None:
            known = ", ".join(sorted(functions)) or "none are declared"
            raise ValidationError({"script": [f'there is no user function "{name}" ({known})']})
        if function.args and len(function.args) != len(item["outlets"]):
            problem = (
                f'"{name}" takes {len(function.args)} arguments ({", ".join(function.args)}),'
                f" and this item has {len(item['outlets'])} outlets: it gets one outlet per argument"
            )
            raise ValidationError({"script": [problem]})
