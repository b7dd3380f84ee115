"""The `powerctl-fleet` command (also `python -m fleetserver`): serve the fleet server."""

from __future__ import annotations

import argparse
import sys

EXTRA_HINT = "pip install 'powerctl[fleet]'"


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import sqlalchemy  # noqa: F401
    except ImportError:
        print(f"powerctl-fleet: serving needs the fleet extra: {EXTRA_HINT}", file=sys.stderr)
        return 2
    from fleetserver.serve import serve

    return serve(args.bind, args.database, args.data_dir, args.threads, args.workers, args.notify_retry)


def add_serve(actions: argparse._SubParsersAction) -> None:
    serve = actions.add_parser("serve", help="serve the fleet server (HTTPS)")
    serve.add_argument("--bind", help="HOST:PORT (default 127.0.0.1:8444)")
    serve.add_argument(
        "--database",
        help="SQLAlchemy URL, e.g. postgresql://user@host/fleet "
        "(default: SQLite fleet.db in the data directory)",
    )
    serve.add_argument("--data-dir", help="data directory (default $POWERCTL_FLEET_DATA_DIR or ./var/fleet)")
    serve.add_argument("--threads", type=int, default=32, help="threads per worker (default 32)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument(
        "--notify-retry",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="resend notifications controllers have not acknowledged this often "
        "(default 60; 0: only when something changes)",
    )
    serve.set_defaults(func=cmd_serve)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="powerctl-fleet", description="The powerctl fleet server.")
    actions = top.add_subparsers(dest="command", required=True)
    add_serve(actions)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)
