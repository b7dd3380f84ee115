"""`powerctl serve`: the gateway under gunicorn, one worker process with threads."""

from __future__ import annotations

import logging
import logging.handlers
import socket
import sys

from gunicorn.app.base import BaseApplication

import hw
from powerctl import bootstrap, tls
from powerctl import config as config_mod


class Gateway(BaseApplication):
    """Gunicorn application that builds the app inside the worker, never in the arbiter."""

    def __init__(self, app_config: dict, options: dict, syslog: str | None = None):
        self.app_config = app_config
        self.options = options
        self.syslog = syslog
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from powerctl import create_app

        configure_logging(self.syslog)
        return create_app(self.app_config)


def configure_logging(syslog: str | None) -> None:
    """Audit and hardware lines at INFO to stderr, and to syslog when an address is given.

    Audit lines are emitted by the audit writer thread, never on a request's own time.
    """
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handlers: list[logging.Handler] = [stderr]
    if syslog:
        handler = logging.handlers.SysLogHandler(address=syslog)
        handler.setFormatter(logging.Formatter("powerctl[%(process)d]: %(name)s: %(message)s"))
        handlers.append(handler)
    for name in ("powerctl", "hw"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.handlers = handlers
        logger.propagate = False


def _worker_exit(_server, worker) -> None:
    from powerctl import shutdown

    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "extensions"):
        shutdown(app)


def gunicorn_options(server: dict) -> dict:
    """The production server settings; `bench/` runs its baseline app with the same ones."""
    # The hardware has one owner: a single worker process; threads give concurrency.
    return {
        "bind": server["bind"],
        "workers": 1,
        "worker_class": "gthread",
        "threads": server["threads"],
        "timeout": 30,
        "graceful_timeout": 10,
        "preload_app": False,
        "worker_exit": _worker_exit,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": "info",
        "limit_request_line": 8190,
        "limit_request_fields": 200,
        "proc_name": "powerctl",
    }


def _unbindable(bind: str) -> str | None:
    """Why the address cannot be listened on (in use, not ours), or None; checked before any file is made."""
    host, _, port = bind.rpartition(":")
    try:
        infos = socket.getaddrinfo(host.strip("[]"), int(port), type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        return f"unknown host {host!r} ({err.strerror})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as err:
            return err.strerror
    return None


def serve(bind: str | None, data_dir: str | None, config_file: str | None, http: bool) -> int:
    overrides: dict = {"server": {}}
    if data_dir:
        overrides["data_dir"] = data_dir
    if bind:
        overrides["server"]["bind"] = bind
    if http:
        overrides["server"]["tls"] = False
    try:
        settings = config_mod.load(overrides, config_file)
        hw.build_controller(settings["hardware"]).close()  # validates; opens nothing
    except (config_mod.ConfigError, hw.HardwareConfigError) as err:
        print(f"powerctl: {err}", file=sys.stderr)
        return 2
    server = settings["server"]
    problem = _unbindable(server["bind"])
    if problem:
        print(f"powerctl: cannot listen on {server['bind']}: {problem}", file=sys.stderr)
        return 2
    bootstrap.ensure_data_dir(settings["data_dir"])
    options = gunicorn_options(server)
    scheme = "http"
    if server["tls"]:
        host = server["bind"].rpartition(":")[0].strip("[]")
        tls.ensure_certificate(settings["data_dir"], host)
        options["certfile"], options["keyfile"] = tls.served_pair(settings["data_dir"])
        options["ssl_context"] = tls.live_context(settings["data_dir"])
        scheme = "https"
    print(
        f"powerctl: serving {scheme}://{server['bind']}/restapi/ (data in {settings['data_dir']})",
        file=sys.stderr,
        flush=True,
    )
    app_config = dict(overrides, data_dir=settings["data_dir"])
    if config_file:
        app_config["config_file"] = config_file
    Gateway(app_config, options, server["syslog"]).run()
    return 0
