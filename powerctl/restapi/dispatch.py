"""The one /restapi/ view: parse the path, authenticate, authorise every leaf, then act."""

from __future__ import annotations

import json
import re
from functools import cached_property
from typing import NoReturn
from urllib.parse import quote

from flask import Blueprint, Response, current_app, g, redirect, request

import scopes
from powerctl.audit import audit
from powerctl.auth import Principal, authenticator
from powerctl.errors import BadRequest, Forbidden, MethodNotAllowed
from powerctl.restapi.body import Body, convert, read_body
from powerctl.restapi.tree import Call, Collection, FilterForbidden, Keys, Tree, TreeView, Value

bp = Blueprint("restapi", __name__)

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
ACCESS = {"GET": "get", "HEAD": "get", "PUT": "modify", "PATCH": "modify", "DELETE": "modify",
          "POST": "invoke", "OPTIONS": "get"}
TUNNELED = {"PUT", "PATCH", "DELETE"}
_DEPTH = re.compile(r"\s*dli-depth\s*=\s*(\d{1,3})\s*")


def dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_response(value: object, status: int) -> Response:
    return Response(dumps(value), status=status, mimetype="application/json")


def raw_target() -> str:
    """The request target as the client sent it: digest `uri` and matrix syntax need it raw."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        return raw
    path = quote(request.environ.get("PATH_INFO", "/").encode("latin-1"), safe="/;=,!:@$&+*'()~")
    query = request.environ.get("QUERY_STRING")
    return path + ("?" + query if query else "")


def effective_method() -> str:
    method = request.method
    override = request.headers.get("X-HTTP-Method", "").strip().upper()
    if method == "POST" and override:
        if override not in TUNNELED:
            raise BadRequest(f"X-HTTP-Method may name PUT, PATCH or DELETE, not {override[:16]!r}")
        return override
    return method


def depth_limit() -> int | None:
    header = request.headers.get("Range")
    if header is None or not header.strip().lower().startswith("dli-depth"):
        return None
    match = _DEPTH.fullmatch(header.lower())
    if match is None:
        raise BadRequest(f"Range must be dli-depth=N with N a number, not {header[:40]!r}")
    return int(match.group(1))


def csrf_ok() -> bool:
    return bool(request.headers.get("X-CSRF")) or (
        request.headers.get("X-Requested-With", "").lower() == "xmlhttprequest"
    )


@bp.route("/restapi", methods=METHODS, strict_slashes=False)
@bp.route("/restapi/<path:_rest>", methods=METHODS)
def dispatch(_rest: str = "") -> Response:
    target = raw_target()
    path_text, _, query = target.partition("?")
    if not path_text.endswith("/"):
        code = 301 if request.method in ("GET", "HEAD") else 307
        return redirect(path_text + "/" + ("?" + query if query else ""), code=code)
    principal = authenticator().authenticate(target)
    g.principal = principal  # for values that depend on the caller, such as script/threads/
    method = effective_method()
    if method not in ("GET", "HEAD", "OPTIONS") and not csrf_ok():
        audit().record(f"access denied for {principal.describe()}: no X-CSRF header")
        raise Forbidden("state-changing requests need an X-CSRF header "
                        "or X-Requested-With: XMLHttpRequest")
    path = scopes.parse_path(path_text[len("/restapi"):])
    return Request(current_app.extensions["powerctl.tree"], principal, path, method).run()


def deny(principal: Principal, reason: str, insufficient: bool = False) -> NoReturn:
    """Audit and refuse with 403; `insufficient` marks a missing scope for bearer clients."""
    audit().record(f"access denied for {principal.describe()}: {reason}")
    headers = {}
    if insufficient:
        headers["WWW-Authenticate"] = 'Bearer error="insufficient_scope"'
    raise Forbidden(f"client {principal.client} may not do this: {reason}"
                    if principal.client else reason, headers=headers)


class Request:
    """One authenticated /restapi/ request, carried through resolve, authorise and act."""

    def __init__(self, tree: Tree, principal: Principal, path: scopes.Path, method: str):
        self.tree = tree
        self.view = TreeView(tree, principal.grants, principal.client)
        self.principal = principal
        self.path = path
        self.method = method
        self.access = ACCESS[method]

    def run(self) -> Response:
        targets = self.resolve()
        self.check_methods(targets)
        self.authorise(targets)
        if self.access == "get":
            return self.get(targets)
        if self.method == "DELETE":
            for keys, node in targets:
                node.delete(keys, self.principal)  # type: ignore[union-attr]
            return Response(status=204)
        if self.access == "modify":
            return self.put(targets)
        return self.invoke(targets)

    def resolve(self) -> list[tuple[Keys, object]]:
        try:
            return self.tree.resolve(self.path, self.view)
        except FilterForbidden as err:
            self.deny(f"filtering on {_where(err.leaf)} needs get access to it", insufficient=True)
            raise  # deny() raised already
        except scopes.NoSuchPath as err:
            creatable = self.creatable(err)
            if creatable is None:
                raise
            parent = self.tree.node(creatable[:-1])
            return [(creatable, parent.item)]  # type: ignore[attr-defined]

    def creatable(self, err: scopes.NoSuchPath) -> Keys | None:
        """A PUT naming a new key of a collection that accepts new keys, such as a client."""
        segments = self.path.segments
        if self.method != "PUT" or len(err.prefix) != len(segments) - 1:
            return None
        last = segments[-1]
        parent = self.tree.node(err.prefix)
        if isinstance(last, scopes.Name) and isinstance(parent, Collection) and parent.creatable:
            if parent.creatable(last.key):
                return (*err.prefix, last.key)
            raise BadRequest(f"{last.key!r} is not a valid name here",
                             errors={"path": self.path.text, "column": last.column})
        return None

    def check_methods(self, targets: list[tuple[Keys, object]]) -> None:
        # A node object sits at one place in the tree, so one check per node covers its targets.
        unique = {id(node): (keys, node) for keys, node in reversed(targets)}.values()
        for keys, node in unique:
            where = "/" + "/".join(keys) + "/"
            if not self.principal.is_admin and self.tree.admin_only(keys):
                self.deny(f"{where} is for admins only")
            if self.access == "get" and isinstance(node, Call):
                raise MethodNotAllowed(f"{where} is a function: POST to it", ["POST"])
            if self.access == "invoke" and not _invocable(node):
                raise MethodNotAllowed(f"{where} cannot be invoked with POST", _allowed(node))
            if self.method in ("PUT", "PATCH") and not _writable(node):
                raise MethodNotAllowed(f"{where} is read-only", _allowed(node))
            if self.method == "DELETE" and not (isinstance(node, Value) and node.delete):
                raise MethodNotAllowed(f"{where} cannot be deleted", _allowed(node))
            if (self.access == "modify" and isinstance(node, Value) and node.admin_write
                    and not self.principal.is_admin):
                self.deny(f"only admins may change {where}")
        if self.method == "OPTIONS":
            # After authentication, so that Allow tells nothing about paths to strangers.
            allowed = [m for m in METHODS if all(m in _allowed(node) for _, node in unique)]
            raise MethodNotAllowed("OPTIONS (CORS preflight) is not served", allowed)

    def leaves(self, targets: list[tuple[Keys, object]]) -> list[Keys]:
        if self.access != "get":
            return [keys for keys, _ in targets]
        # An empty container is checked as itself, so no one reads structure without a scope.
        return [leaf for keys, node in targets
                for leaf in (self.view.leaves(keys, node) or [keys])]

    def authorise(self, targets: list[tuple[Keys, object]]) -> None:
        grants = self.principal.grants
        if grants is not None:
            missing = self.first_uncovered(self.leaves(targets), self.access)
            if missing is not None:
                where = "/" + "/".join(missing) + "/"
                self.deny(f"no {self.access} scope covers {where}", insufficient=True)
        audit().record(f"access allowed for {self.principal.describe()}")

    def deny(self, reason: str, insufficient: bool = False) -> None:
        deny(self.principal, reason, insufficient)

    def may_read(self, keys_list: list[Keys]) -> bool:
        return self.first_uncovered(keys_list, "get") is None

    def first_uncovered(self, leaves: list[Keys], access: str) -> Keys | None:
        """The first leaf the caller may not `access`, or None.

        A leaf no scope covers is still allowed when its node's `covered_by` names another
        grant the caller holds: (leaf, access word) pairs, any one suffices. So invoke on
        script/user_functions/NAME/ lets a client start NAME through script/start/, whose body
        names it. Leaves a scope covers never reach the hook, so the common path is unchanged.
        """
        grants = self.principal.grants
        if grants is None:
            return None
        missing = grants.first_uncovered(leaves, access, self.view.field)
        if missing is None:
            return None
        for leaf in leaves[leaves.index(missing):]:
            if not (grants.allows(leaf, access, self.view.field) or self.covered(leaf, access)):
                return leaf
        return None

    def covered(self, leaf: Keys, access: str) -> bool:
        try:
            hook = self.view.node(leaf).covered_by
        except KeyError:  # a key a PUT is about to create
            return False
        if hook is None:
            return False
        body = Body("empty") if self.access == "get" else self.body
        return any(self.principal.grants.allows(other, word, self.view.field)  # type: ignore[union-attr]
                   for other, word in hook(leaf, body, access))

    @cached_property
    def body(self) -> Body:
        return read_body()

    def get(self, targets: list[tuple[Keys, object]]) -> Response:
        depth = depth_limit()
        values = [self.view.render(keys, node, depth, len(keys)) for keys, node in targets]
        status = 206 if depth is not None else 200
        if self.path.is_matrix:
            return json_response(values, 207)
        return json_response(values[0], status)

    def put(self, targets: list[tuple[Keys, object]]) -> Response:
        body = read_body()
        converted = [
            (keys, node, convert(body, node.field, "/" + "/".join(keys) + "/"))  # type: ignore[union-attr]
            for keys, node in targets
        ]
        _write_all(converted, self.principal)
        if not self.path.is_matrix:
            return Response(status=204)
        keys_list = [keys for keys, _ in targets]
        if not self.may_read(keys_list):
            return Response(status=204)
        return json_response([node.read(keys) for keys, node in targets], 207)  # type: ignore[union-attr]

    def invoke(self, targets: list[tuple[Keys, object]]) -> Response:
        results = [node.invoke(keys, self.body, self.principal) for keys, node in targets]  # type: ignore[union-attr]
        if not self.may_read([keys for keys, _ in targets]):
            return Response(status=204)
        if self.path.is_matrix:
            return json_response(results, 207)
        return json_response(results[0], 200)


def _where(keys: Keys) -> str:
    return "/" + "/".join(keys) + "/"


def _writable(node: object) -> bool:
    return isinstance(node, Value) and node.writable


def _invocable(node: object) -> bool:
    return isinstance(node, Call) or (isinstance(node, Collection) and node.invoke is not None)


def _allowed(node: object) -> list[str]:
    """The methods a node answers, for Allow; PATCH, an alias of PUT, is not advertised."""
    if isinstance(node, Call):
        return ["POST"]
    methods = ["GET", "HEAD"]
    if _writable(node):
        methods.append("PUT")
    if isinstance(node, Value) and node.delete:
        methods.append("DELETE")
    if _invocable(node):
        methods.append("POST")
    return methods


def _write_all(converted: list[tuple[Keys, Value, object]], principal: Principal) -> None:
    """Write values grouped by node, so a batch (several outlets) is one call that can sequence."""
    groups: dict[int, tuple[Value, list[Keys], list[object]]] = {}
    for keys, node, value in converted:
        group = groups.setdefault(id(node), (node, [], []))
        group[1].append(keys)
        group[2].append(value)
    for node, keys_list, values in groups.values():
        if node.check is not None:
            for keys, value in zip(keys_list, values, strict=True):
                node.check([keys], value)
    for node, keys_list, values in groups.values():
        if node.write_many is not None and len(set(map(_freeze, values))) == 1:
            node.write_many(keys_list, values[0], principal)
        else:
            for keys, value in zip(keys_list, values, strict=True):
                node.write(keys, value, principal)  # type: ignore[misc]


def _freeze(value: object) -> str:
    return dumps(value)

