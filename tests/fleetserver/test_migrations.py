"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from fleetserver import settings
from fleetserver.certificates import Certificates
from fleetserver.controllers import Controllers
from fleetserver.database import FleetDatabase
from fleetserver.models import DEFAULT_ACCOUNT, Base
from fleetserver.pages import Page
from tests.fleetserver.support import make_ca

C1 = "95d8cd00-5bba-46e5-ae33-f1e4b2d65e6e"
CLIENT = "708e3376-5cb1-4fa8-923f-cda75b9e9e33"


def test_migrating_an_empty_database_matches_the_models(empty_database_url):
    db = FleetDatabase(empty_database_url)
    try:
        db.migrate()
        db.migrate()  # a second start finds nothing to do
    finally:
        db.close()
    engine = create_engine(db.url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert differences == []


def test_objects_from_before_accounts_belong_to_the_default_account(empty_database_url):
    """A database made at the revision before accounts, with a controller (and a client), a
    CA and a certificate in it, upgraded: all of it is the default account's, and that
    account's token sees it."""
    db = FleetDatabase(empty_database_url)
    try:
        db.migrate("0003")
        now = datetime.datetime.now(datetime.UTC)
        with db.writing() as session:
            session.execute(
                text(
                    "INSERT INTO controllers (uuid, serial, version, fleet_token, server_cert_pem, "
                    "server_key_pem, created) VALUES (:u, 's', 3, 't', :c, 'k', :now)"
                ),
                {"u": C1, "now": now, "c": make_ca().cert_pem},
            )
            seq = session.execute(text("SELECT seq FROM controllers")).scalar_one()
            session.execute(
                text("INSERT INTO client_keys VALUES (:seq, :c, :h)"),
                {"seq": seq, "c": CLIENT, "h": "ab" * 32},
            )
            session.execute(
                text(
                    "INSERT INTO ca_certificates (certificate_id, pem, status, auto_registration, "
                    "created, modified) VALUES (:i, 'p', 'ACTIVE', false, :now, :now)"
                ),
                {"i": "a" * 64, "now": now},
            )
            ca_seq = session.execute(text("SELECT seq FROM ca_certificates")).scalar_one()
            session.execute(
                text(
                    "INSERT INTO certificates (certificate_id, ca_seq, controller_seq, pem, public_key, "
                    "status, created, modified) VALUES (:i, :ca, :seq, 'p', 'k', 'ACTIVE', :now, :now)"
                ),
                {"i": "b" * 64, "ca": ca_seq, "seq": seq, "now": now},
            )
        db.migrate()
        with db.reading() as session:
            for table in ("controllers", "ca_certificates", "certificates"):
                owners = session.execute(text(f"SELECT account_id FROM {table}")).scalars().all()
                assert owners == [DEFAULT_ACCOUNT], table
            assert session.execute(text("SELECT id FROM accounts")).scalars().all() == [DEFAULT_ACCOUNT]
        controllers = Controllers(db, ("", ""), settings.CertificatePolicy())
        (listed,), _ = controllers.list(Page(), owner=DEFAULT_ACCOUNT)
        assert listed["uuid"] == C1 and listed["ownedBy"] == DEFAULT_ACCOUNT and listed["version"] == 3
        assert controllers.clients(C1, owner=DEFAULT_ACCOUNT) == {CLIENT: ["ab" * 32]}
        assert controllers.list(Page(), owner="other")[0] == []
        certificates = Certificates(db)
        (cert,), _ = certificates.list(Page(), owner=DEFAULT_ACCOUNT)
        assert cert["certificateArn"] == f"urn:powerctl:fleet:default:cert/{'b' * 64}"
        assert certificates.list_cas(Page(), owner=DEFAULT_ACCOUNT)[0][0]["certificateId"] == "a" * 64
    finally:
        db.close()
