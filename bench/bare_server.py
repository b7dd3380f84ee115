"""Serve the baseline app with exactly the server settings of `powerctl serve --http`."""

from __future__ import annotations

import sys

from bare_app import app

from powerctl import httpd
from powerctl.config import load
from powerctl.serve import configure_logging, server_options


def main(bind: str, config_file: str | None = None) -> int:
    server = load({"server": {"bind": bind, "tls": False}}, config_file)["server"]
    configure_logging(None)  # the same access log as the gateway's
    return httpd.serve(lambda: app, bind, **server_options(server))


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
