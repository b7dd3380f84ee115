"""`powerctl fleet serve`: the fleet server under gunicorn, HTTPS with optional client certs."""

from __future__ import annotations

import os
import ssl
import sys
import threading
from pathlib import Path

from fleetserver.database import default_url
from powerctl import tls
from powerctl.serve import Gateway, gunicorn_options


class FleetServer(Gateway):
    """Builds the fleet app inside the worker, like the gateway's gunicorn application."""

    def load(self):
        from fleetserver import create_app
        from powerctl.serve import configure_logging

        configure_logging(self.syslog)
        return create_app(self.app_config)


def trusting_context(trust_path: str):
    """gunicorn's `ssl_context` hook: ask for a client certificate and verify it against the
    registered CAs, re-reading them whenever the app rewrites the file (new CA, no restart).
    A certificate from an unknown CA fails the handshake; status checks happen per request."""
    lock = threading.Lock()
    cached: dict = {}

    def hook(_conf, default_factory) -> ssl.SSLContext:
        try:
            info = os.stat(trust_path)
            stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        except FileNotFoundError:
            stamp = None
        with lock:
            if cached.get("stamp", ()) != stamp:
                context = default_factory()
                context.verify_mode = ssl.CERT_OPTIONAL
                pems = Path(trust_path).read_text() if stamp else ""
                if pems.strip():
                    context.load_verify_locations(cadata=pems)
                cached.update(stamp=stamp, context=context)
            return cached["context"]

    return hook


def _worker_exit(_server, worker) -> None:
    from fleetserver.app import shutdown

    app = getattr(worker, "wsgi", None)
    if app is not None and "powerctl.fleet" in getattr(app, "extensions", {}):
        shutdown(app)


def serve(
    bind: str | None,
    database: str | None,
    data_dir: str | None,
    threads: int,
    workers: int,
    notify_retry: float = 60.0,
) -> int:
    from fleetserver.trust import trust_file

    if not notify_retry >= 0:  # NaN too
        print("powerctl fleet: --notify-retry must be 0 or more seconds", file=sys.stderr)
        return 2
    data_dir = os.path.abspath(data_dir or os.environ.get("POWERCTL_FLEET_DATA_DIR") or "var/fleet")
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    bind = bind or "127.0.0.1:8444"
    options = gunicorn_options({"bind": bind, "threads": threads})
    host = bind.rpartition(":")[0].strip("[]")
    options["certfile"], options["keyfile"] = tls.ensure_certificate(data_dir, host)
    options.update(
        workers=workers,
        worker_exit=_worker_exit,
        proc_name="powerctl-fleet",
        control_socket_disable=True,
        cert_reqs=ssl.CERT_OPTIONAL,
        accesslog=None,
        ssl_context=trusting_context(str(trust_file(data_dir))),
    )
    database = database or default_url(data_dir)
    shown = database.split("@")[-1] if "@" in database else database
    print(
        f"powerctl fleet: serving https://{bind}/ (database {shown}, data in {data_dir})",
        file=sys.stderr,
        flush=True,
    )
    FleetServer(
        {"data_dir": data_dir, "database": database, "notify_retry_seconds": notify_retry}, options
    ).run()
    return 0
