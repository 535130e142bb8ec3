"""storage/schema.py declares every table once; the migrations of each dialect must build
exactly that. A fresh database of each dialect is migrated and read back (tables,
columns in order, their types, nullability, primary and foreign keys) and compared with
the declaration; a declaration that differs is reported, one line per difference."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from supportd.domain.accounts import AccessKey, AuditEntry
from supportd.domain.advisor import CheckResult
from supportd.domain.attachments import AttachmentRecord
from supportd.domain.records import CaseRecord, CommunicationRecord
from supportd.storage import advisor, exchange, rows, schema
from supportd.storage.postgres import migrate as migrate_postgres
from supportd.storage.schema import BIGINT, INT, TEXT_LIST, Column, Table
from supportd.storage.sql import POSTGRESQL, SQLITE
from supportd.storage.sqlite import migrate as migrate_sqlite
from tests.support.postgres import ThrowawayDatabases


@dataclasses.dataclass(frozen=True, slots=True)
class Found:
    """A column as the migrated database describes it."""

    name: str
    sql_type: str
    nullable: bool
    primary_key: bool
    references: str | None  # "table.column"


Database = dict[str, tuple[Found, ...]]

# Beside the declared tables each dialect keeps storage of its own, which the comparison
# passes over: the record of applied migrations, and the machinery of full-text search
# (SQLite: FTS5 tables, left out by their kind, and search_progress; PostgreSQL: stored
# tsvector columns).
OWN_TABLES = {SQLITE: {"schema_migrations", "search_progress"}, POSTGRESQL: {"schema_migrations"}}
OWN_COLUMNS = {
    SQLITE: set[tuple[str, str]](),
    POSTGRESQL: {("cases", "subject_tsv"), ("communications", "body_tsv")},
}


def describe_sqlite(path: Path) -> Database:
    conn = sqlite3.connect(path)
    try:
        names = [
            row[1]
            for row in conn.execute("PRAGMA main.table_list")
            if row[2] == "table" and not row[1].startswith("sqlite_")
        ]
        found: Database = {}
        for name in names:
            # (id, seq, table, from, to, ...): single-column foreign keys only.
            fks = {r[3]: f"{r[2]}.{r[4]}" for r in conn.execute(f"PRAGMA foreign_key_list({name})")}
            columns = []
            for _, column, sql_type, notnull, _, pk in conn.execute(f"PRAGMA table_info({name})"):
                # An INTEGER PRIMARY KEY is the rowid: never NULL, though not declared so.
                rowid = bool(pk) and sql_type.upper() == "INTEGER"
                columns.append(
                    Found(column, sql_type, not notnull and not rowid, bool(pk), fks.get(column))
                )
            found[name] = tuple(columns)
        return found
    finally:
        conn.close()


DESCRIBE_POSTGRESQL = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       EXISTS (SELECT 1 FROM pg_constraint p
               WHERE p.conrelid = c.oid AND p.contype = 'p' AND a.attnum = ANY (p.conkey)),
       (SELECT t.relname || '.' || ta.attname
        FROM pg_constraint f
        JOIN pg_class t ON t.oid = f.confrelid
        JOIN pg_attribute ta ON ta.attrelid = f.confrelid AND ta.attnum = f.confkey[1]
        WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.conkey = ARRAY[a.attnum])
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""


async def describe_postgresql(url: str) -> Database:
    conn = await asyncpg.connect(url)
    try:
        records = await conn.fetch(DESCRIBE_POSTGRESQL)
    finally:
        await conn.close()
    found: dict[str, list[Found]] = {}
    for table, *column in records:
        found.setdefault(table, []).append(Found(*column))
    return {name: tuple(columns) for name, columns in found.items()}


def differences(
    dialect: str, found: Database, declared: tuple[Table, ...] = schema.TABLES
) -> list[str]:
    """Where the migrated database `found` differs from the declaration, one line each."""
    wanted = {t.name: t for t in declared if dialect in t.dialects}
    problems = [
        f"{dialect}: table {name} is declared but the migrations do not create it"
        for name in wanted
        if name not in found
    ]
    problems += [
        f"{dialect}: table {name} is created by the migrations but not declared"
        for name in found
        if name not in wanted and name not in OWN_TABLES[dialect]
    ]
    for name, table in wanted.items():
        if name in found:
            problems += _column_differences(dialect, table, found[name])
    return problems


def _column_differences(dialect: str, table: Table, found: tuple[Found, ...]) -> list[str]:
    where = f"{dialect}: {table.name}:"
    actual = {c.name: c for c in found if (table.name, c.name) not in OWN_COLUMNS[dialect]}
    problems = [
        f"{where} column {name} is declared but the migrations do not create it"
        for name in table.names
        if name not in actual
    ]
    problems += [
        f"{where} column {name} is created by the migrations but not declared"
        for name in actual
        if name not in table.names
    ]
    in_database = [name for name in actual if name in table.names]
    in_declaration = [name for name in table.names if name in actual]
    if in_database != in_declaration:
        problems.append(
            f"{where} columns in the order ({', '.join(in_database)}),"
            f" declared ({', '.join(in_declaration)})"
        )
    for column in table.columns:
        if column.name not in actual:
            continue
        has = actual[column.name]
        expected = schema.SQL_TYPES[dialect][column.type]
        what = f"{where} column {column.name}: declared"
        if has.sql_type.lower() != expected.lower():
            problems.append(
                f"{what} {column.type.value} ({expected} on {dialect}), the migrated"
                f" database has {has.sql_type}"
            )
        if has.nullable != column.nullable:
            problems.append(
                f"{what} {_nullability(column.nullable)}, the migrated database has"
                f" {_nullability(has.nullable)}"
            )
        if has.primary_key != column.primary_key:
            problems.append(
                f"{what} {_key(column.primary_key)}, the migrated database has"
                f" {_key(has.primary_key)}"
            )
        if has.references != column.references:
            problems.append(
                f"{what} {_reference(column.references)}, the migrated database has"
                f" {_reference(has.references)}"
            )
    return problems


def _nullability(nullable: bool) -> str:
    return "NULL allowed" if nullable else "NOT NULL"


def _key(primary: bool) -> str:
    return "part of the primary key" if primary else "not part of the primary key"


def _reference(references: str | None) -> str:
    return f"REFERENCES {references}" if references else "no foreign key"


@pytest.fixture(scope="module")
def migrated(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A freshly migrated database of each dialect, as it describes itself."""
    if store_kind == SQLITE:
        path = tmp_path_factory.mktemp("schema") / "supportd.db"
        assert migrate_sqlite(path)
        yield describe_sqlite(path)
        return
    databases: ThrowawayDatabases = request.getfixturevalue("postgres_databases")
    url = databases.new_empty_database()
    assert asyncio.run(migrate_postgres(url))
    yield asyncio.run(describe_postgresql(url))


