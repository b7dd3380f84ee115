"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from fleetserver.database import FleetDatabase
from fleetserver.models import Base


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
