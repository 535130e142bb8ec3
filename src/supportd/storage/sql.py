"""Statements written once for both stores, and what runs them.

Every statement is written in PostgreSQL's form (`$1` placeholders, `= ANY($n)` for a
list parameter, `FOR UPDATE` where a row must be locked, `::casts`) and translated once for
SQLite (`?1`, `IN (SELECT value FROM json_each(?n))`, no row locks: SQLite's single
writer already serialises every write). So a statement that means the same in both
dialects has one text; only what really differs (full-text search, advisory locks, a
data-modifying CTE) is written per dialect, in that dialect's module.

Shared area code runs statements through a `Tx` (a connection inside a transaction, or
a read-only connection) with `async` methods on both stores. On SQLite the methods do
their work at once and never suspend, so the writer thread runs a whole transaction
function with `drive()`; on PostgreSQL they are asyncpg's awaits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine, Sequence
from functools import lru_cache
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
Row = Sequence[Any]

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


class UniqueViolation(Exception):
    """A unique constraint refused a write (either dialect's error, translated)."""


class Tx(Protocol):
    """A connection as area code sees it; rows index by position on both stores."""

    dialect: str

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchval(self, sql: str, *args: Any) -> Any: ...

    async def insert(self, sql: str, *args: Any) -> int:
        """Run a plain one-row INSERT written with `RETURNING seq` (no ON CONFLICT); the
        new row's seq. SQLite reads it from the cursor instead: RETURNING costs it more
        than the rest of the insert's bookkeeping."""
        ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; how many rows it changed."""
        ...

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None: ...

    async def lock(self, scope: str, key: str) -> None:
        """Make transactions that lock the same (scope, key) take turns until this one
        ends (PostgreSQL: an advisory lock; SQLite: its single writer already does)."""
        ...


TxFn = Callable[[Tx], Coroutine[Any, Any, T]]


class SqlStore:
    """What every area mixin needs of a store: three ways to run a transaction
    function, which each dialect's core implements, and the plain reads of records
    made of them."""

    # True where a write, once handed over, commits even if its caller is cancelled
    # (SQLite: the writer thread runs it whatever happens to the awaiting task).
    cancelled_writes_commit = False
    # Leave a change's outbox event unrecorded when no webhook is registered: set by a
    # server whose own settings deliver and name no other channel
    # (domain.notifications.events_need_a_webhook). Off, every change is recorded.
    events_need_a_webhook = False

    async def _read(self, fn: TxFn[T]) -> T:
        """A short, indexed read (a point lookup, one page by an index)."""
        raise NotImplementedError

    async def _scan(self, fn: TxFn[T]) -> T:
        """A read that may visit many rows (search, staff lists, exports): never on
        the event loop's thread."""
        raise NotImplementedError

    async def _write(
        self, fn: TxFn[T], *, idempotent: bool = False, single_statement: bool = False
    ) -> T:
        """fn in one transaction. `idempotent`: safe to run again if the outcome of
        its COMMIT is unknown; `single_statement`: fn runs one statement, which may
        then be its own transaction."""
        raise NotImplementedError

    async def _record(self, to_record: Callable[[Row], T], sql: str, *args: Any) -> T | None:
        """The one row a short read finds, as a record; None if there is none."""
        row = await self._read(lambda tx: tx.fetchrow(sql, *args))
        return to_record(row) if row is not None else None

    async def _records(
        self, to_record: Callable[[Row], T], sql: str, *args: Any, scan: bool = False
    ) -> list[T]:
        """Every row a read finds, as records (`scan`: it may visit many rows)."""
        read = self._scan if scan else self._read
        rows = await read(lambda tx: tx.fetch(sql, *args))
        return [to_record(row) for row in rows]

    async def close(self) -> None:
        """Release the store's connections. An area that keeps work in memory (the
        audit queue) finishes it in its own close() first, then calls super().close()."""
        raise NotImplementedError


class Params:
    """The positional parameters of a statement built clause by clause. Calling it keeps
    a value and answers its `$n`, so placeholders and values cannot drift apart."""

    def __init__(self, *values: Any) -> None:
        self.values: list[Any] = list(values)

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"

    def given(self, *conditions: tuple[str, Any]) -> list[str]:
        """The optional filters of a query: each (condition, value) whose value is not
        None, its `{}` replaced by the value's placeholder; the others left out."""
        return [text.format(self(value)) for text, value in conditions if value is not None]

    def page(self, select: str, where: Sequence[str], order: str, limit: int) -> str:
        """One page of a list: `select` (SELECT ... FROM ...) with every condition of
        `where` (if any), in `order`, at most `limit` rows (a parameter)."""
        conditions = f" WHERE {' AND '.join(where)}" if where else ""
        return f"{select}{conditions} ORDER BY {order} LIMIT {self(limit)}"


def decode_list(value: Any) -> tuple[str, ...]:
    """A list column as stored: JSON text on SQLite, an array on PostgreSQL."""
    if isinstance(value, str):
        return () if value == "[]" else tuple(json.loads(value))
    return tuple(value)


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a transaction function over a SQLite Tx to its end on this thread. Its
    awaits never suspend; one that does is a bug, refused rather than left hanging."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a SQLite transaction function awaited something other than its Tx")


# --- PostgreSQL -> SQLite ------------------------------------------------------------

_LOCK = re.compile(r"\s+FOR\s+(?:NO\s+KEY\s+)?UPDATE(?:\s+OF\s+\w+)?(?:\s+SKIP\s+LOCKED)?")
_ANY = re.compile(r"=\s*ANY\s*\(\s*\$(\d+)(?:::\w+\[\])?\s*\)")
_CAST = re.compile(r"::\w+(?:\[\])?")
_PLACEHOLDER = re.compile(r"\$(\d+)")


_RETURNING_SEQ = " RETURNING seq"


@lru_cache(maxsize=256)
def without_returning_seq(sql: str) -> str:
    """An INSERT ... RETURNING seq without its RETURNING clause."""
    if not sql.rstrip().endswith(_RETURNING_SEQ):
        raise ValueError(f"not an INSERT ... RETURNING seq: {sql!r}")
    return sql.rstrip()[: -len(_RETURNING_SEQ)]


@lru_cache(maxsize=4096)
def for_sqlite(sql: str) -> str:
    """The SQLite text of a statement written in PostgreSQL's form."""
    text = _LOCK.sub("", sql)
    text = _ANY.sub(r"IN (SELECT value FROM json_each(?\1))", text)
    text = _CAST.sub("", text)
    text = _PLACEHOLDER.sub(r"?\1", text)
    return text
