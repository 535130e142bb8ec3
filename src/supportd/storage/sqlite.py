"""The embedded store: SQLiteCore plus one mixin per area of the data."""

from __future__ import annotations

from supportd.storage.cases import Cases
from supportd.storage.jobs import Jobs
from supportd.storage.outbox import Outbox
from supportd.storage.sqlite_accounts import SQLiteAccounts
from supportd.storage.sqlite_advisor import SQLiteAdvisor
from supportd.storage.sqlite_attachments import SQLiteAttachments
from supportd.storage.sqlite_core import SQLiteCore, connect, migrate
from supportd.storage.sqlite_staff import SQLiteStaff

__all__ = ["SQLiteStore", "connect", "migrate"]


class SQLiteStore(
    Cases,
    Jobs,
    Outbox,
    SQLiteAccounts,
    SQLiteAdvisor,
    SQLiteAttachments,
    SQLiteStaff,
    SQLiteCore,
):
    """Every area of the store over one SQLite file (see sqlite_core)."""
