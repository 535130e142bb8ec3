"""The scale-out store's foundation: several supportd processes on several machines share one
PostgreSQL.

Nothing here keeps state between requests beyond the connection pool: display ids come
from the cases table's BIGSERIAL sequence (unique and increasing across every node),
pagination cursors are sequence numbers, and every write is one transaction that locks
the rows it changes (SELECT ... FOR UPDATE), so two nodes replying to the same case at
once apply the reply rules one after the other.

asyncpg has no type stubs: its objects are `Any` here and nowhere else; every function
that leaves this module returns our own records.

Each area of the store (cases, accounts, ...) is a mixin over PostgresCore in its own
module; storage.postgres composes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import cached_property
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from supportd.storage import exchange, migrations
from supportd.storage.base import ExportRow, SchemaError, StoreCore, StoreUnavailable
from supportd.storage.blobs import BlobStore
from supportd.storage.postgres_blobs import PostgresBlobs
from supportd.storage.sql import POSTGRESQL, Row, TxFn, UniqueViolation

log = logging.getLogger("supportd.storage.postgres")

T = TypeVar("T")
Connection = Any  # asyncpg.Connection (untyped)

DIALECT = POSTGRESQL
# pg_advisory_xact_lock key for migrations: the bytes of "supportd" as a bigint.
MIGRATION_LOCK = int.from_bytes(b"supportd", "big")
MAX_ATTEMPTS = 4
BACKOFF_S = 0.02
BACKOFF_CAP_S = 1.0

# PostgreSQL rolled the transaction back and asks the client to run it again. (A
# prepared statement invalidated by a migration run while this node serves fails its
# transaction once; asyncpg has then dropped the stale statement.)
RETRY_TRANSACTION: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.InvalidCachedStatementError,
)
# The connection went away (server restart, failover, network, terminated backend).
CONNECTION_LOST: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    ConnectionError,
    TimeoutError,  # connecting took longer than CONNECT_TIMEOUT_S
    # A pooled connection still busy with an operation that a broken connection
    # interrupted: asyncpg refuses it client-side, before anything is sent.
    asyncpg.exceptions.InternalClientError,
)
CONNECT_TIMEOUT_S = 10.0


def _lock_int(text: str) -> int:
    return int.from_bytes(
        hashlib.blake2s(text.encode(), digest_size=4).digest(), "big", signed=True
    )


class PostgresTx:
    """An asyncpg connection behind the shared Tx interface."""

    __slots__ = ("conn",)
    dialect = POSTGRESQL

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        try:
            return list(await self.conn.fetch(sql, *args))
        except asyncpg.exceptions.UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from exc

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        try:
            row: Row | None = await self.conn.fetchrow(sql, *args)
        except asyncpg.exceptions.UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from exc
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        try:
            return await self.conn.fetchval(sql, *args)
        except asyncpg.exceptions.UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from exc

    async def insert(self, sql: str, *args: Any) -> int:
        seq: int = await self.fetchval(sql, *args)
        return seq

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            status: str = await self.conn.execute(sql, *args)
        except asyncpg.exceptions.UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from exc
        # "UPDATE 3", "INSERT 0 1", "DELETE 0": the last word counts the rows.
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def lock(self, scope: str, key: str) -> None:
        # Two-int advisory keys (scope, key); the single-bigint key space, used for
        # migrations, does not overlap.
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock($1, $2)", _lock_int(scope), _lock_int(key)
        )

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        try:
            await self.conn.executemany(sql, args)
        except asyncpg.exceptions.UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from exc


def display_url(url: str) -> str:
    """The URL without its password, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}"))


# --- schema -------------------------------------------------------------------------


async def _connect(url: str, **kwargs: Any) -> Connection:
    try:
        return await asyncpg.connect(url, **kwargs)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise StoreUnavailable(
            f"cannot connect to PostgreSQL at {display_url(url)}: {exc}"
        ) from exc


async def _applied_versions(conn: Connection) -> set[int]:
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return set()
    return {int(row[0]) for row in await conn.fetch("SELECT version FROM schema_migrations")}


def _schema_problem(url: str, applied: set[int]) -> str | None:
    newest = migrations.latest(DIALECT)
    where = f"the PostgreSQL database {display_url(url)}"
    if not applied:
        return f"{where} has no supportd schema: run `supportd migrate --database URL` on it first"
    current = max(applied)
    if current > newest:
        return (
            f"{where} has schema version {current}, newer than this supportd knows "
            f"({newest}): upgrade supportd"
        )
    # Migrations are numbered per area, so one numbered below the newest applied can
    # arrive later (e.g. 0003 after 0006): any missing one needs `migrate`.
    missing = migrations.versions(DIALECT) - applied
    if missing:
        return (
            f"{where} has schema version {current}, this supportd needs {newest}"
            f" (missing: {', '.join(str(v) for v in sorted(missing))}): "
            "run `supportd migrate --database URL` first"
        )
    return None


