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
    from fleetserver.notify import NotifyPolicy
    from fleetserver.serve import serve

    policy = NotifyPolicy(
        concurrency=args.notify_concurrency,
        connect_timeout=args.notify_connect_timeout,
        read_timeout=args.notify_read_timeout,
        retry=args.notify_retry,
        retry_max=max(3600.0, args.notify_retry) if args.notify_retry_max is None else args.notify_retry_max,
        lease=args.notify_lease,
    )
    return serve(args.bind, args.database, args.data_dir, args.threads, args.workers, policy)


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
        help="first retry of a failed notification after this long, doubling with each failure "
        "in a row (default 60; 0: no retries, only when something changes)",
    )
    serve.add_argument(
        "--notify-retry-max",
        type=float,
        metavar="SECONDS",
        help="longest wait between retries of one controller (default 3600, or --notify-retry if longer)",
    )
    serve.add_argument(
        "--notify-concurrency",
        type=int,
        default=16,
        metavar="N",
        help="notifications in flight at once, per worker process (default 16)",
    )
    serve.add_argument(
        "--notify-connect-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="to connect to a controller, TLS handshake included (default 5)",
    )
    serve.add_argument(
        "--notify-read-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="for a controller's answer (default 10)",
    )
    serve.add_argument(
        "--notify-lease",
        type=float,
        metavar="SECONDS",
        help="how long an instance holds a claimed notification before another may take it "
        "(default: 2 x (connect + read timeout) + 5)",
    )
    serve.set_defaults(func=cmd_serve)


def cmd_resync(args: argparse.Namespace) -> int:
    import os

    from fleetserver.database import FleetDatabase, default_url
    from fleetserver.schedule import Schedule

    if args.batch < 1:
        print("powerctl-fleet: --batch must be 1 or more", file=sys.stderr)
        return 2
    data_dir = args.data_dir or os.environ.get("POWERCTL_FLEET_DATA_DIR") or "var/fleet"
    db = FleetDatabase(args.database or default_url(data_dir))
    try:
        db.migrate()
        total = Schedule(db).bump_all(args.batch)
    finally:
        db.close()
    print(f"powerctl-fleet: bumped {total} controllers; the running servers notify them", file=sys.stderr)
    return 0


def add_resync(actions: argparse._SubParsersAction) -> None:
    resync = actions.add_parser(
        "resync", help="bump every controller's version in batches, so the servers notify all of them"
    )
    resync.add_argument("--database", help="SQLAlchemy URL (default: SQLite fleet.db in the data directory)")
    resync.add_argument("--data-dir", help="data directory (default $POWERCTL_FLEET_DATA_DIR or ./var/fleet)")
    resync.add_argument("--batch", type=int, default=1000, help="controllers per transaction (default 1000)")
    resync.set_defaults(func=cmd_resync)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="powerctl-fleet", description="The powerctl fleet server.")
    actions = top.add_subparsers(dest="command", required=True)
    add_serve(actions)
    add_resync(actions)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)
