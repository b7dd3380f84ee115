"""Admin tokens rotate: the environment's replaces the one it gave before; any may be revoked."""

from __future__ import annotations

import datetime
import json

import pytest
from sqlalchemy import text

from fleetserver import create_app, shutdown
from fleetserver.admins import token_hash
from fleetserver.database import FleetDatabase
from tests.fleetserver.conftest import Admin

OLD, NEW = "old-admin-token-" + "o" * 20, "new-admin-token-" + "n" * 20


@pytest.fixture
def database_url(empty_database_url):
    """An empty database: the first start migrates it, as in production."""
    return empty_database_url


@pytest.fixture
def start(tmp_path, monkeypatch, database_url):
    """Start the fleet server on one database (a real SQLite file, or PostgreSQL) with
    POWERCTL_FLEET_ADMIN_TOKEN set to `token` (or unset), stopping the one started before."""
    running = []

    def start(token: str | None):
        while running:
            shutdown(running.pop())
        if token is None:
            monkeypatch.delenv("POWERCTL_FLEET_ADMIN_TOKEN", raising=False)
        else:
            monkeypatch.setenv("POWERCTL_FLEET_ADMIN_TOKEN", token)
        app = create_app({"data_dir": str(tmp_path / "fleet"), "database": database_url, "testing": True})
        running.append(app)
        return app.test_client()

    yield start
    while running:
        shutdown(running.pop())


def test_a_changed_environment_token_replaces_the_old_one_at_the_next_start(start):
    client = start(OLD)
    assert Admin(client, OLD).get("/controllers").status_code == 200
    client = start(NEW)
    refused = Admin(client, OLD).get("/controllers")
    assert refused.status_code == 401 and refused.json["code"] == 401
    assert Admin(client, NEW).get("/controllers").status_code == 200
    listed = Admin(client, NEW).get("/admin-tokens").json
    assert [t["source"] for t in listed["tokens"]] == ["environment"]
    assert listed["caller"] == listed["tokens"][0]["id"]
    client = start(None)  # the variable unset: the last one it gave stays
    assert Admin(client, NEW).get("/controllers").status_code == 200


def test_tokens_are_listed_by_id_and_revoked_for_good(start):
    admin = Admin(start(OLD), OLD)
    made = admin.post("/admin-tokens", json={"label": "provisioning"})
    assert made.status_code == 201 and len(made.json["token"]) >= 32
    mine, theirs = Admin(admin.client, made.json["token"]), made.json["id"]
    assert mine.get("/controllers").status_code == 200
    listed = mine.get("/admin-tokens").json["tokens"]
    assert [(t["source"], t["label"]) for t in listed] == [("environment", None), ("api", "provisioning")]
    text = json.dumps(listed)
    assert made.json["token"] not in text and OLD not in text and "hash" not in text
    assert admin.delete(f"/admin-tokens/{theirs}").status_code == 204
    assert mine.get("/controllers").status_code == 401
    assert admin.delete(f"/admin-tokens/{theirs}").status_code == 404
    assert admin.delete("/admin-tokens/not-an-id").status_code == 404
    # a restart with the same environment token does not bring a revoked one back
    admin = Admin(start(OLD), OLD)
    assert Admin(admin.client, made.json["token"]).get("/controllers").status_code == 401
    last = admin.get("/admin-tokens").json["tokens"][0]["id"]
    refused = admin.delete(f"/admin-tokens/{last}")
    assert refused.status_code == 409 and "last admin token" in refused.json["message"]


def test_a_revoked_environment_token_comes_back_only_while_the_environment_gives_it(start):
    admin = Admin(start(OLD), OLD)
    spare = admin.post("/admin-tokens").json
    env_id = admin.get("/admin-tokens").json["caller"]
    assert admin.delete(f"/admin-tokens/{env_id}").status_code == 204
    assert admin.get("/controllers").status_code == 401
    client = start(None)
    assert Admin(client, OLD).get("/controllers").status_code == 401
    assert Admin(client, spare["token"]).get("/controllers").status_code == 200


def test_the_generated_first_token_is_printed_once_and_kept(start, capfd):
    client = start(None)
    printed = capfd.readouterr().err.split("created the admin token: ")[1].split()[0]
    assert Admin(client, printed).get("/controllers").status_code == 200
    client = start(None)
    assert "created the admin token" not in capfd.readouterr().err
    assert Admin(client, printed).get("/admin-tokens").json["tokens"][0]["source"] == "generated"


def test_tokens_from_before_ids_count_as_the_environments(database_url, start):
    old = FleetDatabase(database_url)
    try:
        old.migrate("0002")
        with old.writing() as session:
            session.execute(
                text("INSERT INTO admin_tokens (token_hash, created) VALUES (:digest, :now)"),
                {"digest": token_hash(OLD), "now": datetime.datetime.now(datetime.UTC)},
            )
    finally:
        old.close()
    client = start(NEW)
    assert Admin(client, OLD).get("/controllers").status_code == 401
    assert [t["source"] for t in Admin(client, NEW).get("/admin-tokens").json["tokens"]] == ["environment"]