async def check_schema(url: str) -> None:
    """SchemaError unless the database has exactly this supportd's schema."""
    conn = await _connect(url)
    try:
        problem = _schema_problem(url, await _applied_versions(conn))
    finally:
        await conn.close()
    if problem:
        raise SchemaError(problem)


async def migrate(url: str) -> list[str]:
    """Apply pending migrations in one transaction; the names of those applied.

    Nodes started together may all run this: the advisory lock makes them take turns,
    and each later one finds nothing left to do.
    """
    # Migrations may legitimately run longer than the serving statement timeout.
    conn = await _connect(url, server_settings={"statement_timeout": "0"})
    applied: list[str] = []
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                " name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            done = await _applied_versions(conn)
            current = max(done, default=0)
            newest = migrations.latest(DIALECT)
            if current > newest:
                raise SchemaError(
                    f"database schema version {current} is newer than this supportd ({newest})"
                )
            for version, name, sql in migrations.migrations(DIALECT):
                if version not in done:
                    # Without arguments asyncpg sends the file as one simple query:
                    # several statements are fine.
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        version,
                        name,
                    )
                    applied.append(name)
    finally:
        await conn.close()
    return applied


# --- the store ----------------------------------------------------------------------


class PostgresCore(StoreCore):
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        statement_timeout_ms: int = 30_000,
        max_attempts: int = MAX_ATTEMPTS,
        lazy_commits: bool = False,
    ) -> None:
        self.url = url
        self.lazy_commits = lazy_commits
        self.pool_size = pool_size
        self.statement_timeout_ms = statement_timeout_ms
        self.max_attempts = max_attempts
        self._pool: Any = None

    async def open(self) -> None:
        await check_schema(self.url)
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=min(2, self.pool_size),
                max_size=self.pool_size,
                timeout=CONNECT_TIMEOUT_S,
                reset=_keep_session,
                server_settings=self._session_settings(),
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreUnavailable(
                f"cannot connect to PostgreSQL at {display_url(self.url)}: {exc}"
            ) from exc

    def _session_settings(self) -> dict[str, str]:
        settings = {
            "statement_timeout": str(self.statement_timeout_ms),
            "application_name": "supportd",
        }
        if self.lazy_commits:
            # COMMIT answers before the WAL is flushed (PostgreSQL's asynchronous
            # commit): a crash of PostgreSQL, not of supportd, may forget the last
            # fraction of a second of commits, never half of one. Only for a process
            # whose every write a job redoes when it is forgotten (runtime.open_store).
            settings["synchronous_commit"] = "off"
            settings["application_name"] = "supportd-delivery"
        return settings

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    def usage(self) -> dict[str, int]:
        pool = self._pool
        if pool is None:
            return {"pool_size": 0, "pool_in_use": 0, "pool_max": self.pool_size}
        size = int(pool.get_size())
        return {
            "pool_size": size,
            "pool_in_use": size - int(pool.get_idle_size()),
            "pool_max": int(pool.get_max_size()),
        }

    @property
    def _db(self) -> Any:
        if self._pool is None:
            raise RuntimeError("store is not open")
        return self._pool

    @cached_property
    def blobs(self) -> BlobStore:
        """The file bytes: `blob_chunks` rows in this database, which every node reaches."""
        return PostgresBlobs(self)

    # --- running statements, with retries ----------------------------------------

    async def _backoff(self, attempt: int, exc: BaseException) -> None:
        delay = min(BACKOFF_CAP_S, BACKOFF_S * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
        log.warning(
            "PostgreSQL: %s (%s); attempt %d of %d in %.0f ms",
            type(exc).__name__,
            exc,
            attempt + 1,
            self.max_attempts,
            delay * 1000,
        )
        await asyncio.sleep(delay)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        """A pooled connection, given back however it ends. Giving back a connection that
        broke mid-operation fails too (asyncpg's reset finds it busy, and the pool drops
        it): that failure must neither hide the error that broke it (which decides
        whether to retry) nor undo a success (a COMMIT that was acknowledged)."""
        pool = self._db
        conn = await pool.acquire()
        try:
            yield conn
        except CONNECTION_LOST:
            # Never hand a connection in an unknown state back for reuse: the pool opens
            # a fresh one in its place.
            conn.terminate()
            raise
        finally:
            try:
                await pool.release(conn)
            except Exception as exc:
                log.debug("a broken connection was dropped: %r", exc)

    async def _read_conn(self, fn: Callable[[Connection], Awaitable[T]]) -> T:
        """Run a read; reads change nothing, so any retryable failure is retried."""
        attempt = 1
        while True:
            try:
                async with self._connection() as conn:
                    return await fn(conn)
            except RETRY_TRANSACTION as exc:
                if attempt >= self.max_attempts:
                    raise
                await self._backoff(attempt, exc)
            except CONNECTION_LOST as exc:
                if attempt >= self.max_attempts:
                    raise StoreUnavailable(f"PostgreSQL: {type(exc).__name__}: {exc}") from exc
                await self._backoff(attempt, exc)
            attempt += 1

    async def _write_conn(
        self,
        fn: Callable[[Connection], Awaitable[T]],
        *,
        idempotent: bool = False,
        single_statement: bool = False,
    ) -> T:
        """Run fn in one transaction, retrying only where that cannot apply it twice.

        A failure before COMMIT was sent cannot have committed anything: PostgreSQL
        discards the transaction of a lost connection, and rolls back one it chose as a
        serialization or deadlock victim. A connection lost *during* COMMIT leaves the
        outcome unknown: the write is repeated only if it is idempotent. A
        single_statement fn runs without BEGIN/COMMIT (the statement is its own
        transaction), so a lost connection while it runs is such an unknown outcome.
        """
        attempt = 1
        while True:
            committing = False
            try:
                async with self._connection() as conn:
                    if single_statement:
                        committing = True
                        return await fn(conn)
                    transaction = conn.transaction()
                    await transaction.start()
                    try:
                        result = await fn(conn)
                    except BaseException:
                        await _rollback_quietly(transaction)
                        raise
                    committing = True
                    await transaction.commit()
                    return result
            except RETRY_TRANSACTION as exc:
                if attempt >= self.max_attempts:
                    raise
                await self._backoff(attempt, exc)
            except CONNECTION_LOST as exc:
                if committing and not idempotent:
                    raise  # the outcome is unknown: not "nothing was written"
                if attempt >= self.max_attempts:
                    raise StoreUnavailable(f"PostgreSQL: {type(exc).__name__}: {exc}") from exc
                await self._backoff(attempt, exc)
            attempt += 1

    # --- transaction functions over the shared Tx (see sql.SqlStore) --------------

    async def _read(self, fn: TxFn[T]) -> T:
        return await self._read_conn(lambda conn: fn(PostgresTx(conn)))

    async def _scan(self, fn: TxFn[T]) -> T:
        # Every read runs off the event loop's thread on PostgreSQL (in the server).
        return await self._read_conn(lambda conn: fn(PostgresTx(conn)))

    async def _write(
        self, fn: TxFn[T], *, idempotent: bool = False, single_statement: bool = False
    ) -> T:
        return await self._write_conn(
            lambda conn: fn(PostgresTx(conn)),
            idempotent=idempotent,
            single_statement=single_statement,
        )

    # --- export / import ------------------------------------------------------

    async def is_empty(self) -> bool:
        tables = " AND ".join(f"NOT EXISTS (SELECT 1 FROM {t.name})" for t in exchange.TABLES)

        async def job(conn: Connection) -> bool:
            return bool(await conn.fetchval(f"SELECT {tables}"))

        return await self._read_conn(job)

    async def export_all(self, batch_size: int) -> AsyncIterator[tuple[str, list[ExportRow]]]:
        # One REPEATABLE READ transaction: every batch reads the same snapshot, so an
        # export taken while nodes keep writing is consistent. Not retried: a snapshot
        # cannot be resumed on another connection.
        async with (
            self._db.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            for t in exchange.TABLES:
                sql = (
                    f"SELECT {', '.join(t.columns)} FROM {t.name}"
                    " WHERE seq > $1 ORDER BY seq LIMIT $2"
                )
                after = 0
                while True:
                    rows = await conn.fetch(sql, after, batch_size)
                    if rows:
                        yield t.name, [_exported(t, row) for row in rows]
                    if len(rows) < batch_size:
                        break
                    after = rows[-1][0]

    async def import_rows(self, table: str, rows: Sequence[ExportRow]) -> None:
        t = exchange.table(table)
        records = [tuple(row[c] for c in t.columns) for row in rows]

        async def job(conn: Connection) -> None:
            await conn.copy_records_to_table(t.name, records=records, columns=list(t.columns))

        await self._write_conn(job)

    async def finish_import(self) -> None:
        async def job(conn: Connection) -> None:
            for t in exchange.TABLES:
                # is_called = false on an empty table: the next value is 1.
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{t.name}', 'seq'),"
                    f" COALESCE(MAX(seq), 1), MAX(seq) IS NOT NULL) FROM {t.name}"
                )

        await self._write_conn(job)


def _exported(t: exchange.Table, row: Any) -> ExportRow:
    item = dict(row)
    for column in t.list_columns:
        item[column] = list(item[column])
    return item


async def _keep_session(conn: Connection) -> None:
    """The pool's reset of a connection given back, after asyncpg has rolled back any
    transaction left open on it: nothing more. asyncpg's default sends `SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every release, a
    round trip that cost about 50 us of our CPU and 40 us of the backend's per
    statement run (measured). The store leaves nothing of that kind behind: its advisory
    locks are transaction-scoped, its cursors live inside transactions, it never
    LISTENs or SETs a session variable (the settings are the pool's connect-time
    server_settings, which RESET ALL would restore anyway)."""


async def _rollback_quietly(transaction: Any) -> None:
    # The error that made us roll back is the one worth reporting; a rollback on a
    # broken connection fails too, and the pool discards that connection anyway.
    try:
        await transaction.rollback()
    except Exception as exc:
        log.debug("rollback failed: %s", exc)
