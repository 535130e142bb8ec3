"""The embedded store: the shared areas (base.Store) over SQLiteCore (one file, one
writer thread, reader threads for scans), with SQLite's full-text search."""

from __future__ import annotations

from supportd.storage.base import Store
from supportd.storage.sqlite_core import SQLiteCore, connect, migrate
from supportd.storage.sqlite_search import SQLiteSearch

__all__ = ["SQLiteStore", "connect", "migrate"]


class SQLiteStore(SQLiteSearch, Store, SQLiteCore):
    """Every area of the store over one SQLite file (see sqlite_core)."""
