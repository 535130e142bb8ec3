"""Numbered SQL migrations: NNNN_name.sql, written once for both dialects.

A migration's shared file is written in PostgreSQL's form and translated for SQLite by
`for_sqlite` (column types only). What really differs per dialect (full-text search,
where file bytes live, a constraint only one store needs) is in `<dialect>/NNNN_name.sql`,
run after the shared file of the same version. Only versions are recorded, never a
checksum, so how a migration is written may change as long as it builds the same schema
(tests/store/test_schema.py).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from supportd.storage.schema import SQL_TYPES
from supportd.storage.sql import POSTGRESQL, SQLITE

__all__ = ["POSTGRESQL", "SQLITE", "combine", "for_sqlite", "latest", "migrations", "versions"]

# PostgreSQL column types and SQLite's for the same logical type (schema.SQL_TYPES).
# SQLite keeps the CREATE TABLE text as written (sqlite_master), so a translated type
# keeps the width of the original where it can: columns aligned in the shared file stay
# aligned, and a new database holds the same text as those migrated before the
# migrations were shared.
_TYPES = {
    "BIGSERIAL PRIMARY KEY": "INTEGER PRIMARY KEY AUTOINCREMENT",
    **{
        postgresql.upper(): SQL_TYPES[SQLITE][logical]
        for logical, postgresql in SQL_TYPES[POSTGRESQL].items()
        if postgresql.upper() != SQL_TYPES[SQLITE][logical]
    },
}
_TYPE = re.compile(r"(?<![\w\[])(" + "|".join(re.escape(t) for t in _TYPES) + r")(?![\w\[])( *)")
# What a shared file must not hold, because no rule translates it: it belongs in the
# dialect's own file.
_POSTGRESQL_ONLY = re.compile(
    r"\b(?:TIMESTAMPTZ|TSVECTOR|SERIAL|JSON|COLLATE|GENERATED|USING\s+GIN)\b|::",
    re.IGNORECASE,
)


def for_sqlite(sql: str) -> str:
    """The SQLite text of a shared migration written in PostgreSQL's form."""
    unknown = _POSTGRESQL_ONLY.search(_without_comments(sql))
    if unknown:
        raise ValueError(
            f"{unknown.group(0)!r} has no SQLite translation: write it in each dialect's file"
        )

    def translate(found: re.Match[str]) -> str:
        new = _TYPES[found.group(1)]
        spaces = found.group(2)
        if not spaces:
            return new
        return new + " " * max(len(found.group(0)) - len(new), 1)

    return _TYPE.sub(translate, sql)


def _without_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def _files(folder: Traversable) -> dict[int, tuple[str, str]]:
    found: dict[int, tuple[str, str]] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found[int(entry.name.split("_", 1)[0])] = (entry.name, entry.read_text("utf-8"))
    return found


Migration = tuple[int, str, str]  # (version, file name, SQL)


@cache
def migrations(dialect: str) -> tuple[Migration, ...]:
    """(version, name, sql) for a dialect, in order."""
    root = resources.files(__package__)
    return combine(dialect, _files(root), _files(root.joinpath(dialect)))


def combine(
    dialect: str, shared: dict[int, tuple[str, str]], own: dict[int, tuple[str, str]]
) -> tuple[Migration, ...]:
    """Each version's shared file (translated for SQLite) followed by the dialect's own
    file of the same name; a version may have only one of the two."""
    found = []
    for version in sorted(shared.keys() | own.keys()):
        name, sql = shared.get(version, ("", ""))
        if dialect == SQLITE:
            sql = for_sqlite(sql)
        if version in own:
            own_name, own_sql = own[version]
            if name and own_name != name:
                raise ValueError(f"{dialect}/{own_name} does not match the shared {name}")
            name, sql = own_name, f"{sql}\n{own_sql}" if sql else own_sql
        found.append((version, name, sql))
    return tuple(found)


def latest(dialect: str) -> int:
    return migrations(dialect)[-1][0]


def versions(dialect: str) -> set[int]:
    return {version for version, _, _ in migrations(dialect)}
