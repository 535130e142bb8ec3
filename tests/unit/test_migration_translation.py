"""Migrations are written once in PostgreSQL's form; storage.migrations translates their
column types for SQLite, keeping the columns' alignment (SQLite stores the CREATE TABLE
text as written). tests/store/test_schema.py checks the schemas they build; these pin
each rule, and what a shared migration may not hold."""

from __future__ import annotations

import pytest

from supportd.storage import migrations
from supportd.storage.migrations import for_sqlite


@pytest.mark.parametrize(
    ("postgresql", "sqlite"),
    [
        ("    seq  BIGSERIAL PRIMARY KEY,", "    seq  INTEGER PRIMARY KEY AUTOINCREMENT,"),
        ("    at   BIGINT  NOT NULL,", "    at   INTEGER NOT NULL,"),
        ("    at   BIGINT,", "    at   INTEGER,"),
        ("    at   BIGINT\n", "    at   INTEGER\n"),
        ("    seq  BIGINT PRIMARY KEY", "    seq  INTEGER PRIMARY KEY"),  # one space at least
        ("    ok   BOOLEAN NOT NULL", "    ok   INTEGER NOT NULL"),
        ("    cc   TEXT[]  NOT NULL", "    cc   TEXT    NOT NULL"),
        ("    p    JSONB   NOT NULL", "    p    TEXT    NOT NULL"),
        ("    tps  DOUBLE PRECISION,", "    tps  REAL,"),
        ("    data BYTEA   NOT NULL", "    data BLOB    NOT NULL"),
        ("    n    INTEGER NOT NULL", "    n    INTEGER NOT NULL"),
        ("    big_id TEXT NOT NULL", "    big_id TEXT NOT NULL"),  # a name is not a type
        ("CREATE INDEX i ON t (lower(email));", "CREATE INDEX i ON t (lower(email));"),
    ],
)
def test_each_type_rule(postgresql: str, sqlite: str) -> None:
    assert for_sqlite(postgresql) == sqlite


@pytest.mark.parametrize(
    "postgresql",
    [
        "CREATE TABLE t (at TIMESTAMPTZ NOT NULL);",
        'CREATE TABLE t (k TEXT COLLATE "C" NOT NULL);',
        "ALTER TABLE t ADD COLUMN v tsvector GENERATED ALWAYS AS (to_tsvector(b)) STORED;",
        "CREATE INDEX i ON t USING gin (v);",
        "INSERT INTO t (p) VALUES ('{}'::jsonb);",
    ],
)
def test_what_has_no_translation_is_refused(postgresql: str) -> None:
    with pytest.raises(ValueError, match="no SQLite translation"):
        for_sqlite(postgresql)


def test_a_refused_word_in_a_comment_is_fine() -> None:
    assert for_sqlite('-- sorted COLLATE "C" on PostgreSQL\nSELECT 1;') == (
        '-- sorted COLLATE "C" on PostgreSQL\nSELECT 1;'
    )


@pytest.mark.parametrize("dialect", [migrations.SQLITE, migrations.POSTGRESQL])
def test_each_dialect_has_every_version_once_under_its_shared_name(dialect: str) -> None:
    found = migrations.migrations(dialect)
    assert [name for _, name, _ in found] == [
        "0001_core.sql",
        "0002_accounts.sql",
        "0003_attachments.sql",
        "0004_staff.sql",
        "0005_advisor.sql",
        "0006_jobs.sql",
        "0007_web.sql",
        "0008_outbox.sql",
        "0010_console.sql",
        "0011_queue_index.sql",
        "0012_open_cases_without_clock.sql",
        "0013_search_windows.sql",
    ]


def test_each_dialect_gets_its_own_part_of_a_version() -> None:
    sqlite = dict((v, sql) for v, _, sql in migrations.migrations(migrations.SQLITE))
    postgresql = dict((v, sql) for v, _, sql in migrations.migrations(migrations.POSTGRESQL))
    assert "USING fts5" in sqlite[4] and "USING fts5" not in postgresql[4]
    assert "tsvector" in postgresql[4] and "tsvector" not in sqlite[4]
    assert "blob_chunks" in postgresql[3] and "CREATE TABLE blob_chunks" not in sqlite[3]
    for sql in sqlite.values():
        assert "BIGINT" not in sql and "BIGSERIAL" not in sql and "TEXT[]" not in sql


def test_a_version_may_be_one_dialects_alone() -> None:
    shared = {1: ("0001_core.sql", "CREATE TABLE t (at BIGINT);")}
    own = {1: ("0001_core.sql", "CREATE INDEX i ON t (at);"), 2: ("0002_fts.sql", "SELECT 2;")}
    assert migrations.combine(migrations.SQLITE, shared, own) == (
        (1, "0001_core.sql", "CREATE TABLE t (at INTEGER);\nCREATE INDEX i ON t (at);"),
        (2, "0002_fts.sql", "SELECT 2;"),
    )
    assert migrations.combine(migrations.POSTGRESQL, shared, {}) == (
        (1, "0001_core.sql", "CREATE TABLE t (at BIGINT);"),
    )


def test_a_dialects_file_must_bear_the_shared_files_name() -> None:
    shared = {1: ("0001_core.sql", "SELECT 1;")}
    with pytest.raises(ValueError, match=r"postgresql/0001_other.sql does not match"):
        migrations.combine(migrations.POSTGRESQL, shared, {1: ("0001_other.sql", "SELECT 1;")})
