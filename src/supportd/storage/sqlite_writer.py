"""One writer thread per process, committing queued writes in groups.

SQLite allows one writer at a time. Funnelling every write of this process through one
thread, and committing whatever has queued up in one transaction, turns many small
fsync-bound commits into few: the reason CreateCase scales past a few hundred per
second. A group runs without savepoints; only when one of its writes fails is it rolled
back and run again with a savepoint per write, so that the failed write alone is undone.
Other processes on the same file wait on the database lock (BEGIN IMMEDIATE with a busy
timeout). A write's future resolves only after COMMIT, so an acknowledged write survives
the process being killed.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from supportd.storage.errors import StoreFull

T = TypeVar("T")
Job = tuple[Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]

MAX_GROUP = 256


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    elif isinstance(value, sqlite3.Error) and value.sqlite_errorcode == sqlite3.SQLITE_FULL:
        # The write (its savepoint, or the whole group) was rolled back: the database is
        # intact, and takes writes again once the disk has room.
        full = StoreFull("the disk of the SQLite store is full")
        full.__cause__ = value
        future.set_exception(full)
    else:
        future.set_exception(value)


def _settle_all(settled: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in settled:
        _settle(future, ok, value)


class Writer:
    """The writer thread and its queue. Writes submitted during one turn of an event
    loop are handed over together at its end (one queue put, one wake-up of the thread,
    instead of one per write)."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._queue: queue.SimpleQueue[list[Job] | None] = queue.SimpleQueue()
        # Per event loop (each touches only its own), writes not yet handed over.
        self._pending: dict[asyncio.AbstractEventLoop, list[Job]] = {}
        # Written by one thread each (hand-overs on the loop, takes on the writer).
        self._handed = 0
        self._taken = 0
        self._thread = threading.Thread(
            target=self._run, name="supportd-sqlite-writer", daemon=True
        )
        self._started = False

    def start(self) -> None:
        self._thread.start()
        self._started = True

    def stop(self) -> None:
        if self._started:
            for loop in list(self._pending):
                self._hand_over(loop)
            self._queue.put(None)
            self._thread.join()
            self._started = False

    def depth(self) -> int:
        """Writes handed to the writer thread and not yet taken by it."""
        return max(0, self._handed - self._taken)

    def submit(self, job: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._hand_over, loop)
        pending.append((job, future, loop))
        return future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._pending.pop(loop, None)
        if batch:
            self._handed += len(batch)
            self._queue.put(batch)

    def _run(self) -> None:
        conn = self._connect()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                group = list(first)
                stopping = False
                while len(group) < MAX_GROUP:
                    try:
                        batch = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if batch is None:
                        stopping = True
                        break
                    group.extend(batch)
                self._taken += len(group)
                self._commit(conn, group)
                if stopping:
                    return
        finally:
            conn.close()

    def _commit(self, conn: sqlite3.Connection, group: list[Job]) -> None:
        outcomes = self._run_group(conn, group, savepoints=False)
        if outcomes is None:
            # A write failed: nothing of the group was kept. Run it again with a savepoint
            # per write, so the failed one is undone alone. Running a write again is safe:
            # a transaction function touches nothing but its connection, as PostgreSQL's
            # store already requires (it reruns one whose transaction was rolled back).
            outcomes = self._run_group(conn, group, savepoints=True)
        assert outcomes is not None
        # One wake-up of each waiting loop per group, not one per write: every
        # call_soon_threadsafe writes to the loop's self-pipe.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (_, future, loop), (ok, value) in zip(group, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((future, ok, value))
        for loop, settled in by_loop.items():
            loop.call_soon_threadsafe(_settle_all, settled)

    def _run_group(
        self, conn: sqlite3.Connection, group: list[Job], *, savepoints: bool
    ) -> list[tuple[bool, Any]] | None:
        """Every write of the group in one transaction; their outcomes. Without
        savepoints (the common case: two statements fewer per write), the first write
        that fails rolls the whole group back and the answer is None (unless it was the
        group's only write)."""
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job, _, _ in group:
                if not savepoints:
                    try:
                        outcomes.append((True, job(conn)))
                    except Exception as exc:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                        # Alone in its group, the write needs no second run.
                        return [(False, exc)] if len(group) == 1 else None
                    continue
                conn.execute("SAVEPOINT job")
                try:
                    outcomes.append((True, job(conn)))
                    conn.execute("RELEASE job")
                except Exception as exc:  # the job's own error, reported to its caller
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append((False, exc))
            conn.execute("COMMIT")
        except Exception as exc:  # the group could not commit: every job fails
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(False, exc)] * len(group)
        return outcomes
