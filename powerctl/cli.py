"""powerctl: the gateway's command line (serve, token, client, denied, user, fleet)."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import secrets
import sys

from marshmallow import ValidationError

from powerctl.auth.bearer import encode_token, token_hash

DATA_DIR_HELP = "data directory (default $POWERCTL_DATA_DIR or ./var)"


class CommandError(Exception):
    """A refusal the command prints as `powerctl: MESSAGE` before exiting with `status`."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


def _data_dir(args: argparse.Namespace) -> str:
    return os.path.abspath(getattr(args, "data_dir", None) or os.environ.get("POWERCTL_DATA_DIR") or "var")


def cmd_serve(args: argparse.Namespace) -> int:
    from powerctl.serve import serve

    return serve(args.bind, getattr(args, "data_dir", None), args.config, args.http)


def cmd_token_new(args: argparse.Namespace) -> int:
    # The raw form is the text that is hashed, so it is also the TOKEN_RAW_DATA of DLI's
    # openssl recipe and `--raw` given it again prints the same forms.
    text = secrets.token_urlsafe(32) if args.raw is None else args.raw
    if not text:
        raise CommandError("--raw: a token needs at least one character")
    raw = text.encode()
    print(f"raw:       {text}")
    print(f"base64url: {encode_token(raw)}")
    print(f"sha256:    {token_hash(raw)}")
    return 0


def _database(args: argparse.Namespace, create: bool = True):
    """The data directory's store; a command that only reads refuses a missing directory."""
    from powerctl.bootstrap import ensure_data_dir
    from powerctl.store import Database

    folder = _data_dir(args)
    if not create and not os.path.isfile(os.path.join(folder, "powerctl.db")):
        raise CommandError(f"no gateway data in {folder} (give --data-dir or set POWERCTL_DATA_DIR)")
    ensure_data_dir(folder)
    return Database(os.path.join(folder, "powerctl.db"))


def _record(db, line: str) -> None:
    """Write one audit line now, as the server would: changes made here are audited too."""
    from powerctl.audit import Audit

    trail = Audit(db)
    trail.record(line)
    trail.close()


# Field paths of a registration, as the command's options name them.
_OPTION_OF = {
    "scopes": "--scope",
    "access_tokens": "--token-hash",
    "remaining_use_count": "--uses",
    "name": "--name",
}


def _option_problem(problem: str) -> str:
    where, _, what = problem.partition(": ")
    parts = where.split(".")
    for part in reversed(parts):
        if part in _OPTION_OF:
            return f"{_OPTION_OF[part]}: {what}"
    return problem


def cmd_client_put(args: argparse.Namespace) -> int:
    from powerctl.resources.clients import CLIENT_ID, ClientSchema
    from powerctl.store import ClientRecord
    from powerctl.store.credentials import MAX_USE_COUNT

    if not CLIENT_ID.fullmatch(args.client):
        raise CommandError("client ids are 1-64 letters and digits")
    if args.uses is not None and not 0 <= args.uses <= MAX_USE_COUNT:
        raise CommandError(f"--uses must be a whole number from 0 to {MAX_USE_COUNT}")
    limits = {} if args.uses is None else {"remaining_use_count": args.uses}
    registration = {
        "name": args.name or args.client,
        "scopes": dict.fromkeys(args.scope, True),
        "access_tokens": {digest: dict(limits) for digest in args.token_hash},
    }
    try:
        value = ClientSchema().load(registration)
    except ValidationError as err:
        from powerctl.errors import describe_validation

        for problem in describe_validation(err.messages):
            print(f"powerctl: invalid client: {_option_problem(problem)}", file=sys.stderr)
        return 2
    from powerctl.audit import counted
    from powerctl.store.credentials import denial

    db = _database(args)
    db.put_client(
        ClientRecord(
            args.client,
            value["name"],
            tuple(value["scopes"]),
            value["redirect_urls"],
            value["refresh_tokens"],
            value["access_tokens"],
            0,
        )
    )
    counts = f"{counted(len(value['scopes']), 'scope')}, {counted(len(value['access_tokens']), 'token')}"
    denied = denial(db, args.client) is not None
    _record(
        db,
        f"Client {args.client} registered by the command line ({counts})"
        + (" (denied: its tokens stay refused until an admin lifts the denial)" if denied else ""),
    )
    print(f"client {args.client} registered: {counts}")
    if denied:
        print(
            f"powerctl: {args.client} is on the denied list: its tokens stay refused until the denial"
            f" is lifted (powerctl denied lift {args.client})",
            file=sys.stderr,
        )
    return 0


