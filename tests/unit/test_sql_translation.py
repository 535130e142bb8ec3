"""Statements are written once in PostgreSQL's form; storage.sql translates them for
SQLite. Every SQLite test runs the translations; these pin each rule on its own."""

from __future__ import annotations

import sqlite3

import pytest

from supportd.storage.sql import for_sqlite, without_returning_seq


@pytest.mark.parametrize(
    ("postgresql", "sqlite"),
    [
        ("WHERE b = $1 AND c = $2", "WHERE b = ?1 AND c = ?2"),
        (
            "WHERE b = $2 OR c = $1 OR d = $2",
            "WHERE b = ?2 OR c = ?1 OR d = ?2",
        ),
        (
            "WHERE b = ANY($1::text[])",
            "WHERE b IN (SELECT value FROM json_each(?1))",
        ),
        (
            "WHERE b = ANY( $3 )",
            "WHERE b IN (SELECT value FROM json_each(?3))",
        ),
        ("WHERE b = $1 FOR UPDATE", "WHERE b = ?1"),
        ("SELECT a FROM t LIMIT $1 FOR UPDATE SKIP LOCKED", "SELECT a FROM t LIMIT ?1"),
        (
            "WHERE b = $1 FOR UPDATE OF c SKIP LOCKED",
            "WHERE b = ?1",
        ),
        ("INSERT INTO t (p) VALUES ($1::jsonb)", "INSERT INTO t (p) VALUES (?1)"),
        ("SELECT payload::text FROM t", "SELECT payload FROM t"),
        ("SELECT 1 FROM t", "SELECT 1 FROM t"),  # nothing to translate
    ],
)
def test_each_rule(postgresql: str, sqlite: str) -> None:
    assert for_sqlite(postgresql) == sqlite


def test_a_translated_list_parameter_binds_json_text_on_sqlite() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (b TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [("x",), ("y",), ("z",)])
    sql = for_sqlite("SELECT b FROM t WHERE b = ANY($1::text[]) ORDER BY b")
    assert conn.execute(sql, ('["x", "z"]',)).fetchall() == [("x",), ("z",)]


def test_returning_seq_is_dropped_only_where_it_ends_an_insert() -> None:
    assert without_returning_seq("INSERT INTO t (a) VALUES ($1) RETURNING seq") == (
        "INSERT INTO t (a) VALUES ($1)"
    )
    with pytest.raises(ValueError, match=r"not an INSERT \.\.\. RETURNING seq"):
        without_returning_seq("INSERT INTO t (a) VALUES ($1) RETURNING seq, a")
