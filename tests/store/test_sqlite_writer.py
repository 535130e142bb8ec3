"""The SQLite writer's group commit: a group runs without savepoints, and a write that
fails is undone alone (its group rolled back and run again with savepoints)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from supportd.storage.sqlite_core import WAL_AUTOCHECKPOINT_PAGES, connect
from supportd.storage.sqlite_writer import Writer

Job = Callable[[sqlite3.Connection], int]


class Boom(Exception):
    pass


def _writer(path: Path) -> Writer:
    setup = connect(path)
    setup.execute("CREATE TABLE t (v INTEGER PRIMARY KEY)")
    setup.close()
    return Writer(lambda: connect(path))


def _insert(value: int, runs: list[int], fail: bool = False) -> Job:
    def job(conn: sqlite3.Connection) -> int:
        runs.append(value)
        conn.execute("INSERT INTO t (v) VALUES (?)", (value,))
        if fail:
            raise Boom(value)
        return value

    return job


async def _one_group(writer: Writer, jobs: list[Job]) -> list[int | BaseException]:
    # Queued before the thread starts, so the writer takes them as one group.
    futures = [writer.submit(job) for job in jobs]
    writer.start()
    try:
        return await asyncio.gather(*futures, return_exceptions=True)
    finally:
        writer.stop()


def _rows(path: Path) -> list[int]:
    conn = connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT v FROM t ORDER BY v")]
    finally:
        conn.close()


async def test_a_clean_group_runs_each_write_once(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = _writer(path)
    runs: list[int] = []
    results = await _one_group(writer, [_insert(v, runs) for v in (1, 2, 3)])
    assert results == [1, 2, 3]
    assert runs == [1, 2, 3]
    assert _rows(path) == [1, 2, 3]


async def test_a_failed_write_is_undone_alone(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = _writer(path)
    runs: list[int] = []
    jobs = [_insert(1, runs), _insert(2, runs, fail=True), _insert(3, runs)]
    results = await _one_group(writer, jobs)
    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], Boom)
    # Row 2 was inserted before its write failed: none of it is left, and the others
    # are committed once each.
    assert _rows(path) == [1, 3]
    # The first run stopped at the failed write; the second ran every write.
    assert runs == [1, 2, 1, 2, 3]


async def test_a_write_alone_in_its_group_fails_without_a_second_run(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = _writer(path)
    runs: list[int] = []
    results = await _one_group(writer, [_insert(7, runs, fail=True)])
    assert isinstance(results[0], Boom)
    assert runs == [7]
    assert _rows(path) == []


async def test_a_constraint_violation_keeps_the_rest_of_the_group(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = _writer(path)
    runs: list[int] = []
    jobs = [_insert(5, runs), _insert(5, runs), _insert(6, runs)]
    results = await _one_group(writer, jobs)
    assert results[0] == 5 and results[2] == 6
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert _rows(path) == [5, 6]


@pytest.mark.parametrize("count", [2, 40])
async def test_every_failing_write_fails_and_nothing_is_kept(tmp_path: Path, count: int) -> None:
    path = tmp_path / "w.db"
    writer = _writer(path)
    runs: list[int] = []
    results = await _one_group(writer, [_insert(v, runs, fail=True) for v in range(count)])
    assert all(isinstance(r, Boom) for r in results)
    assert _rows(path) == []


def test_the_wal_is_copied_back_only_past_its_larger_threshold(tmp_path: Path) -> None:
    """Every connection checkpoints at WAL_AUTOCHECKPOINT_PAGES, not SQLite's 1,000: 1,500
    one-page commits stay in the WAL (with the default it would have been copied back
    and restarted at about 1,000 pages)."""
    path = tmp_path / "wal.db"
    conn = connect(path)
    try:
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WAL_AUTOCHECKPOINT_PAGES
        assert WAL_AUTOCHECKPOINT_PAGES > 1500
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("CREATE TABLE big (v BLOB)")
        for _ in range(1500):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO big (v) VALUES (zeroblob(?))", (page - 200,))
            conn.execute("COMMIT")
        frames = Path(f"{path}-wal").stat().st_size // page
        assert frames > 1500
        # The same commits on a connection with SQLite's default are checkpointed.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA wal_autocheckpoint = 1000")
        for _ in range(1500):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO big (v) VALUES (zeroblob(?))", (page - 200,))
            conn.execute("COMMIT")
        assert Path(f"{path}-wal").stat().st_size // page < 1200
    finally:
        conn.close()
