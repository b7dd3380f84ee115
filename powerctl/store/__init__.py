"""SQLite storage in the data directory: one file, WAL, schema versioned with user_version."""

from powerctl.store.db import Database
from powerctl.store.records import ClientRecord, OutletRecord, TokenRecord

__all__ = ["ClientRecord", "Database", "OutletRecord", "TokenRecord"]
