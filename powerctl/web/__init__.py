"""The settings page for admins: server-rendered HTML and a little JavaScript, nothing external."""

from __future__ import annotations

import secrets

from flask import Flask

from powerctl import access
from powerctl.store import Database
from powerctl.web.csrf import CsrfTokens
from powerctl.web.signin import PageViews
from powerctl.web.views import bp

__all__ = ["init_app"]


def init_app(app: Flask, db: Database) -> None:
    key = bytes.fromhex(str(db.setting_or_create("csrf_key", lambda: secrets.token_hex(32))))
    csrf = app.extensions["powerctl.csrf"] = CsrfTokens(key)
    app.extensions[access.PAGE_VIEWS] = PageViews(csrf)
    app.register_blueprint(bp)
