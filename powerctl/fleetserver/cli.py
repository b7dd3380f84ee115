"""The `powerctl fleet` subcommands of the fleet server; `powerctl/cli.py` adds them."""

from __future__ import annotations

import argparse
import sys


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import sqlalchemy  # noqa: F401
    except ImportError:
        print("powerctl: fleet serve needs the fleet extra: pip install 'powerctl[fleet]'", file=sys.stderr)
        return 2
    from powerctl.fleetserver.serve import serve

    return serve(args.bind, args.database, args.data_dir, args.threads, args.workers, args.notify_retry)


def add_serve(actions: argparse._SubParsersAction) -> None:
    """Add `serve` to the `powerctl fleet` subparsers."""
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
