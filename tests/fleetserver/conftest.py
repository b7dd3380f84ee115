"""Fleet server fixtures: one PostgreSQL cluster per session; apps over SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shutil

import pytest

from fleetserver import create_app, shutdown
from fleetserver.database import FleetDatabase
from tests.fleetserver import postgres
from tests.fleetserver.support import ADMIN_TOKEN, free_port

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_cluster():
    if not postgres.available():
        if os.environ.get("POWERCTL_SKIP_POSTGRES") == "1":
            pytest.skip("PostgreSQL binaries missing and POWERCTL_SKIP_POSTGRES=1")
        pytest.fail("PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)")
    cluster = postgres.start(free_port())
    yield cluster
    cluster.stop()


def _migrated(url: str) -> None:
    db = FleetDatabase(url)
    try:
        db.migrate()
    finally:
        db.close()


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory):
    """A migrated database per backend, copied for each test (migrating each is slower)."""
    return {}


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path):
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fleet.db'}"
    return request.getfixturevalue("pg_cluster").database()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path, tmp_path_factory, migrated_templates):
    """A fresh database at the newest schema, on each backend."""
    if request.param not in migrated_templates:
        if request.param == "sqlite":
            path = tmp_path_factory.mktemp("template") / "fleet.db"
            _migrated(f"sqlite:///{path}")
            migrated_templates["sqlite"] = path
        else:
            url = request.getfixturevalue("pg_cluster").database()
            _migrated(url)
            migrated_templates["postgresql"] = url.split("/")[3].split("?")[0]
    if request.param == "sqlite":
        shutil.copyfile(migrated_templates["sqlite"], tmp_path / "fleet.db")
        return f"sqlite:///{tmp_path / 'fleet.db'}"
    return request.getfixturevalue("pg_cluster").database(template=migrated_templates["postgresql"])


@pytest.fixture
def make_fleet(tmp_path, monkeypatch):
    monkeypatch.setenv("POWERCTL_FLEET_ADMIN_TOKEN", ADMIN_TOKEN)
    built = []

    def make(database: str, **config):
        app = create_app(
            {"data_dir": str(tmp_path / "fleet"), "database": database, "testing": True, **config}
        )
        built.append(app)
        return app

    yield make
    for app in built:
        shutdown(app)


@pytest.fixture
def fleet_app(make_fleet, database_url):
    return make_fleet(database_url)


class Admin:
    """The Flask test client with the admin token."""

    def __init__(self, client, token: str | None = ADMIN_TOKEN):
        self.client = client
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def __getattr__(self, method: str):
        def call(path: str, **kwargs):
            headers = {**self.headers, **kwargs.pop("headers", {})}
            return getattr(self.client, method)(path, headers=headers, **kwargs)

        return call


@pytest.fixture
def admin(fleet_app):
    return Admin(fleet_app.test_client())
