"""auth/sessions/: POST makes a session token; a client sees and revokes only its own."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from marshmallow import RAISE, Schema, ValidationError, fields, validate

import scopes
from powerctl import access
from powerctl.access import AccessPolicy
from powerctl.auth.sessions import Bounds, SessionService, first_exceeding
from powerctl.errors import BadRequest
from powerctl.relay import Relay
from powerctl.resources.roles import ROLE_NAME
from powerctl.resources.values import label
from powerctl.restapi.body import convert
from powerctl.restapi.tree import Branch, Collection, KeyPath, Value, member
from powerctl.store import Database
from powerctl.store import roles as role_store
from powerctl.store import sessions as store

TTL_DEFAULT = 3600
TTL_MAX = 86400
WHERE = "/auth/sessions/"


def _role_name(value: str) -> None:
    if ROLE_NAME.fullmatch(value) is None:
        raise ValidationError("a role name is 1-64 letters, digits, - and _")


class OutletRef(fields.Field):
    """An outlet by index (integer) or by name (string)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValidationError("an outlet is an index (integer) or a name (string)")
        return value


class SessionRequest(Schema):
    """The body of POST /auth/sessions/."""

    class Meta:
        unknown = RAISE

    whoami = label(128, required=True)
    role = fields.String(required=True, validate=_role_name)
    outlets = fields.List(OutletRef(), validate=validate.Length(1, 256))
    ttl = fields.Integer(
        strict=True,
        load_default=TTL_DEFAULT,
        validate=validate.Range(1, TTL_MAX, error=f"must be between 1 and {TTL_MAX} s"),
    )


class SessionRequestField(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("a session request is a JSON object")
        return SessionRequest().load(value)


def resolve_outlets(relay: Relay, wanted: list[int | str]) -> tuple[int, ...]:
    """Outlet indexes for indexes or names, fixed now: a later rename changes nothing."""
    by_name: dict[str, list[int]] = {}
    for index in range(relay.count):
        by_name.setdefault(relay.outlet(index).name, []).append(index)
    found: set[int] = set()
    problems: dict[int, list[str]] = {}
    for position, ref in enumerate(wanted):
        if isinstance(ref, int):
            matches = [ref] if 0 <= ref < relay.count else []
        else:
            matches = by_name.get(ref, [])
        if len(matches) == 1:
            found.add(matches[0])
        else:
            problems[position] = [
                f"no outlet {ref!r}" if not matches else f"{len(matches)} outlets are named {ref!r}"
            ]
    if problems:
        raise BadRequest(
            f"bad outlets for {WHERE}: outlets are 0-{relay.count - 1} or their unique names",
            errors={WHERE: {"outlets": problems}},
        )
    return tuple(sorted(found))


def bounds(root: Branch, outlets_at: KeyPath, also: Iterable[KeyPath] = ()) -> Bounds:
    """What a session may ever reach: the tree but its admin-only subtrees (auth/), and of the
    collection at `outlets_at` only the outlets it names; plus the leaves in `also` (metrics).

    Written as scopes, compiled per outlet list: the session service applies them unseen.
    """

    def texts(node: Branch, prefix: KeyPath, rest: KeyPath, outlets: tuple[int, ...]) -> Iterator[str]:
        for key, below in node.children.items():
            here = (*prefix, key)
            if below.policy.admin_only:
                continue
            if rest[:1] != (key,):
                yield scopes.format_keys(here)
            elif len(rest) == 1:
                if outlets:
                    yield scopes.format_keys(here) + "=" + ",".join(map(str, outlets)) + "/"
            else:
                yield from texts(below, here, rest[1:], outlets)  # type: ignore[arg-type]

    extra = [scopes.format_keys(keys) for keys in also]

    def make(outlets: tuple[int, ...] | None) -> scopes.GrantSet:
        rest = () if outlets is None else outlets_at
        return scopes.GrantSet.compile([*texts(root, (), rest, outlets or ()), *extra])

    return make


def _describe(record: store.SessionRecord) -> dict:
    return {
        "whoami": record.sub,
        "role": record.role,
        "outlets": None if record.outlets is None else list(record.outlets),
        "creator": record.creator,
        "issued": record.issued,
        "expires": record.expires,
    }


def sessions_node(db: Database, service: SessionService, relay: Relay, audit) -> Collection:
    def create(_keys: KeyPath, body, who) -> dict:
        wanted = convert(body, SessionRequestField(), WHERE)
        role = role_store.role(db, wanted["role"])
        if role is None:
            raise BadRequest(
                f"no role {wanted['role']!r}; admins define roles under /auth/roles/",
                errors={WHERE: {"role": ["no such role"]}},
            )
        outlets = resolve_outlets(relay, wanted["outlets"]) if "outlets" in wanted else None
        if not who.is_admin:
            wider = first_exceeding(who.grants, scopes.GrantSet.compile(role.scopes))
            if wider is not None:
                reason = f"role {role.name} grants {wider.text} beyond the scopes of client {who.client}"
                access.deny(who, reason, insufficient=True)
        only = "" if outlets is None else f", outlets {','.join(map(str, outlets))}"
        with audit.change() as lines:
            issued = service.issue(who, wanted["whoami"], role, outlets, wanted["ttl"])
            lines.append(
                f"Session {issued.jti} for jwt:{wanted['whoami']} (role {role.name}{only})"
                f" created by {who.actor()}, {wanted['ttl']} s"
            )
        return {"token": issued.token, "expires": issued.expires}

    def read(keys: KeyPath) -> dict | None:
        record = store.session(db, member(keys))
        return None if record is None else _describe(record)

    def revoke(keys: KeyPath, who) -> None:
        with audit.change(f"Session {member(keys)} revoked by {who.actor()}"):
            store.revoke_session(db, member(keys))

    def now() -> int:
        return int(service.now())

    return Collection(
        keys=lambda _prefix: store.live_sessions(db, now()),
        owned_keys=lambda _prefix, who: (
            [] if who.client is None else store.live_sessions(db, now(), who.client)
        ),
        item=Value(fields.Raw(), read=read, delete=revoke),
        array=False,
        invoke=create,
        policy=AccessPolicy(open_to_clients=True),  # inside admin-only auth/: judged by scopes
    )
