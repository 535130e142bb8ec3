"""The embedded store's foundation: one SQLite file in WAL mode, its connections,
migrations, and export/import of every table.

Point reads (`_read`) run on the event loop's thread against their own connection:
they are short, indexed lookups, and a thread hop would cost more than the query.
Anything that can visit many rows (`_scan`: search, staff lists) runs on reader threads,
each with its own connection, so one heavy read never holds up other requests; an
export reads on a thread and connection of its own. Writes go through the process's
single writer thread (see sqlite_writer). The areas of the store (cases, accounts, ...)
are shared mixins over SqlStore (base.Store); storage.sqlite composes them over SQLiteCore.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from supportd.storage import exchange, migrations
from supportd.storage.base import ExportRow, SchemaError, StoreCore
from supportd.storage.blobs import BlobStore, DirectoryBlobs
from supportd.storage.files import ensure_private_file
from supportd.storage.sql import (
    SQLITE,
    Row,
    TxFn,
    UniqueViolation,
    drive,
    for_sqlite,
    without_returning_seq,
)
from supportd.storage.sqlite_writer import Writer

T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000
READER_THREADS = 2
# SQLite copies the WAL back into the database (with an fsync) once it holds this many
# pages; its default is 1,000 (4 MB). Under a stream of small commits the same hot pages
# (index leaves, the tables' last pages) are appended again and again, and each
# checkpoint copies them once. A fourfold WAL (16 MB on disk, reused, not grown): server
# CPU per CreateCase 175 -> 156 us, 1.22x the rate (bench/README.md, issue 15's third
# round).
WAL_AUTOCHECKPOINT_PAGES = 4000


def connect(path: Path) -> sqlite3.Connection:
    # Made owner-only before SQLite creates it; SQLite gives -wal and -shm its mode.
    ensure_private_file(path)
    # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    # NORMAL in WAL mode: a commit survives the process dying; only a power loss can
    # lose the last transactions.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
    return conn


def applied_versions(conn: sqlite3.Connection) -> set[int]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
    )
    return {int(row[0]) for row in conn.execute("SELECT version FROM schema_migrations")}


def migrate(path: Path) -> list[str]:
    """Apply pending migrations; the names of those applied."""
    conn = connect(path)
    applied: list[str] = []
    try:
        conn.execute("BEGIN IMMEDIATE")
        done = applied_versions(conn)
        current = max(done, default=0)
        newest = migrations.latest("sqlite")
        if current > newest:
            raise SchemaError(
                f"database schema version {current} is newer than this supportd ({newest})"
            )
        # Migrations are numbered per area, so one numbered below the newest applied
        # can arrive later (e.g. 0003 after 0006): apply every missing one, in order.
        for version, name, sql in migrations.migrations("sqlite"):
            if version not in done:
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, name))
                applied.append(name)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    return applied


def _statements(sql: str) -> list[str]:
    """The statements of a migration file. A statement ends where SQLite says it is
    complete: a trigger's body (BEGIN ... END) holds semicolons of its own."""
    statements: list[str] = []
    current: list[str] = []
    for line in sql.splitlines():
        if line.strip().startswith("--"):
            continue
        current.append(line)
        text = "\n".join(current).strip()
        if sqlite3.complete_statement(text):
            if text.rstrip(";").strip():
                statements.append(text)
            current = []
    rest = "\n".join(current).strip()
    if rest:
        statements.append(rest)
    return statements


_LISTS = (list, tuple)


def _json_list(values: Sequence[Any]) -> str:
    # msgspec: about a tenth of json.dumps' time for a page's hundred ids (compact, UTF-8
    # as is; json_each and json.loads read either form).
    return _encode_json(values).decode()


_encode_json = msgspec.json.Encoder().encode


def _bind(args: Sequence[Any]) -> Sequence[Any]:
    # Lists are stored as JSON text (and `= ANY($n)` reads them with json_each). On every
    # statement of the write path: a plain loop and exact type checks, no generators.
    for value in args:
        if type(value) in _LISTS:
            return [_json_list(v) if type(v) in _LISTS else v for v in args]
    return args


class SQLiteTx:
    """A sqlite3 connection behind the shared Tx interface. Nothing here suspends: see
    sql.drive."""

    __slots__ = ("conn",)
    dialect = SQLITE

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def _run(self, sql: str, args: Sequence[Any]) -> sqlite3.Cursor:
        try:
            return self.conn.execute(for_sqlite(sql), _bind(args))
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise UniqueViolation(str(exc)) from exc
            raise

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return self._run(sql, args).fetchall()

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = self._run(sql, args).fetchall()
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        rows = self._run(sql, args).fetchall()
        return rows[0][0] if rows else None

    async def execute(self, sql: str, *args: Any) -> int:
        return self._run(sql, args).rowcount

    async def insert(self, sql: str, *args: Any) -> int:
        seq = self._run(without_returning_seq(sql), args).lastrowid
        assert seq is not None
        return seq

    async def lock(self, scope: str, key: str) -> None:
        # Writes already take turns: one writer thread, BEGIN IMMEDIATE across processes.
        return None

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        try:
            self.conn.executemany(for_sqlite(sql), [_bind(a) for a in args])
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise UniqueViolation(str(exc)) from exc
            raise


