"""Numbered SQL migrations, one folder per dialect: NNNN_name.sql."""

from __future__ import annotations

from importlib import resources


def migrations(dialect: str) -> list[tuple[int, str, str]]:
    """(version, name, sql) for a dialect, in order."""
    folder = resources.files(__package__).joinpath(dialect)
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text("utf-8")))
    found.sort()
    return found


def latest(dialect: str) -> int:
    return migrations(dialect)[-1][0]


def versions(dialect: str) -> set[int]:
    return {version for version, _, _ in migrations(dialect)}
