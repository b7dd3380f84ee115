"""`powerctl serve`: the gateway in one process, requests read on an event loop (powerctl.httpd)."""

from __future__ import annotations

import logging
import logging.handlers
import socket
import sys

import hw
from powerctl import bootstrap, httpd, tls
from powerctl import config as config_mod


def configure_logging(syslog: str | None, access: bool = True) -> None:
    """Audit and hardware lines at INFO to stderr, and to syslog when an address is given;
    the access log (one line per answer) to stdout.

    Audit lines are emitted by the audit writer thread, never on a request's own time.
    """
    # flushed once per batch of audit lines, the time stamp formatted once a second
    stderr = httpd.BatchedStreamHandler(sys.stderr)
    stderr.setFormatter(httpd.StampFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
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
    stdout = httpd.BatchedStreamHandler(sys.stdout)
    stdout.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("powerctl.access")
    logger.setLevel(logging.INFO if access else logging.WARNING)
    logger.handlers = [stdout]
    logger.propagate = False


def server_options(server: dict) -> dict:
    """The production server settings of `[server]`; `bench/` serves its baseline app with them."""
    return {
        "limits": httpd.Limits(
            header_timeout=server["header_timeout"],
            keepalive_timeout=server["keepalive_timeout"],
            body_timeout=server["body_timeout"],
            per_address=server["connections_per_address"],
            max_body=server["max_body_bytes"],
        ),
        # The hardware has one owner: one process; its threads give concurrency.
        "threads": server["threads"],
        # behind a proxy every client shares its address: the per-address cap would starve them
        "exempt": server["trusted_proxies"],
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
    context = None
    if server["tls"]:
        host = server["bind"].rpartition(":")[0].strip("[]")
        tls.ensure_certificate(settings["data_dir"], host)
        context = tls.live_context(settings["data_dir"])
    scheme = "https" if context else "http"
    print(
        f"powerctl: serving {scheme}://{server['bind']}/restapi/ (data in {settings['data_dir']})",
        file=sys.stderr,
        flush=True,
    )
    app_config = dict(overrides, data_dir=settings["data_dir"])
    if config_file:
        app_config["config_file"] = config_file

    def build():
        from powerctl import create_app

        configure_logging(server["syslog"])
        return create_app(app_config)

    def on_exit(app) -> None:
        from powerctl import shutdown

        shutdown(app)

    return httpd.serve(build, server["bind"], tls=context, on_exit=on_exit, **server_options(server))
