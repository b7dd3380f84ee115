"""relay/: the relay-wide settings and the outlets array."""

from __future__ import annotations

from marshmallow import fields, validate

from powerctl.audit import Audit
from powerctl.relay import RECOVERY_MODES, Actor, Relay
from powerctl.resources.history import outlet_history
from powerctl.resources.values import Flag, label, seconds
from powerctl.restapi.tree import Batch, Branch, Call, Collection, KeyPath, Value, owner, owners
from powerctl.store import Database
from powerctl.version import __version__

MODEL = "powerctl"
VIA = "restapi"  # the surface an outlet's switch history names for these changes


def _index(keys: KeyPath) -> int:
    return int(owner(keys))


def _indexes(keys_list: list[KeyPath]) -> list[int]:
    return list(map(int, owners(keys_list)))


def _outlet_field(relay: Relay, name: str, field: fields.Field) -> Value:
    return Value(
        field,
        read=lambda keys: getattr(relay.outlet(_index(keys)), name),
        batch=Batch(
            write=lambda keys_list, value, who: relay.set_field(_indexes(keys_list), name, value, who.actor())
        ),
    )


def _switch(relay: Relay, persist: bool) -> Value:
    if persist:

        def read(keys: KeyPath) -> bool:
            return relay.outlet(_index(keys)).state
    else:

        def read(keys: KeyPath) -> bool:
            return relay.transient(_index(keys))

    return Value(
        Flag(),
        read=read,
        check=lambda keys_list, _: relay.check_switch(_indexes(keys_list)),
        # several outlets switching on go one after another, sequence_delay apart
        batch=Batch(
            write=lambda keys_list, on, who: relay.set_state(
                _indexes(keys_list), on, Actor.of(who, VIA), persist=persist
            )
        ),
    )


def outlet_node(relay: Relay, db: Database, trail: Audit) -> Branch:
    # Field order follows what DLI controllers return for an outlet object.
    return Branch(
        {
            "critical": _outlet_field(relay, "critical", Flag()),
            "transient_state": _switch(relay, persist=False),
            "state": _switch(relay, persist=True),
            "physical_state": Value(
                Flag(),
                read=lambda keys: relay.physical(_index(keys)),
                batch=Batch(read=lambda keys_list: relay.physicals(_indexes(keys_list))),
            ),
            "name": _outlet_field(relay, "name", label()),
            "locked": _outlet_field(relay, "locked", Flag()),
            "cycle_delay": _outlet_field(relay, "cycle_delay", seconds(allow_none=True)),
            "cycle": Call(
                lambda keys, _body, who: relay.cycle(_index(keys), Actor.of(who, VIA)),
                # a matrix cycle is all or none: one locked outlet refuses it before any switches
                batch=Batch(
                    invoke=lambda keys_list, _body, who: relay.cycle_many(
                        _indexes(keys_list), Actor.of(who, VIA)
                    )
                ),
            ),
            "history": outlet_history(db, trail),
        }
    )


def _setting(relay: Relay, key: str, field: fields.Field) -> Value:
    return Value(
        field,
        read=lambda _keys: relay.setting(key),
        write=lambda _keys, value, who: relay.set_setting(key, value, who.actor()),
    )


def relay_node(relay: Relay, db: Database, trail: Audit) -> Branch:
    keys = [str(i) for i in range(relay.count)]
    return Branch(
        {
            "name": _setting(relay, "name", label()),
            "cycle_delay": _setting(relay, "cycle_delay", seconds()),
            "sequence_delay": _setting(relay, "sequence_delay", seconds()),
            "recovery_mode": _setting(
                relay, "recovery_mode", fields.Integer(strict=True, validate=validate.OneOf(RECOVERY_MODES))
            ),
            "model": Value(fields.String(), read=lambda _keys: MODEL),
            "version": Value(fields.String(), read=lambda _keys: __version__),
            "online": Value(Flag(), read=lambda _keys: relay.online),
            "outlets": Collection(keys=lambda _prefix: keys, item=outlet_node(relay, db, trail), stable=True),
        }
    )
