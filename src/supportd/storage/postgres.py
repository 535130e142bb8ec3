"""The scale-out store: the shared areas (base.Store) over PostgresCore, with what
PostgreSQL does differently for cases (postgres_cases) and its full-text search."""

from __future__ import annotations

from supportd.storage.base import Store
from supportd.storage.postgres_cases import PostgresCases
from supportd.storage.postgres_core import PostgresCore, check_schema, display_url, migrate
from supportd.storage.postgres_search import PostgresSearch

__all__ = ["PostgresStore", "check_schema", "display_url", "migrate"]


class PostgresStore(PostgresCases, PostgresSearch, Store, PostgresCore):
    """Every area of the store over one PostgreSQL database (see postgres_core)."""
