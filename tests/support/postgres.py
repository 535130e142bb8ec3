"""Throwaway PostgreSQL databases for a test session.

A session creates one database of its own (supportd_test_<random>) and migrates it with
`supportd migrate --database`, exactly as an operator would. That database is only ever a
template: every server or store that needs an empty database gets a copy of it
(CREATE DATABASE ... TEMPLATE, a file copy, much faster than migrating again), so tests
that count or restart never see each other's data. Everything is dropped at the end.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import subprocess
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tests.support.server import supportd_executable

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
PROBE_TIMEOUT_S = 3.0


def admin_url() -> str:
    return os.environ.get("SUPPORTD_TEST_DATABASE_URL", DEFAULT_URL)


def required() -> bool:
    """CI sets SUPPORTD_TEST_REQUIRE_POSTGRES=1: an unreachable server is then an error."""
    return os.environ.get("SUPPORTD_TEST_REQUIRE_POSTGRES", "") not in ("", "0")


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


async def _execute(url: str, *statements: str, timeout: float = 30.0) -> Any:
    conn = await asyncpg.connect(url, timeout=timeout)
    try:
        result = None
        for statement in statements:
            result = await conn.fetchval(statement)
        return result
    finally:
        await conn.close()


@cache
def unavailable() -> str | None:
    """Why the PostgreSQL half cannot run, or None if it can (probed once per session)."""
    url = admin_url()
    try:
        asyncio.run(_execute(url, "SELECT 1", timeout=PROBE_TIMEOUT_S))
    except Exception as exc:
        return f"no PostgreSQL reachable at {url} ({type(exc).__name__}: {exc})"
    return None


@dataclass
class ThrowawayDatabases:
    """The session's template database and its copies."""

    url: str
    prefix: str = field(default_factory=lambda: f"supportd_test_{secrets.token_hex(4)}")
    created: list[str] = field(default_factory=list)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def template(self) -> str:
        return self.prefix

    def create_template(self) -> None:
        asyncio.run(_execute(self.url, f'CREATE DATABASE "{self.template}"'))
        self.created.append(self.template)
        result = subprocess.run(
            [supportd_executable(), "migrate", "--database", with_database(self.url, self.prefix)],
            capture_output=True,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")},
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"supportd migrate failed:\n{result.stdout}{result.stderr}")

    def new_database(self) -> str:
        """The URL of a new, migrated, empty database."""
        name = f"{self.prefix}_{next(self._numbers)}"
        asyncio.run(_execute(self.url, f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        self.created.append(name)
        return with_database(self.url, name)

    def new_empty_database(self) -> str:
        """The URL of a new database without supportd's schema."""
        name = f"{self.prefix}_{next(self._numbers)}"
        asyncio.run(_execute(self.url, f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return with_database(self.url, name)

    def drop_all(self) -> None:
        statements = [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in self.created]
        asyncio.run(_execute(self.url, *reversed(statements)))
        self.created.clear()
