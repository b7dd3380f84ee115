"""auth/users/<name>/: the gateway's users (DLI's auth/users/), with passwords kept only as HA1.

An admin lists, creates (POST to the list or PUT of a new name), replaces and deletes users; a
non-admin user sees only itself there and may only change its own password, with DLI's form
`old_password=...&new_password=...` (PATCH, or PUT). A wrong old password counts as a failed login.
"""

from __future__ import annotations

import hmac
import re

from flask import request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from powerctl import access
from powerctl.access import AccessPolicy
from powerctl.auth import Principal, authenticator
from powerctl.auth.digest import password_problem
from powerctl.domain import WrongPassword
from powerctl.errors import BadRequest, Conflict
from powerctl.restapi.body import Body, convert
from powerctl.restapi.tree import Collection, KeyPath, Value, member
from powerctl.store import Database
from powerctl.store import users as store

USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_OUTLETS = 256
WHERE = "/auth/users/"


def _password(value: str) -> None:
    problem = password_problem(value)
    if problem:
        raise ValidationError(problem)


class JsonBoolean(fields.Field):
    """true or false as JSON has them: never 0, 1 or "true"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


class UserSchema(Schema):
    """A user as DLI models it; `password` is write-only. Fields left out keep their values."""

    class Meta:
        unknown = RAISE

    name = fields.String(validate=validate.Regexp(USER_NAME.pattern + "$"))
    password = fields.String(validate=[validate.Length(max=1024), _password])
    is_admin = JsonBoolean()
    outlet_access = fields.List(JsonBoolean(), validate=validate.Length(max=MAX_OUTLETS))
    # DLI shows it; here every user may log in (delete one to stop it), so only true is taken
    is_allowed = JsonBoolean(validate=validate.Equal(True, error="every user may log in: delete it instead"))


class PasswordChange(Schema):
    """DLI's own password change: the old password and the new one."""

    class Meta:
        unknown = RAISE

    old_password = fields.String(required=True, validate=validate.Length(max=1024))
    new_password = fields.String(required=True, validate=[validate.Length(max=1024), _password])


class UserField(fields.Field):
    """A whole user, or a password change, as one value of the tree; takes form bodies too."""

    takes_forms = True

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("a user is an object: name, password, is_admin, outlet_access")
        if "old_password" in value or "new_password" in value:
            return {"change": PasswordChange().load(value)}
        return {"user": UserSchema().load(value)}


def as_json(record: store.UserRecord) -> dict:
    """A user as listed: never its password nor its HA1."""
    return {
        "name": record.name,
        "is_admin": record.is_admin,
        "is_allowed": True,
        "outlet_access": list(record.outlet_access),
    }


def users_node(db: Database, audit) -> Collection:
    def hashed(name: str, password: str) -> str:
        return authenticator().digest.ha1(name, password)

    def read(keys: KeyPath) -> dict | None:
        record = store.user(db, member(keys))
        return None if record is None else as_json(record)

    def check(keys_list: list[KeyPath], value: dict) -> None:
        """Every old password right before any is changed (all or nothing); a wrong one is a
        guess at a password, counted toward the lockout like a failed login."""
        change = value.get("change")
        if change is None:
            return
        for keys in keys_list:
            name = member(keys)
            record = store.user(db, name)
            given = hashed(name, change["old_password"])
            if record is None or not hmac.compare_digest(record.ha1, given):
                # its own identity: the login that carried the request clears only user:NAME
                addr = request.environ.get("REMOTE_ADDR") or "unknown"
                identity = f"old-password:{name[:64]}"
                authenticator().refuse(addr, f"wrong old password for user {name}", identity)
                raise WrongPassword(f"the old password given for user {name!r} is wrong")

    def write(keys: KeyPath, value: dict, who: Principal) -> None:
        name = member(keys)
        change = value.get("change")
        if change is not None:  # its old password was checked first (check, above)
            with audit.change(f"User {name} password changed by {who.actor()}"):
                store.set_ha1(db, name, hashed(name, change["new_password"]))
            return
        access.require_admin(who, "only admins may create or change users other than by a password change")
        fields_ = value["user"]
        if fields_.get("name", name) != name:
            raise BadRequest(f"the name of {WHERE}{name}/ is {name!r}", errors={"name": f"must be {name!r}"})
        current = store.user(db, name)
        is_admin = fields_.get("is_admin", current.is_admin if current else False)
        outlets = fields_.get("outlet_access", current.outlet_access if current else ())
        password = fields_.get("password")
        ha1 = None if password is None else hashed(name, password)
        with audit.change() as lines:
            created = store.put_user(db, name, ha1, is_admin, tuple(outlets))
            what = "created" if created else "changed"
            role = "admin" if is_admin else f"user, outlets {_allowed(outlets) or 'none'}"
            extra = "" if created or password is None else ", password changed"
            lines.append(f"User {name} {what} by {who.actor()} ({role}{extra})")

    def delete(keys: KeyPath, who: Principal) -> None:
        access.require_admin(who, "only admins may delete users")
        with audit.change(f"User {member(keys)} deleted by {who.actor()}"):
            store.delete_user(db, member(keys))

    item = Value(UserField(), read=read, write=write, check=check, delete=delete)

    def create(prefix: KeyPath, body: Body, who: Principal) -> dict:
        """POST to the list: a new user, named in the body."""
        access.require_admin(who, "only admins may create users")
        value = convert(body, UserField(), WHERE)
        user = value.get("user")
        if user is None or "name" not in user or "password" not in user:
            raise BadRequest(
                f"POST {WHERE} needs a user: name, password, and is_admin or outlet_access",
                errors={"body": ["name and password are required"]},
            )
        if store.user(db, user["name"]) is not None:
            raise Conflict(f"user {user['name']!r} exists: PUT {WHERE}{user['name']}/ changes it")
        write((*prefix, user["name"]), value, who)
        return as_json(store.user(db, user["name"]))  # type: ignore[arg-type]

    def owned(_prefix: KeyPath, who: Principal) -> list[str]:
        # a non-admin user sees itself; API clients and sessions are no users
        if who.scheme in ("digest", "basic", "password") and store.user(db, who.name) is not None:
            return [who.name]
        return []

    return Collection(
        keys=lambda _prefix: db.users(),
        item=item,
        array=False,
        creatable=lambda key: USER_NAME.fullmatch(key) is not None,
        invoke=create,
        owned_keys=owned,
        policy=AccessPolicy(open_to_clients=True),  # inside admin-only auth/: a user sees itself
    )


def _allowed(outlets) -> str:
    return ",".join(str(i) for i, on in enumerate(outlets) if on)
