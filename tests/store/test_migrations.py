"""Migrations are numbered per area (0002 accounts, 0003 attachments, ... 0006 jobs) and
areas land in any order: a migration numbered below the newest applied one is still
applied, and `serve` refuses a database that lacks one."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from supportd.storage import migrations
from supportd.storage.base import SchemaError
from supportd.storage.postgres import check_schema
from supportd.storage.postgres import migrate as migrate_postgres
from supportd.storage.sqlite import migrate as migrate_sqlite
from tests.support.postgres import ThrowawayDatabases


def _middle(dialect: str) -> tuple[int, str]:
    """A migration below the newest, to pretend it arrived late."""
    found = migrations.migrations(dialect)
    assert len(found) >= 2
    version, name, _ = found[-2]
    return version, name


def _apply_sqlite(conn: sqlite3.Connection, wanted: Callable[[int], bool]) -> None:
    """A database as an older supportd left it: the migrations `wanted` picks, recorded."""
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT)")
    for v, n, sql in migrations.migrations("sqlite"):
        if wanted(v):
            conn.executescript(sql)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (v, n))
    conn.commit()


async def _apply_postgresql(conn: asyncpg.Connection, wanted: Callable[[int], bool]) -> None:
    """The same on PostgreSQL."""
    await conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    for v, n, sql in migrations.migrations("postgresql"):
        if wanted(v):
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations VALUES ($1, $2)", v, n)


def test_sqlite_applies_a_migration_numbered_below_the_newest(tmp_path: Path) -> None:
    path = tmp_path / "supportd.db"
    fresh = tmp_path / "fresh.db"
    migrate_sqlite(fresh)
    version, name = _middle("sqlite")
    # A database made before this migration existed: every other one applied.
    conn = sqlite3.connect(path)
    _apply_sqlite(conn, lambda v: v != version)
    conn.close()
    assert migrate_sqlite(path) == [name]
    assert migrate_sqlite(path) == []

    def tables(p: Path) -> set[str]:
        conn = sqlite3.connect(p)
        try:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()

    assert tables(path) == tables(fresh)


@pytest.fixture
def empty_url(postgres_databases: ThrowawayDatabases) -> str:
    return postgres_databases.new_empty_database()


def test_postgresql_refuses_then_applies_a_missing_migration(empty_url: str) -> None:
    version, name = _middle("postgresql")

    async def scenario() -> None:
        conn = await asyncpg.connect(empty_url)
        try:
            await _apply_postgresql(conn, lambda v: v != version)
        finally:
            await conn.close()
        with pytest.raises(SchemaError, match=rf"missing: {version}\): run `supportd migrate"):
            await check_schema(empty_url)
        assert await migrate_postgres(empty_url) == [name]
        await check_schema(empty_url)

    asyncio.run(scenario())


# Cases as migration 0012 finds them: (seq, is_open, sla_due_ms, sla_remaining_ms).
BEFORE_0012 = [
    (1, True, None, None),
    (2, True, 5, None),
    (3, True, None, 7),
    (4, False, None, None),
]
CASE_SQL = (
    "INSERT INTO cases (seq, case_id, account_id, subject, severity_code, status, is_open,"
    " language, issue_type, submitted_by, cc_emails, created_ms)"
    " VALUES ($1, $4, '111122223333', 's', 'low', 'opened', $2, 'en',"
    " 'technical', 'x', $3, 0)"
)
WORK_SQL = "INSERT INTO case_work (seq, sla_due_ms, sla_remaining_ms) VALUES ($1, $2, $3)"


def _sqlite(sql: str) -> str:
    return re.sub(r"\$(\d)", r"?\1", sql)


def test_sqlite_0012_fills_open_cases_without_clock_from_the_cases_there(tmp_path: Path) -> None:
    path = tmp_path / "supportd.db"
    conn = sqlite3.connect(path)
    _apply_sqlite(conn, lambda v: v < 12)
    for seq, is_open, due, remaining in BEFORE_0012:
        conn.execute(_sqlite(CASE_SQL), (seq, is_open, "[]", f"case-{seq}"))
        conn.execute(_sqlite(WORK_SQL), (seq, due, remaining))
    conn.commit()
    conn.close()
    assert "0012_open_cases_without_clock.sql" in migrate_sqlite(path)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT seq FROM open_cases_without_clock").fetchall() == [(1,)]
    finally:
        conn.close()


def test_postgresql_0012_fills_open_cases_without_clock_from_the_cases_there(
    empty_url: str,
) -> None:
    async def scenario() -> list[int]:
        conn = await asyncpg.connect(empty_url)
        try:
            await _apply_postgresql(conn, lambda v: v < 12)
            for seq, is_open, due, remaining in BEFORE_0012:
                await conn.execute(CASE_SQL, seq, is_open, [], f"case-{seq}")
                await conn.execute(WORK_SQL, seq, due, remaining)
        finally:
            await conn.close()
        assert "0012_open_cases_without_clock.sql" in await migrate_postgres(empty_url)
        conn = await asyncpg.connect(empty_url)
        try:
            return [r[0] for r in await conn.fetch("SELECT seq FROM open_cases_without_clock")]
        finally:
            await conn.close()

    assert asyncio.run(scenario()) == [1]
