"""The SQL database: engines for SQLite or PostgreSQL, Alembic migrations at start."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from fleetserver.files import private_sqlite


def default_url(data_dir: str) -> str:
    return "sqlite:///" + os.path.join(os.path.abspath(data_dir), "fleet.db")


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here, the driver this package depends on."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(
        url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=20, max_overflow=20
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        # SQLAlchemy's documented recipe: let it emit BEGIN itself, so writers can take the
        # lock up front (BEGIN IMMEDIATE) instead of failing to upgrade a read lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class FleetDatabase:
    """Sessions for reading and for writing; on SQLite a writer holds the lock from BEGIN."""

    def __init__(self, url: str):
        self.url = normalise_url(url)
        if self.url.startswith("sqlite"):
            private_sqlite(self.url)
            self._read = _sqlite_engine(self.url, immediate=False)
            self._write = _sqlite_engine(self.url, immediate=True)
        else:
            self._read = self._write = create_engine(
                self.url, pool_size=20, max_overflow=20, pool_pre_ping=True
            )
        self._readers = sessionmaker(self._read, expire_on_commit=False)
        self._writers = sessionmaker(self._write, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self._read.dialect.name

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema to the newest revision (Alembic, on the writer's connection)."""
        config = Config()
        config.set_main_option("script_location", "fleetserver:migrations")
        with self._write.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._readers() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._writers() as session, session.begin():
            yield session

    def close(self) -> None:
        self._read.dispose()
        self._write.dispose()
