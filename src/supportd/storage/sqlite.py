"""The embedded store: the shared areas over SQLiteCore (one file, one writer thread,
reader threads for scans)."""

from __future__ import annotations

from supportd.storage.accounts import Accounts
from supportd.storage.advisor import Advisor
from supportd.storage.attachments import Attachments
from supportd.storage.cases import Cases
from supportd.storage.console import Console
from supportd.storage.jobs import Jobs
from supportd.storage.sqlite_core import SQLiteCore, connect, migrate
from supportd.storage.sqlite_staff import SQLiteStaff
from supportd.storage.web import Web

__all__ = ["SQLiteStore", "connect", "migrate"]


class SQLiteStore(
    Cases,
    Attachments,
    Jobs,
    Accounts,
    Advisor,
    Web,
    Console,
    SQLiteStaff,
    SQLiteCore,
):
    """Every area of the store over one SQLite file (see sqlite_core)."""