def test_the_migrated_database_matches_the_declaration(store_kind: str, migrated: Database) -> None:
    assert differences(store_kind, migrated) == []
    # What "matches" means for the columns the dialects store differently.
    is_open = migrated["cases"][schema.CASES.names.index("is_open")]
    cc_emails = migrated["cases"][schema.CASES.names.index("cc_emails")]
    payload = migrated["jobs"][schema.JOBS.names.index("payload")]
    if store_kind == SQLITE:
        assert (is_open.sql_type, cc_emails.sql_type, payload.sql_type) == (
            "INTEGER",
            "TEXT",
            "TEXT",
        )
        assert "blob_chunks" not in migrated  # the files are files
    else:
        assert (is_open.sql_type, cc_emails.sql_type, payload.sql_type) == (
            "boolean",
            "text[]",
            "jsonb",
        )
        assert [c.name for c in migrated["cases"]][-1] == "subject_tsv"  # search, passed over
    assert migrated["support_replies"][0] == Found(
        "seq", schema.SQL_TYPES[store_kind][BIGINT], False, True, "communications.seq"
    )


def _replaced(table: Table, **changes: Any) -> tuple[Table, ...]:
    """The declaration with one table changed."""
    changed = dataclasses.replace(table, **changes)
    return tuple(changed if t.name == table.name else t for t in schema.TABLES)


def _retyped(table: Table, name: str, **changes: Any) -> tuple[Table, ...]:
    """The declaration with one column changed."""
    columns = tuple(
        dataclasses.replace(c, **changes) if c.name == name else c for c in table.columns
    )
    return _replaced(table, columns=columns)


# (what differs, the declaration, the report: {} stands for the dialect).
MISMATCHES: list[tuple[str, tuple[Table, ...], dict[str, list[str]]]] = [
    (
        "an extra column",
        _replaced(schema.CASES, columns=(*schema.CASES.columns, Column("priority", INT))),
        {
            dialect: [
                f"{dialect}: cases: column priority is declared but the migrations do not create it"
            ]
            for dialect in (SQLITE, POSTGRESQL)
        },
    ),
    (
        "a column missing",
        _replaced(schema.STAFF, columns=schema.STAFF.columns[:-1]),
        {
            dialect: [
                f"{dialect}: staff: column disabled_ms is created by the migrations but not"
                " declared"
            ]
            for dialect in (SQLITE, POSTGRESQL)
        },
    ),
    (
        "a wrong type",
        _retyped(schema.UPLOAD_PARTS, "completed", type=TEXT_LIST),
        {
            SQLITE: [
                "sqlite: upload_parts: column completed: declared list-of-text (TEXT on"
                " sqlite), the migrated database has INTEGER"
            ],
            POSTGRESQL: [
                "postgresql: upload_parts: column completed: declared list-of-text (text[] on"
                " postgresql), the migrated database has boolean"
            ],
        },
    ),
    (
        "a wrong width",
        _retyped(schema.ACCOUNTS, "created_ms", type=INT),
        {
            SQLITE: [],  # SQLite's INTEGER holds 64 bits: nothing to tell apart
            POSTGRESQL: [
                "postgresql: accounts: column created_ms: declared int (integer on"
                " postgresql), the migrated database has bigint"
            ],
        },
    ),
    (
        "a wrong nullability",
        _retyped(schema.CASE_EVENTS, "to_status", nullable=True),
        {
            dialect: [
                f"{dialect}: case_events: column to_status: declared NULL allowed, the"
                " migrated database has NOT NULL"
            ]
            for dialect in (SQLITE, POSTGRESQL)
        },
    ),
    (
        "a wrong foreign key",
        _retyped(schema.COMMUNICATIONS, "case_seq", references="staff.seq"),
        {
            dialect: [
                f"{dialect}: communications: column case_seq: declared REFERENCES staff.seq,"
                " the migrated database has REFERENCES cases.seq"
            ]
            for dialect in (SQLITE, POSTGRESQL)
        },
    ),
    (
        "columns out of order",
        _replaced(schema.SUPPORT_REPLIES, columns=tuple(reversed(schema.SUPPORT_REPLIES.columns))),
        {
            dialect: [
                f"{dialect}: support_replies: columns in the order (seq, staff_name),"
                " declared (staff_name, seq)"
            ]
            for dialect in (SQLITE, POSTGRESQL)
        },
    ),
    (
        "tables missing and undeclared",
        (
            *(t for t in schema.TABLES if t.name != "jobs"),
            Table("widgets", (Column("seq", BIGINT, primary_key=True),)),
        ),
        {
            dialect: [
                f"{dialect}: table widgets is declared but the migrations do not create it",
                f"{dialect}: table jobs is created by the migrations but not declared",
            ]
            for dialect in (SQLITE, POSTGRESQL)
        },
    ),
]


