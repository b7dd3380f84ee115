"""script/: the user functions, starting and stopping them, and the threads running them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from powerctl import access
from powerctl.access import AccessPolicy
from powerctl.auth.principal import Principal
from powerctl.errors import BadRequest, Conflict, describe_validation
from powerctl.restapi.body import Body, loads_text
from powerctl.restapi.tree import Branch, Call, Collection, KeyPath, Value, member, owner
from powerctl.scripts import binding
from powerctl.scripts.runner import Runner
from scopes import Access

SOURCE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\s*(.*?)\s*\)\s*")
START_SHAPE = 'send [{"user_function": "NAME"}], optionally with "args": [1, 2] or "source": "NAME(1,2)"'


class StartRequest(Schema):
    class Meta:
        unknown = RAISE

    user_function = fields.String(required=True, validate=validate.Length(1, 64))
    args = fields.List(fields.Integer(strict=True), validate=validate.Length(max=16))
    source = fields.String(validate=validate.Length(max=256))


def _json(body: Body) -> object:
    if body.kind == "json":
        return body.value
    if body.kind == "text":
        try:
            return loads_text(body.value, "script body")  # type: ignore[arg-type]
        except json.JSONDecodeError:
            return None
    return None


def _named(body: Body) -> str | None:
    """The function a start body names, if it has the expected shape."""
    value = _json(body)
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        name = value[0].get("user_function")
        return name if isinstance(name, str) else None
    return None


def start_request(body: Body) -> tuple[str, list[int]]:
    """The function and arguments of `[{"user_function": ..., "args"|"source": ...}]`."""
    value = _json(body)
    if not (isinstance(value, list) and len(value) == 1):
        raise BadRequest(f"a start body is a JSON array of one object: {START_SHAPE}")
    try:
        item = StartRequest().load(value[0])
    except ValidationError as err:
        raise BadRequest(
            f"bad start request: {'; '.join(describe_validation(err.messages))}; {START_SHAPE}",
            errors=err.messages,
        ) from None
    name, args = item["user_function"], item.get("args", [])
    if "source" in item:
        if "args" in item:
            raise BadRequest('give "args" or "source", not both')
        match = SOURCE.fullmatch(item["source"])
        texts = match.group(2).split(",") if match and match.group(2) else []
        if not match or match.group(1) != name or not all(re.fullmatch(r"\s*-?\d{1,9}\s*", t) for t in texts):
            raise Conflict(
                f'source must call "{name}" with integer arguments, such as'
                f' "{name}(5,10)", not {item["source"]!r}'
            )
        args = [int(text) for text in texts]
    return name, args


def stop_request(body: Body) -> list[str]:
    value = _json(body)
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= 64
        or not all(isinstance(item, str) for item in value)
        or ("all" in value and len(value) > 1)
    ):
        raise BadRequest('a stop body is ["all"] or a JSON array of thread ids such as ["21"]')
    return value


def others_seen(who: Principal, threads: KeyPath) -> Callable[[str], bool]:
    """Which threads a caller sees and stops besides its own: those its scopes cover.

    A thread is covered like any leaf, by a scope on script/threads/ or below it (all;/label/).
    Only a scope counts, never a policy's covered_by: the right to start or stop opens the listing, not
    the threads of other clients.
    """
    if who.is_admin:
        return _everything
    return lambda ident: access.covers(who, [(*threads, ident, "label")], Access.GET)


def _everything(_ident: str) -> bool:
    return True


def script_node(runner: Runner, outlets_at: KeyPath, outlet_count: int) -> Branch:
    """`outlets_at` is where the outlets are mounted: a call is checked against the caller's
    bounds on every outlet it may switch (a session narrowed to outlet 1 starts only functions
    that stay on outlet 1)."""
    names = list(runner.functions)

    def describe(keys: KeyPath) -> dict:
        args = runner.functions[member(keys)].args
        return {"args": list(args)} if args else {}

    def start(keys: KeyPath, body: Body, who: Principal) -> str:
        name, args = start_request(body)
        outlets = binding.reached(runner.functions, name, tuple(args), outlet_count)
        leaves = [(*outlets_at, str(index), "state") for index in sorted(outlets)]
        access.require_within(who, leaves, Access.MODIFY, f"function {name}")
        return runner.start(name, args, who)

    def stop(keys: KeyPath, body: Body, who: Principal) -> list[str]:
        return runner.stop(stop_request(body), who, others_seen(who, (*keys[:-1], "threads")))

    def threads(prefix: KeyPath, who: Principal) -> list[str]:
        return [script.id for script in runner.visible(who, others_seen(who, prefix))]

    def label(keys: KeyPath) -> str | None:
        script = runner.thread(owner(keys))
        return None if script is None else script.label

    # Whoever may start or stop scripts may list the threads (its own, and those its scopes
    # cover: others_seen) and the functions it may start.
    def starters(base: KeyPath, access: Access) -> list[tuple[KeyPath, Access]]:
        if access != Access.GET:
            return []
        return [
            ((*base, "start"), Access.INVOKE),
            ((*base, "stop"), Access.INVOKE),
            *(((*base, "user_functions", name), Access.INVOKE) for name in names),
        ]

    def readers(base: KeyPath, function: KeyPath, access: Access) -> list[tuple[KeyPath, Access]]:
        return [(function, Access.INVOKE), ((*base, "start"), Access.INVOKE)] if access == Access.GET else []

    def function_starters(keys: KeyPath, body: Body, access: Access) -> list[tuple[KeyPath, Access]]:
        name = _named(body)
        return [] if name is None else [((*keys[:-1], "user_functions", name), access)]

    # (keys of the node, request body, access word) -> other grants, any one of which suffices
    function = Value(
        fields.Raw(),
        read=describe,
        policy=AccessPolicy(covered_by=lambda keys, _body, access: readers(keys[:-2], keys, access)),
    )
    thread = Branch(
        {
            "label": Value(
                fields.String(),
                read=label,
                policy=AccessPolicy(covered_by=lambda keys, _body, access: starters(keys[:-3], access)),
            )
        }
    )
    return Branch(
        {
            "user_functions": Collection(
                keys=lambda _prefix: names,
                item=function,
                array=False,
                stable=True,
                policy=AccessPolicy(covered_by=lambda keys, _body, access: readers(keys[:-1], keys, access)),
            ),
            "start": Call(start, policy=AccessPolicy(covered_by=function_starters)),
            "stop": Call(stop),
            "threads": Collection(
                keys=lambda _prefix: runner.ids(),
                owned_keys=threads,
                item=thread,
                array=False,
                policy=AccessPolicy(covered_by=lambda keys, _body, access: starters(keys[:-1], access)),
            ),
        }
    )
