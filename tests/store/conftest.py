"""The stores in process, each test on a fresh one.

Test functions here may be `async def`: they run on the same event loop (an
asyncio.Runner per test) on which their store was opened, since asyncpg's pool and the
SQLite writer's futures belong to one loop.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

from supportd.storage.base import Store
from supportd.storage.postgres import PostgresStore
from supportd.storage.sqlite import SQLiteStore
from tests.support.postgres import ThrowawayDatabases


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    wanted = inspect.signature(pyfuncitem.obj).parameters
    kwargs = {name: pyfuncitem.funcargs[name] for name in wanted}
    runner = pyfuncitem.funcargs.get("runner")
    if isinstance(runner, asyncio.Runner):
        runner.run(pyfuncitem.obj(**kwargs))
    else:
        asyncio.run(pyfuncitem.obj(**kwargs))
    return True


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop_runner:
        yield loop_runner


def make_store(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> Store:
    """A new, empty, unopened store of the given kind."""
    if kind == "sqlite":
        return SQLiteStore(tmp_path / f"store-{len(list(tmp_path.iterdir()))}" / "supportd.db")
    databases: ThrowawayDatabases = request.getfixturevalue("postgres_databases")
    return PostgresStore(databases.new_database(), pool_size=4)


@pytest.fixture
def store(
    request: pytest.FixtureRequest, store_kind: str, tmp_path: Path, runner: asyncio.Runner
) -> Iterator[Store]:
    """An open, empty store of each kind."""
    opened = make_store(request, store_kind, tmp_path)
    runner.run(opened.open())
    try:
        yield opened
    finally:
        runner.run(opened.close())
