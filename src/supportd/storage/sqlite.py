"""The embedded store: SQLiteCore plus one mixin per area of the data."""

from __future__ import annotations

from supportd.storage.sqlite_accounts import SQLiteAccounts
from supportd.storage.sqlite_advisor import SQLiteAdvisor
from supportd.storage.sqlite_attachments import SQLiteAttachments
from supportd.storage.sqlite_cases import SQLiteCases
from supportd.storage.sqlite_core import connect, migrate
from supportd.storage.sqlite_jobs import SQLiteJobs
from supportd.storage.sqlite_staff import SQLiteStaff

__all__ = ["SQLiteStore", "connect", "migrate"]


class SQLiteStore(
    SQLiteCases, SQLiteJobs, SQLiteAccounts, SQLiteAdvisor, SQLiteAttachments, SQLiteStaff
):
    """Every area of the store over one SQLite file (see sqlite_core)."""
