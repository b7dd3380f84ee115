"""autoping/: the watchdog's settings, its items (a zero-based array) and reset_statistics/.

Only admins by default, like every node a client holds no scope for. An item is one leaf: a
scope names items (`/autoping/items/all;/?access=get`), not their fields; filters read the
fields (`autoping/items/all;enabled=true/`). A client writing an item must also be allowed to
cycle its outlets (or start its function): an item acts on the caller's behalf.
"""

from __future__ import annotations

from collections.abc import Mapping

from marshmallow import ValidationError, fields

from powerctl import access
from powerctl.auth import Principal
from powerctl.autoping.config import READ_ONLY, SETTINGS, ItemSchema, check_items
from powerctl.autoping.items import Spec
from powerctl.autoping.service import AutoPing
from powerctl.restapi.body import Body, convert
from powerctl.restapi.tree import Branch, Call, Collection, KeyPath, Value, member
from powerctl.scripts.functions import Function
from scopes import Access

WHERE = "/autoping/items/"
SHAPE = "an item is an object: addresses, outlets, enabled, pings_before_enabling, script, resumption_trial"


class ItemField(fields.Field):
    """A whole item; the read-only fields a GET shows (status, tx, rx, hits, reason) are ignored."""

    def __init__(self, outlet_count: int, functions: Mapping[str, Function], **kwargs):
        super().__init__(**kwargs)
        self.outlet_count = outlet_count
        self.functions = functions

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError(SHAPE)
        item = ItemSchema().load({key: part for key, part in value.items() if key not in READ_ONLY})
        check_items([item], self.outlet_count, self.functions)
        return Spec.from_json(item)


def autoping_node(
    service: AutoPing, outlets_at: KeyPath, functions_at: KeyPath, outlet_count: int, functions
) -> Branch:
    field = ItemField(outlet_count, functions)

    def may_act(who: Principal, spec: Spec) -> None:
        """A client's item may only do what the client could do itself."""
        leaves = [(*outlets_at, str(index), "cycle") for index in spec.outlets]
        if spec.script:
            leaves.append((*functions_at, spec.script))
        missing = access.first_uncovered(who, leaves, Access.INVOKE)
        if missing is not None:
            access.deny(
                who, f"an AutoPing item would invoke {access.where(missing)}, which no scope covers", True
            )

    def write(keys: KeyPath, spec: Spec, who: Principal) -> None:
        may_act(who, spec)
        service.put(int(member(keys)), spec, who.actor())

    def create(_keys: KeyPath, body: Body, who: Principal) -> int:
        spec = convert(body, field, WHERE)
        may_act(who, spec)  # type: ignore[arg-type]
        return service.add(spec, who.actor())  # type: ignore[arg-type]

    def setting(key: str, kind: fields.Field) -> Value:
        return Value(
            kind,
            read=lambda _keys: service.settings[key],
            write=lambda _keys, value, who: service.set_setting(key, value, who.actor()),
        )

    return Branch(
        {
            **{key: setting(key, kind) for key, kind in SETTINGS.items()},
            "items": Collection(
                keys=lambda _prefix: [str(index) for index in range(service.count())],
                item=Value(
                    field,
                    read=lambda keys: service.item_json(int(member(keys))),
                    write=write,
                    delete=lambda keys, who: service.delete(int(member(keys)), who.actor()),
                ),
                creatable=lambda key: key == str(service.count()),
                invoke=create,
            ),
            "reset_statistics": Call(lambda _keys, _body, who: service.reset_statistics(who.actor())),
        }
    )
