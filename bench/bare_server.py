"""Serve the baseline app with exactly the gunicorn settings of `powerctl serve --http`."""

from __future__ import annotations

import sys

from bare_app import app
from gunicorn.app.base import BaseApplication

from powerctl.config import load
from powerctl.serve import gunicorn_options


class Bare(BaseApplication):
    def __init__(self, bind: str, config_file: str | None = None):
        server = load({"server": {"bind": bind, "tls": False}}, config_file)["server"]
        self.options = gunicorn_options(server)
        self.options.pop("worker_exit")
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return app


if __name__ == "__main__":
    Bare(*sys.argv[1:3]).run()
