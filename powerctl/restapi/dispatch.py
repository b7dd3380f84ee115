"""The one /restapi/ view: parse the path, authenticate, authorise every leaf, then act."""

from __future__ import annotations

import weakref
from functools import cached_property
from operator import itemgetter

from flask import Blueprint, Response, current_app, redirect, request

import scopes
from powerctl import access
from powerctl.auth import Principal
from powerctl.errors import BadRequest
from powerctl.restapi.authorise import Authorisation
from powerctl.restapi.body import Body, convert, read_body
from powerctl.restapi.methods import ACCESS, METHODS, check_methods
from powerctl.restapi.tree import Call, Collection, KeyPath, Tree, Value
from powerctl.restapi.view import CallerView
from powerctl.restapi.wire import csrf_ok, depth_limit, dumps, effective_method, json_response, no_content

bp = Blueprint("restapi", __name__)
_KEYS, _NODE = itemgetter(0), itemgetter(1)  # of a target, a (keys, node) pair


@bp.route("/restapi", methods=METHODS, strict_slashes=False)
@bp.route("/restapi/<path:_rest>", methods=METHODS)
def dispatch(_rest: str = "") -> Response:
    # The environ is read once and handed on: each attribute read through Flask's `request`
    # proxy costs about a microsecond, a tenth of what the gate itself costs.
    environ = request.environ
    target = access.raw_target(environ)
    path_text, _, query = target.partition("?")
    if not path_text.endswith("/"):
        code = 301 if request.method in ("GET", "HEAD") else 307
        return redirect(path_text + "/" + ("?" + query if query else ""), code=code)
    principal = access.authenticate(target, environ)
    method = effective_method(environ)
    if method not in ("GET", "HEAD", "OPTIONS") and not csrf_ok():
        access.deny(
            principal,
            "no X-CSRF header",
            message="state-changing requests need an X-CSRF header or X-Requested-With: XMLHttpRequest",
        )
    path = scopes.parse_path(path_text[len("/restapi") :])
    tree = current_app._get_current_object().extensions["powerctl.tree"]
    if not principal.is_admin and tree.closed_to_clients(path):
        access.require_admin(principal)
    return Request(tree, principal, path, method, environ).run()


