"""The /restapi/ surface: a data-driven tree and one dispatcher."""

from __future__ import annotations

from flask import Flask

from powerctl.restapi.dispatch import bp
from powerctl.restapi.tree import Branch, Tree


def init_app(app: Flask, root: Branch) -> Tree:
    tree = Tree(root)
    app.extensions["powerctl.tree"] = tree
    app.register_blueprint(bp)
    return tree
