"""`powerctl fleet serve`: the fleet server on powerctl.httpd, HTTPS with optional client certs."""

from __future__ import annotations

import os
import ssl
import sys
import threading
from pathlib import Path

from fleetserver.database import default_url
from fleetserver.notify import NotifyPolicy
from powerctl import httpd, tls


def trusting_context(trust_path: str, certfile: str, keyfile: str):
    """The server's TLS hook: ask for a client certificate and verify it against the
    registered CAs, re-reading them whenever the app rewrites the file (new CA, no restart).
    A certificate from an unknown CA fails the handshake; status checks happen per request."""
    lock = threading.Lock()
    cached: dict = {}

    def hook() -> ssl.SSLContext:
        try:
            info = os.stat(trust_path)
            stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        except FileNotFoundError:
            stamp = None
        with lock:
            if cached.get("stamp", ()) != stamp:
                context = tls.server_context(certfile, keyfile)
                context.verify_mode = ssl.CERT_OPTIONAL
                pems = Path(trust_path).read_text() if stamp else ""
                if pems.strip():
                    context.load_verify_locations(cadata=pems)
                cached.update(stamp=stamp, context=context)
            return cached["context"]

    return hook


def policy_problem(policy: NotifyPolicy) -> str | None:
    """What is wrong with the command line's notification settings, if anything."""
    if not policy.retry >= 0:  # NaN too
        return "--notify-retry must be 0 or more seconds"
    if not policy.retry_max >= policy.retry:
        return "--notify-retry-max must be at least --notify-retry"
    if policy.concurrency < 1:
        return "--notify-concurrency must be 1 or more"
    if not (policy.connect_timeout > 0 and policy.read_timeout > 0):
        return "--notify-connect-timeout and --notify-read-timeout must be more than 0 seconds"
    if not policy.held > policy.connect_timeout + policy.read_timeout:
        return "--notify-lease must be longer than the connect and read timeouts together"
    return None


def serve(
    bind: str | None,
    database: str | None,
    data_dir: str | None,
    threads: int,
    workers: int,
    notify: NotifyPolicy | None = None,
) -> int:
    from fleetserver.trust import trust_file

    notify = notify or NotifyPolicy()
    if problem := policy_problem(notify):
        print(f"powerctl fleet: {problem}", file=sys.stderr)
        return 2
    data_dir = os.path.abspath(data_dir or os.environ.get("POWERCTL_FLEET_DATA_DIR") or "var/fleet")
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    bind = bind or "127.0.0.1:8444"
    host = bind.rpartition(":")[0].strip("[]")
    context = trusting_context(str(trust_file(data_dir)), *tls.ensure_certificate(data_dir, host))
    database = database or default_url(data_dir)
    shown = database.split("@")[-1] if "@" in database else database
    print(
        f"powerctl fleet: serving https://{bind}/ (database {shown}, data in {data_dir})",
        file=sys.stderr,
        flush=True,
    )
    app_config = {"data_dir": data_dir, "database": database, "notify": notify}

    def build():
        from fleetserver import create_app
        from powerctl.serve import configure_logging

        configure_logging(None, access=False)
        return create_app(app_config)

    def on_exit(app) -> None:
        from fleetserver.app import shutdown

        shutdown(app)

    # behind a load balancer every controller shares its address: raise the cap there
    cap = int(os.environ.get("POWERCTL_FLEET_CONNECTIONS_PER_ADDRESS") or httpd.Limits.per_address)
    limits = httpd.Limits(per_address=cap)
    return httpd.serve(
        build, bind, limits=limits, threads=threads, tls=context, on_exit=on_exit, workers=workers
    )
