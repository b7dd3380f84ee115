"""The `powerctl` command: serve, token, client."""

from __future__ import annotations

import argparse
import os
import secrets
import sys

from marshmallow import ValidationError

from powerctl.auth.bearer import encode_token, token_hash
from powerctl.fleetserver.cli import add_serve as add_fleet_serve


def _data_dir(args: argparse.Namespace) -> str:
    return os.path.abspath(args.data_dir or os.environ.get("POWERCTL_DATA_DIR") or "var")


def cmd_serve(args: argparse.Namespace) -> int:
    from powerctl.serve import serve

    return serve(args.bind, args.data_dir, args.config, args.http)


def cmd_token_new(args: argparse.Namespace) -> int:
    if args.raw is not None:
        raw = args.raw.encode()
        shown = args.raw
    else:
        raw = secrets.token_bytes(32)
        shown = raw.hex() + "  (hex of 32 random bytes)"
    print(f"raw:       {shown}")
    print(f"base64url: {encode_token(raw)}")
    print(f"sha256:    {token_hash(raw)}")
    return 0


def _database(args: argparse.Namespace):
    from powerctl.bootstrap import ensure_data_dir
    from powerctl.store import Database

    folder = _data_dir(args)
    ensure_data_dir(folder)
    return Database(os.path.join(folder, "powerctl.db"))


def cmd_client_put(args: argparse.Namespace) -> int:
    from powerctl.resources.clients import CLIENT_ID, ClientSchema
    from powerctl.store import ClientRecord

    if not CLIENT_ID.fullmatch(args.client):
        print("powerctl: client ids are 1-64 letters and digits", file=sys.stderr)
        return 2
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
            print(f"powerctl: invalid client: {problem}", file=sys.stderr)
        return 2
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
    print(f"client {args.client} registered: {len(args.scope)} scopes, {len(args.token_hash)} tokens")
    return 0


def cmd_client_list(args: argparse.Namespace) -> int:
    db = _database(args)
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
    if not _database(args).delete_client(args.client):
        print(f"powerctl: no client {args.client}", file=sys.stderr)
        return 1
    print(
        f"client {args.client} deleted with its tokens; its id stays denied until an admin"
        f" lifts it (DELETE /restapi/auth/denied/{args.client}/)"
    )
    return 0


def cmd_fleet_sync(args: argparse.Namespace) -> int:
    """Ask the fleet server now; exit 0 when a bundle was applied, 1 when it failed."""
    from powerctl import config as config_mod
    from powerctl.audit import Audit
    from powerctl.fleet import FleetError, FleetSync

    overrides = {"data_dir": args.data_dir} if args.data_dir else {}
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
    except FleetError as err:
        print(f"powerctl: fleet sync failed, nothing changed: {err}", file=sys.stderr)
        return 1
    finally:
        trail.close()
    print(f"fleet sync: version {version} applied")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="powerctl", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the gateway (HTTPS by default)")
    serve.add_argument("--bind", help="HOST:PORT (default 127.0.0.1:8443)")
    serve.add_argument("--data-dir", help="data directory (default $POWERCTL_DATA_DIR or ./var)")
    serve.add_argument("--config", help="TOML configuration file")
    serve.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS")
    serve.set_defaults(func=cmd_serve)

    token = sub.add_parser("token", help="make API client tokens").add_subparsers(
        dest="action", required=True
    )
    new = token.add_parser("new", help="print a token's raw, base64url and sha256 forms")
    new.add_argument("--raw", help="derive the forms from this text instead of 256 random bits")
    new.set_defaults(func=cmd_token_new)

    client = sub.add_parser("client", help="manage API clients in the data directory")
    client.add_argument("--data-dir", help="data directory (default $POWERCTL_DATA_DIR or ./var)")
    actions = client.add_subparsers(dest="action", required=True)
    put = actions.add_parser("put", help="register or replace a client")
    put.add_argument("client")
    put.add_argument("--name", help="display name (default: the client id)")
    put.add_argument("--scope", action="append", default=[], required=True)
    put.add_argument("--token-hash", action="append", default=[], required=True)
    put.add_argument("--uses", type=int, help="uses per token (default: no limit)")
    put.set_defaults(func=cmd_client_put)
    actions.add_parser("list", help="list clients").set_defaults(func=cmd_client_list)
    delete = actions.add_parser("delete", help="delete a client and its tokens")
    delete.add_argument("client")
    delete.set_defaults(func=cmd_client_delete)

    fleet = sub.add_parser("fleet", help="credentials synced from a fleet server")
    fleet_sub = fleet.add_subparsers(dest="action", required=True)
    sync = fleet_sub.add_parser("sync", help="sync this gateway's credentials now")
    sync.add_argument("--config", help="TOML configuration file with the [fleet] section")
    sync.add_argument("--data-dir", help="data directory (default $POWERCTL_DATA_DIR or ./var)")
    sync.set_defaults(func=cmd_fleet_sync)
    add_fleet_serve(fleet_sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