@pytest.mark.parametrize(
    ("declared", "report"), [m[1:] for m in MISMATCHES], ids=[m[0] for m in MISMATCHES]
)
def test_a_declaration_that_differs_is_reported(
    store_kind: str, migrated: Database, declared: tuple[Table, ...], report: dict[str, list[str]]
) -> None:
    assert differences(store_kind, migrated, declared) == report[store_kind]


def test_the_declaration_is_in_foreign_key_order() -> None:
    position = {t.name: index for index, t in enumerate(schema.TABLES)}
    for index, table in enumerate(schema.TABLES):
        for column in table.columns:
            if column.references is None:
                continue
            target, key = column.references.split(".")
            assert position[target] < index, f"{table.name}.{column.name} -> {target}"
            assert key in schema.TABLES[position[target]].names
            if table.exported:
                assert schema.TABLES[position[target]].exported
    assert [t.name for t in exchange.TABLES] == [t.name for t in schema.TABLES if t.exported]
    assert exchange.table("cases").bool_columns == {"is_open"}
    assert exchange.table("cases").list_columns == {"cc_emails"}
    assert exchange.table("upload_parts").bool_columns == {"completed"}


def _selected(select_list: str, tables: dict[str, Table]) -> list[Column]:
    """The declared columns of a select list ("a.x, b.y" or "x, y"), by alias."""
    columns = []
    for item in select_list.split(","):
        alias, _, name = item.strip().rpartition(".")
        columns.append(tables[alias].column(name))
    return columns


@pytest.mark.parametrize(
    ("record", "select_list", "tables"),
    [
        (CaseRecord, rows.CASE_COLUMNS, {"": schema.CASES}),
        (
            CommunicationRecord,
            rows.COMMUNICATION_COLUMNS,
            {"m": schema.COMMUNICATIONS, "c": schema.CASES},
        ),
        (AccessKey, rows.KEY_COLUMNS, {"": schema.ACCESS_KEYS}),
        (AttachmentRecord, rows.ATTACHMENT_COLUMNS, {"": schema.ATTACHMENTS}),
        (AuditEntry, rows.AUDIT_COLUMNS + ", seq", {"": schema.AUDIT_EVENTS}),
    ],
    ids=["case", "communication", "access-key", "attachment", "audit-entry"],
)
def test_records_line_up_with_the_selected_columns(
    record: type, select_list: str, tables: dict[str, Table]
) -> None:
    """rows.py maps by position: each record's fields are the columns it is read from, in
    order, optional exactly where the declaration allows NULL."""
    columns = _selected(select_list, tables)
    # Records are frozen dataclasses or msgspec Structs (those read by the hundred).
    names = getattr(record, "__struct_fields__", None) or [
        f.name for f in dataclasses.fields(record)
    ]
    assert list(names) == [c.name for c in columns]
    hints = typing.get_type_hints(record)
    optional = [type(None) in typing.get_args(hints[name]) for name in names]
    assert optional == [c.nullable for c in columns]


def test_advisor_summaries_line_up_with_check_results() -> None:
    """storage.advisor reads a summary by position and writes a result by field name: the
    summary columns are CheckResult's fields in order, all but `flagged` (stored as the
    last column written, flagged_resources)."""
    fields = [f.name for f in dataclasses.fields(CheckResult)]
    assert fields[-1] == "flagged"
    assert advisor.SUMMARY_COLUMNS.split(", ") == fields[:-1]
    assert advisor.UPSERT_RESULT_SQL.count("$") == len(fields)
