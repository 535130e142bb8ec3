"""Fixtures shared by every suite.

The store-backed fixtures (`server`, `fresh_server`, and through them `support`) are
parametrised over both stores: each test that uses them runs once on SQLite and once on
PostgreSQL (ids `[sqlite]` / `[postgresql]`). The PostgreSQL half needs a server at
SUPPORTD_TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test); the
session makes databases of its own there and drops them at the end. Without a reachable
server the PostgreSQL half is skipped, and the header and the summary say so once
(SUPPORTD_TEST_REQUIRE_POSTGRES=1 makes that an error instead, for CI). Every test of the
PostgreSQL half carries the `postgres` mark: `-m "not postgres"` runs the SQLite half.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import postgres
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess

STORES = ("sqlite", "postgresql")
SKIP_PREFIX = "PostgreSQL half SKIPPED"


def pytest_report_header(config: pytest.Config) -> str:
    reason = postgres.unavailable()
    if reason is None:
        return f"stores: sqlite, postgresql ({postgres.admin_url()})"
    return f"stores: sqlite only -- {SKIP_PREFIX}: {reason}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reason = postgres.unavailable()
    if reason is None:
        return
    skipped = sum(
        1
        for report in terminalreporter.stats.get("skipped", [])
        if SKIP_PREFIX in str(getattr(report, "longrepr", ""))
    )
    terminalreporter.write_line(f"{SKIP_PREFIX} ({skipped} tests): {reason}", yellow=True)


def needs_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("store_kind") == "postgresql":
        return True
    return "postgres_databases" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # `-m "not postgres"` runs the SQLite half alone.
    for item in items:
        if needs_postgres(item):
            item.add_marker(pytest.mark.postgres)
    reason = postgres.unavailable()
    if reason is None or postgres.required():
        return
    # A skip mark (rather than a skip inside a fixture) folds into one summary line per
    # file and sets nothing up.
    skip = pytest.mark.skip(reason=f"{SKIP_PREFIX}: {reason}")
    for item in items:
        if needs_postgres(item):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[postgres.ThrowawayDatabases]:
    """The session's PostgreSQL databases; skips the test when PostgreSQL is unreachable."""
    reason = postgres.unavailable()
    if reason is not None:
        if postgres.required():
            pytest.fail(f"SUPPORTD_TEST_REQUIRE_POSTGRES is set but {reason}")
        pytest.skip(f"{SKIP_PREFIX}: {reason}")
    databases = postgres.ThrowawayDatabases(postgres.admin_url())
    try:
        databases.create_template()
        yield databases
    finally:
        databases.drop_all()


@pytest.fixture(scope="session", params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """ "sqlite" or "postgresql": which store the test's server (or store) uses."""
    if request.param == "postgresql":
        request.getfixturevalue("postgres_databases")
    return str(request.param)


def _database_url(request: pytest.FixtureRequest, store_kind: str) -> str:
    """A fresh migrated PostgreSQL database for the postgresql half, "" for SQLite."""
    if store_kind != "postgresql":
        return ""
    databases: postgres.ThrowawayDatabases = request.getfixturevalue("postgres_databases")
    return databases.new_database()


@pytest.fixture(scope="session")
def server(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One real `supportd serve` process shared by the compatibility tests."""
    process = ServerProcess(
        data_dir=tmp_path_factory.mktemp(f"server-{store_kind}") / "data",
        database_url=_database_url(request, store_kind),
    ).start()
    yield process
    process.stop()


@pytest.fixture
def fresh_server(
    request: pytest.FixtureRequest, store_kind: str, tmp_path: Path
) -> Iterator[ServerProcess]:
    """A server of its own (and an empty store), for tests that restart or kill it."""
    process = ServerProcess(
        data_dir=tmp_path / "data", database_url=_database_url(request, store_kind)
    ).start()
    yield process
    process.stop()


_accounts = iter(range(100_000_000_000, 999_999_999_999, 7919))


@pytest.fixture
def account() -> str:
    """A 12-digit account no other test uses, so tests do not see each other's cases."""
    return str(next(_accounts))


@pytest.fixture
def support(server: ServerProcess, account: str) -> Any:
    return boto3_client(server.url, account)