class _Readers:
    """Reader threads for scans, each with its own connection (opened on first use)."""

    def __init__(self, path: Path, threads: int) -> None:
        self._path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="supportd-sqlite-reader")

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self._path)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _run(self, fn: TxFn[T]) -> T:
        conn = self._connection()
        # One read transaction: every statement of fn sees the same snapshot.
        conn.execute("BEGIN")
        try:
            return drive(fn(SQLiteTx(conn)))
        finally:
            conn.execute("COMMIT")

    async def run(self, fn: TxFn[T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._run, fn)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()


class SQLiteCore(StoreCore):
    cancelled_writes_commit = True

    def __init__(self, path: Path, *, reader_threads: int = READER_THREADS) -> None:
        self.path = path
        self._reader: sqlite3.Connection | None = None
        self._reader_tx: SQLiteTx | None = None
        self._readers: _Readers | None = None
        self._reader_threads = reader_threads
        self._writer = Writer(lambda: connect(self.path))

    async def open(self) -> None:
        # The embedded store sets itself up: `make run` on a fresh machine just works.
        migrate(self.path)
        self._reader = connect(self.path)
        self._reader_tx = SQLiteTx(self._reader)
        self._readers = _Readers(self.path, self._reader_threads)
        self._writer.start()

    async def close(self) -> None:
        self._writer.stop()
        if self._readers is not None:
            self._readers.close()
            self._readers = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
            self._reader_tx = None

    # --- running transaction functions (see sql.SqlStore) ------------------------

    async def _read(self, fn: TxFn[T]) -> T:
        if self._reader_tx is None:
            raise RuntimeError("store is not open")
        return drive(fn(self._reader_tx))

    async def _scan(self, fn: TxFn[T]) -> T:
        if self._readers is None:
            raise RuntimeError("store is not open")
        return await self._readers.run(fn)

    async def _write(
        self, fn: TxFn[T], *, idempotent: bool = False, single_statement: bool = False
    ) -> T:
        # The writer commits every write of this process; retries are not needed (no
        # connection to lose), so the flags only matter to PostgreSQL.
        return await self._writer.submit(lambda conn: drive(fn(SQLiteTx(conn))))

    def usage(self) -> dict[str, int]:
        return {"writer_queue": self._writer.depth()}

    @property
    def _db(self) -> sqlite3.Connection:
        if self._reader is None:
            raise RuntimeError("store is not open")
        return self._reader

    @cached_property
    def blobs(self) -> BlobStore:
        """The file bytes: files under `<data-dir>/blobs`, next to the database."""
        return DirectoryBlobs(self.path.parent / "blobs")

    # --- export / import ----------------------------------------------------------

    async def is_empty(self) -> bool:
        for t in exchange.TABLES:
            if self._db.execute(f"SELECT 1 FROM {t.name} LIMIT 1").fetchone():
                return False
        return True

    async def export_all(self, batch_size: int) -> AsyncIterator[tuple[str, list[ExportRow]]]:
        # A connection of its own, in one read transaction: in WAL mode it reads one
        # snapshot throughout while the writer goes on committing. It is used on a thread
        # of its own: no batch is read (or decoded) on the event loop.
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(1, thread_name_prefix="supportd-sqlite-export")
        conn: sqlite3.Connection | None = None
        try:
            conn = await loop.run_in_executor(pool, _export_connection, self.path)
            for t in exchange.TABLES:
                after = 0
                while True:
                    rows = await loop.run_in_executor(
                        pool, _export_batch, conn, t, after, batch_size
                    )
                    if rows:
                        yield t.name, rows
                    if len(rows) < batch_size:
                        break
                    after = rows[-1]["seq"]
        finally:
            if conn is not None:
                # On the export's thread, after a batch it may still be reading (an
                # export abandoned half way); closing ends the read transaction.
                pool.submit(conn.close)
            pool.shutdown(wait=False)

    async def import_rows(self, table: str, rows: Sequence[ExportRow]) -> None:
        t = exchange.table(table)
        records = [
            tuple(
                _json_list(row[c])
                if c in t.list_columns
                else int(row[c])
                if c in t.bool_columns
                else row[c]
                for c in t.columns
            )
            for row in rows
        ]
        sql = (
            f"INSERT INTO {t.name} ({', '.join(t.columns)})"
            f" VALUES ({', '.join('?' * len(t.columns))})"
        )

        def job(conn: sqlite3.Connection) -> None:
            conn.executemany(sql, records)

        await self._writer.submit(job)

    async def finish_import(self) -> None:
        # AUTOINCREMENT already continues after the largest seq inserted.
        return None


def _export_connection(path: Path) -> sqlite3.Connection:
    conn = connect(path)
    conn.execute("BEGIN")
    return conn


def _export_batch(
    conn: sqlite3.Connection, t: exchange.Table, after: int, limit: int
) -> list[ExportRow]:
    rows = conn.execute(
        f"SELECT {', '.join(t.columns)} FROM {t.name} WHERE seq > ? ORDER BY seq LIMIT ?",
        (after, limit),
    ).fetchall()
    return [_exported(t, row) for row in rows]


def _exported(t: exchange.Table, row: Any) -> ExportRow:
    item = dict(zip(t.columns, row, strict=True))
    for column in t.list_columns:
        item[column] = json.loads(item[column])
    for column in t.bool_columns:
        item[column] = bool(item[column])
    return item
