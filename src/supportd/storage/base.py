"""The contract every store keeps. Operations talk to `Store`, never to a database.

Both stores share their areas (storage/cases.py, accounts.py, ...), so the contract is
those shared classes themselves: `Store` is every area over `StoreCore`, and each
dialect's store (storage/sqlite.py, storage/postgres.py) is `Store` with its few
dialect overrides before it and its core after it. A new area is one more class in
`Store`'s bases.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from supportd.storage.accounts import Accounts
from supportd.storage.advisor import Advisor
from supportd.storage.attachments import Attachments
from supportd.storage.blobs import BlobStore
from supportd.storage.cases import Cases
from supportd.storage.console import Console

# Re-exported: what the front doors catch.
from supportd.storage.errors import StoreFull as StoreFull
from supportd.storage.errors import StoreUnavailable as StoreUnavailable
from supportd.storage.health import Health
from supportd.storage.jobs import Jobs
from supportd.storage.outbox import Outbox
from supportd.storage.sql import SqlStore
from supportd.storage.staff import Staff
from supportd.storage.web import Web


class SchemaError(RuntimeError):
    """The database schema is not the one this supportd expects."""


# One exported row: column name -> JSON-ready value (see storage.exchange).
ExportRow = dict[str, Any]


class StoreCore(SqlStore):
    """Connecting, the blob store, and moving every table out and in: what each
    dialect's core (SQLiteCore, PostgresCore) implements besides running transaction
    functions."""

    async def open(self) -> None:
        """Connect and check (or, where allowed, apply) the schema."""
        raise NotImplementedError

    @property
    def blobs(self) -> BlobStore:
        """Where the file bytes are."""
        raise NotImplementedError

    def usage(self) -> dict[str, int]:
        """This process's use of its connections, at this moment, without I/O (SQLite:
        `writer_queue`, the writes waiting for the writer thread; PostgreSQL:
        `pool_size`, `pool_in_use`, `pool_max`)."""
        raise NotImplementedError

    # --- export / import (supportd export, supportd import) ---------------------

    async def is_empty(self) -> bool:
        """True if no table holds a row."""
        raise NotImplementedError

    def export_all(self, batch_size: int) -> AsyncIterator[tuple[str, list[ExportRow]]]:
        """Every row, as (table, batch of up to batch_size rows): tables in
        storage.exchange.TABLES order, rows in seq order, all from one consistent
        snapshot however long the export takes."""
        raise NotImplementedError

    async def import_rows(self, table: str, rows: Sequence[ExportRow]) -> None:
        """Insert exported rows as they are, sequence numbers included."""
        raise NotImplementedError

    async def finish_import(self) -> None:
        """After importing: new rows get sequence numbers above every imported one."""
        raise NotImplementedError


class Store(
    Cases, Attachments, Jobs, Accounts, Advisor, Staff, Web, Console, Health, Outbox, StoreCore
):
    """Everything operations may ask of a store: one shared class per area of the data,
    over the core. Adding an area: one more base here."""