class Request(Authorisation):
    """One authenticated /restapi/ request, carried through resolve, authorise and act."""

    def __init__(self, tree: Tree, principal: Principal, path: scopes.Path, method: str, environ: dict):
        self.environ = environ
        self.tree = tree
        # The view asks its request about filter fields; referring to it weakly keeps the two
        # out of a reference cycle, so a request's objects go when it returns, not at the next
        # run of the cycle collector.
        self.view = CallerView(tree, principal, weakref.proxy(self))
        self.principal = principal
        self.path = path
        self.method = method
        self.access = ACCESS[method]
        # set by run(), once resolved
        self.nodes: dict[int, tuple[KeyPath, object]] = {}
        self.keys_list: list[KeyPath] = []

    def run(self) -> Response:
        targets = self.resolve()
        self.keys_list = list(map(_KEYS, targets))
        # One entry per node, with the keys of its first target: a node sits at one place in the
        # tree, so its checks hold for all its targets (a matrix of one field is one node, found
        # without a loop here: nodes compare by identity).
        nodes = list(map(_NODE, targets))
        if nodes and nodes.count(nodes[0]) == len(nodes):
            self.nodes = {id(nodes[0]): targets[0]}  # type: ignore[dict-item]
        else:
            self.nodes = {id(node): (keys, node) for keys, node in reversed(targets)}
        check_methods(self.principal, self.method, self.access, self.nodes.values())
        self.authorise(targets)
        if self.access == scopes.Access.GET:
            return self.get(targets)
        if self.method == "DELETE":
            # last first: deleting from an array moves later members up (autoping/items/=0,1/)
            for keys, node in reversed(targets):
                node.delete(keys, self.principal)  # type: ignore[union-attr]
            return no_content()
        if self.access == scopes.Access.MODIFY:
            return self.put(targets)
        return self.invoke(targets)

    def resolve(self) -> list[tuple[KeyPath, object]]:
        try:
            return self.tree.resolve(self.path, self.view)
        except scopes.NoSuchPath as err:
            creatable = self.creatable(err)
            if creatable is None:
                raise
            parent = self.tree.node(creatable[:-1])
            return [(creatable, parent.item)]  # type: ignore[attr-defined]

    def creatable(self, err: scopes.NoSuchPath) -> KeyPath | None:
        """A PUT naming a new key of a collection that accepts new keys, such as a client."""
        segments = self.path.segments
        if self.method != "PUT" or len(err.prefix) != len(segments) - 1:
            return None
        last = segments[-1]
        parent = self.tree.node(err.prefix)
        if isinstance(last, scopes.Name) and isinstance(parent, Collection) and parent.creatable:
            if parent.creatable(last.key):
                return (*err.prefix, last.key)
            raise BadRequest(
                f"{last.key!r} is not a valid name here",
                errors={"path": self.path.text, "column": last.column},
            )
        return None

    @cached_property
    def body(self) -> Body:  # type: ignore[override]
        return read_body()

    def get(self, targets: list[tuple[KeyPath, object]]) -> Response:
        depth = depth_limit(self.environ)
        node = targets[0][1] if targets else None  # a filter may match nothing
        read = node.batch.read if isinstance(node, Value) else None
        if read is not None and len(targets) > 1 and len(self.nodes) == 1:
            values = read(self.keys_list)
        else:
            values = [self.view.render(keys, node, depth, len(keys)) for keys, node in targets]
        status = 206 if depth is not None else 200
        if self.path.is_matrix:
            return json_response(values, 207)
        return json_response(values[0], status)

    def put(self, targets: list[tuple[KeyPath, object]]) -> Response:
        body = read_body(forms=any(getattr(node.field, "takes_forms", False) for _, node in targets))  # type: ignore[union-attr]
        converted = [
            (keys, node, convert(body, node.field, _where(keys)))  # type: ignore[union-attr]
            for keys, node in targets
        ]
        _write_all(converted, self.principal)
        if not self.path.is_matrix:
            # Prefer: return=representation (RFC 7240), as DLI clients send with a PATCH
            if _prefers_representation() and self.may_read([targets[0][0]]):
                return json_response(targets[0][1].read(targets[0][0]), 200)  # type: ignore[union-attr]
            return no_content()
        keys_list = self.keys_list
        if not self.may_read(keys_list):
            return no_content()
        return json_response([node.read(keys) for keys, node in targets], 207)  # type: ignore[union-attr]

    def invoke(self, targets: list[tuple[KeyPath, object]]) -> Response:
        node = targets[0][1]
        invoke = node.batch.invoke if isinstance(node, Call) else None
        if invoke is not None and len(targets) > 1 and len(self.nodes) == 1:
            results = invoke(self.keys_list, self.body, self.principal)
        else:
            results = [node.invoke(keys, self.body, self.principal) for keys, node in targets]  # type: ignore[union-attr]
        if not self.may_read(self.keys_list):
            return no_content()
        if self.path.is_matrix:
            return json_response(results, 207)
        return json_response(results[0], 200)


def _prefers_representation() -> bool:
    prefer = request.headers.get("Prefer", "")
    return any(
        part.strip().lower() == "return=representation" for part in prefer.replace(";", ",").split(",")
    )


def _where(keys: KeyPath) -> str:
    return "/" + "/".join(keys) + "/"


def _write_all(converted: list[tuple[KeyPath, Value, object]], principal: Principal) -> None:
    """Write values grouped by node, so a batch (several outlets) is one call that can sequence."""
    groups: dict[int, tuple[Value, list[KeyPath], list[object]]] = {}
    for keys, node, value in converted:
        group = groups.setdefault(id(node), (node, [], []))
        group[1].append(keys)
        group[2].append(value)
    for node, keys_list, values in groups.values():
        if node.check is not None:
            for keys, value in zip(keys_list, values, strict=True):
                node.check([keys], value)
    for node, keys_list, values in groups.values():
        if node.batch.write is not None and len(set(map(dumps, values))) == 1:
            node.batch.write(keys_list, values[0], principal)
        else:
            for keys, value in zip(keys_list, values, strict=True):
                node.write(keys, value, principal)  # type: ignore[misc]
