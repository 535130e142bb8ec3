"""The scale-out store: the shared areas over PostgresCore, plus what PostgreSQL does
differently for cases (postgres_cases)."""

from __future__ import annotations

from supportd.storage.accounts import Accounts
from supportd.storage.advisor import Advisor
from supportd.storage.attachments import Attachments
from supportd.storage.console import Console
from supportd.storage.jobs import Jobs
from supportd.storage.postgres_cases import PostgresCases
from supportd.storage.postgres_core import PostgresCore, check_schema, display_url, migrate
from supportd.storage.postgres_staff import PostgresStaff
from supportd.storage.web import Web

__all__ = ["PostgresStore", "check_schema", "display_url", "migrate"]


class PostgresStore(
    PostgresCases,
    Attachments,
    Jobs,
    Accounts,
    Advisor,
    Web,
    Console,
    PostgresStaff,
    PostgresCore,
):
    """Every area of the store over one PostgreSQL database (see postgres_core)."""