def cmd_client_list(args: argparse.Namespace) -> int:
    db = _database(args, create=False)
    for client_id in db.client_ids():
        record = db.client(client_id)
        if record is None:
            continue
        uses = [
            "unlimited"
            if "remaining_use_count" not in limits
            else f"{limits['remaining_use_count']} uses left"
            for limits in record.access_tokens.values()
        ]
        print(f"{client_id} (name {record.name}): tokens: {', '.join(uses) or 'none'}")
        for text in record.scopes:
            print(f"    {text}")
    return 0


def cmd_client_delete(args: argparse.Namespace) -> int:
    db = _database(args, create=False)
    if not db.delete_client(args.client, "the command line"):
        raise CommandError(f"no client {args.client}", status=1)
    _record(db, f"Client {args.client} deleted with its tokens and denied by the command line")
    print(
        f"client {args.client} deleted with its tokens; its id stays denied until it is lifted"
        f" (powerctl denied lift {args.client}, or DELETE /restapi/auth/denied/{args.client}/)"
    )
    return 0


def cmd_denied_list(args: argparse.Namespace) -> int:
    import datetime

    from powerctl.store.credentials import denial, denied_ids

    db = _database(args, create=False)
    for client_id in denied_ids(db):
        found = denial(db, client_id)
        if found is None:
            continue
        at = datetime.datetime.fromtimestamp(found[0], datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        print(f"{client_id} (denied {at} by {found[1]})")
    return 0


def cmd_denied_lift(args: argparse.Namespace) -> int:
    from powerctl.store.credentials import lift_denial

    db = _database(args, create=False)
    if not lift_denial(db, args.client):
        raise CommandError(f"{args.client} is not denied", status=1)
    _record(db, f"Denial of {args.client} lifted by the command line")
    print(f"{args.client} may be registered and used again")
    return 0


@contextlib.contextmanager
def _change(db, line: str):
    """Make a change and its audit line in one transaction, as the server does (audit.change)."""
    from powerctl.audit import Audit

    trail = Audit(db)
    try:
        with trail.change(line):
            yield
    finally:
        trail.close()


def _realm(args: argparse.Namespace) -> str:
    """The digest realm the server uses (HA1s depend on it): from --config, as serve reads it."""
    from powerctl import config

    try:
        return config.load(path=getattr(args, "config", None))["auth"]["realm"]
    except config.ConfigError as err:
        raise CommandError(str(err)) from None


def _read_password(name: str) -> str:
    """A new password: asked twice on a terminal, else one line of standard input."""
    from powerctl.auth.digest import password_problem

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass(f"new password for {name}: ")
        if getpass.getpass("again: ") != password:
            raise CommandError("the two passwords differ; nothing changed", status=1)
    else:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    problem = password_problem(password)
    if problem:
        raise CommandError(f"password refused: {problem}; nothing changed", status=1)
    return password


def _user_name(name: str) -> str:
    from powerctl.resources.users import USER_NAME

    if not USER_NAME.fullmatch(name):
        raise CommandError(
            "user names are 1-64 letters, digits, '.', '-' and '_', starting with a letter or digit"
        )
    return name


def _outlets(text: str | None) -> tuple[bool, ...]:
    if not text:
        return ()
    try:
        indexes = {int(part) for part in text.split(",")}
    except ValueError:
        raise CommandError("--outlets takes zero-based outlet numbers, such as 0,2") from None
    if min(indexes) < 0 or max(indexes) > 255:
        raise CommandError("--outlets takes outlet numbers from 0 to 255")
    return tuple(i in indexes for i in range(max(indexes) + 1))


def cmd_user_add(args: argparse.Namespace) -> int:
    from powerctl.auth.digest import ha1
    from powerctl.domain import PowerctlError
    from powerctl.store import users as store

    name = _user_name(args.name)
    if args.admin and args.outlets:
        raise CommandError("--outlets is for non-admin users: an admin reaches every outlet")
    outlets = _outlets(args.outlets)
    db = _database(args, create=False)
    if store.user(db, name) is not None:
        raise CommandError(f"user {name} exists: powerctl user passwd {name} changes its password", status=1)
    realm = _realm(args)
    password = _read_password(name)
    role = (
        "admin"
        if args.admin
        else "user, outlets " + (",".join(str(i) for i, on in enumerate(outlets) if on) or "none")
    )
    try:
        with _change(db, f"User {name} created by the command line ({role})"):
            store.put_user(db, name, ha1(name, realm, password), args.admin, outlets)
    except PowerctlError as err:
        raise CommandError(str(err), status=1) from None
    print(f"user {name} created ({role})")
    return 0


def cmd_user_passwd(args: argparse.Namespace) -> int:
    from powerctl.auth.digest import ha1
    from powerctl.store import users as store

    name = _user_name(args.name)
    db = _database(args, create=False)
    if store.user(db, name) is None:
        raise CommandError(f"there is no user {name} (powerctl user list shows them)", status=1)
    realm = _realm(args)
    password = _read_password(name)
    with _change(db, f"User {name} password changed by the command line"):
        store.set_ha1(db, name, ha1(name, realm, password))
    print(f"password of {name} changed; the next login uses it")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    from powerctl.store import users as store

    db = _database(args, create=False)
    for record in store.all_users(db):
        if record.is_admin:
            print(f"{record.name} (admin)")
        else:
            allowed = ",".join(str(i) for i, on in enumerate(record.outlet_access) if on)
            print(f"{record.name} (outlets {allowed or 'none'})")
    return 0


def cmd_user_delete(args: argparse.Namespace) -> int:
    from powerctl.domain import PowerctlError
    from powerctl.store import users as store

    name = _user_name(args.name)
    db = _database(args, create=False)
    try:
        with _change(db, f"User {name} deleted by the command line"):
            store.delete_user(db, name)
    except PowerctlError as err:
        raise CommandError(str(err), status=1) from None
    print(f"user {name} deleted")
    return 0


def cmd_fleet_sync(args: argparse.Namespace) -> int:
    """Ask the fleet server now; exit 0 when a bundle was applied, 1 when it failed."""
    from powerctl import config as config_mod
    from powerctl.audit import Audit
    from powerctl.fleet import FleetSync, SyncError

    data_dir = getattr(args, "data_dir", None)
    overrides = {"data_dir": data_dir} if data_dir else {}
    try:
        settings = config_mod.load(overrides, args.config)
    except config_mod.ConfigError as err:
        print(f"powerctl: {err}", file=sys.stderr)
        return 2
    if not settings["fleet"]["url"]:
        print("powerctl: no [fleet] url in the configuration (docs/fleet.md)", file=sys.stderr)
        return 2
    args.data_dir = settings["data_dir"]
    db = _database(args)
    trail = Audit(db)
    try:
        version = FleetSync(db, settings["fleet"], settings["data_dir"], trail.record).sync("by hand")
    except SyncError as err:
        print(f"powerctl: fleet sync failed, nothing changed: {err}", file=sys.stderr)
        return 1
    finally:
        trail.close()
    print(f"fleet sync: version {version} applied")
    return 0


FLEET_EXTRA_HINT = "pip install 'powerctl[fleet]' (the device image does not carry the fleet server)"


def cmd_fleet_serve(args: argparse.Namespace) -> int:
    """The fleet server's own command (`powerctl-fleet serve`), in place of this process: the
    gateway never imports the fleet server, it only runs it."""
    if importlib.util.find_spec("fleetserver") is None:
        print(f"powerctl: the fleet server is not installed: {FLEET_EXTRA_HINT}", file=sys.stderr)
        return 2
    os.execv(sys.executable, [sys.executable, "-m", "fleetserver", "serve", *args.args])  # noqa: S606
    return 0  # not reached


def _with_data_dir(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    # SUPPRESS: a level that was not given leaves the value another level set.
    parser.add_argument("--data-dir", default=argparse.SUPPRESS, help=DATA_DIR_HELP)
    return parser


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="powerctl", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = _with_data_dir(sub.add_parser("serve", help="serve the gateway (HTTPS unless --http)"))
    serve.add_argument("--bind", help="HOST:PORT to listen on (default 127.0.0.1:8443)")
    serve.add_argument("--config", help="TOML configuration file (docs/configuration.md)")
    serve.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS (behind a proxy)")
    serve.set_defaults(func=cmd_serve)

    token = sub.add_parser("token", help="make API client tokens").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    new = token.add_parser("new", help="print a token's raw, base64url and sha256 forms")
    new.add_argument(
        "--raw", metavar="TEXT", help="derive the forms from this text instead of 256 random bits"
    )
    new.set_defaults(func=cmd_token_new)

    client = _with_data_dir(sub.add_parser("client", help="manage API clients in the data directory"))
    actions = client.add_subparsers(dest="action", required=True, metavar="ACTION")
    put = _with_data_dir(actions.add_parser("put", help="register or replace a client"))
    put.add_argument("client", help="client id: 1-64 letters and digits")
    put.add_argument("--name", help="display name (default: the client id)")
    put.add_argument(
        "--scope",
        action="append",
        default=[],
        required=True,
        metavar="SCOPE",
        help="a scope such as /relay/outlets/=1,3/state/?access=get (repeat for several)",
    )
    put.add_argument(
        "--token-hash",
        action="append",
        default=[],
        required=True,
        metavar="SHA256",
        help="sha256 of a token, as powerctl token new prints it (repeat for several)",
    )
    put.add_argument("--uses", type=int, metavar="N", help="uses per token (default: no limit)")
    put.set_defaults(func=cmd_client_put)
    _with_data_dir(actions.add_parser("list", help="list clients")).set_defaults(func=cmd_client_list)
    delete = _with_data_dir(actions.add_parser("delete", help="delete a client and its tokens"))
    delete.add_argument("client", help="client id")
    delete.set_defaults(func=cmd_client_delete)

    denied = _with_data_dir(sub.add_parser("denied", help="client ids that are refused (deleted or denied)"))
    denied_actions = denied.add_subparsers(dest="action", required=True, metavar="ACTION")
    _with_data_dir(denied_actions.add_parser("list", help="list denied ids")).set_defaults(
        func=cmd_denied_list
    )
    lift = _with_data_dir(denied_actions.add_parser("lift", help="lift the denial of an id"))
    lift.add_argument("client", help="client id")
    lift.set_defaults(func=cmd_denied_lift)

    user = _with_data_dir(sub.add_parser("user", help="users who log in with a password (HTTP Digest)"))
    user_actions = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    config_help = "TOML configuration file the server uses (its auth realm is part of each password hash)"
    add = _with_data_dir(
        user_actions.add_parser(
            "add", help="add a user; the password is asked twice, or read as one line from standard input"
        )
    )
    add.add_argument("name", help="user name")
    add.add_argument("--admin", action="store_true", help="an admin, who may do everything")
    add.add_argument("--outlets", metavar="N,N", help="zero-based outlets a non-admin user may switch")
    add.add_argument("--config", help=config_help)
    add.set_defaults(func=cmd_user_add)
    passwd = _with_data_dir(
        user_actions.add_parser(
            "passwd", help="set a user's password (also the way back when the admin password is lost)"
        )
    )
    passwd.add_argument("name", help="user name")
    passwd.add_argument("--config", help=config_help)
    passwd.set_defaults(func=cmd_user_passwd)
    _with_data_dir(user_actions.add_parser("list", help="list users (never a password)")).set_defaults(
        func=cmd_user_list
    )
    remove = _with_data_dir(user_actions.add_parser("delete", help="delete a user (never the last admin)"))
    remove.add_argument("name", help="user name")
    remove.set_defaults(func=cmd_user_delete)

    fleet = sub.add_parser("fleet", help="credentials synced from a fleet server")
    fleet_sub = fleet.add_subparsers(dest="action", required=True, metavar="ACTION")
    sync = _with_data_dir(fleet_sub.add_parser("sync", help="sync this gateway's credentials now"))
    sync.add_argument("--config", help="TOML configuration file with the [fleet] section")
    sync.set_defaults(func=cmd_fleet_sync)
    # every argument is the fleet server's; no prefix characters, so that --bind passes through
    serve_fleet = fleet_sub.add_parser(
        "serve", help="run the fleet server: powerctl-fleet serve", add_help=False, prefix_chars="\0"
    )
    serve_fleet.add_argument("args", nargs=argparse.REMAINDER)
    serve_fleet.set_defaults(func=cmd_fleet_serve)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except CommandError as err:
        print(f"powerctl: {err}", file=sys.stderr)
        return err.status
    except BrokenPipeError:
        # The reader went away (`powerctl client list | head`): stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
