"""The store a command works on: opened from the settings, one coroutine run with it,
closed again; problems the operator can fix become one line and exit status 1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import click

from supportd import runtime
from supportd.config import Config
from supportd.storage.base import Store

T = TypeVar("T")


@contextlib.contextmanager
def operator_errors() -> Iterator[None]:
    """A schema, a database, a server key, an export file or an account that is not as
    it should be: one line, not a traceback."""
    from supportd.operations.accounts import AdminError
    from supportd.security.secretbox import SecretBoxError
    from supportd.storage.base import SchemaError, StoreUnavailable
    from supportd.storage.exchange import ExchangeError

    try:
        yield
    except (SchemaError, StoreUnavailable, ExchangeError, SecretBoxError, AdminError) as exc:
        raise click.ClickException(str(exc)) from exc


def require_database(config: Config) -> None:
    """Refuse when there is no SQLite database yet: opening the SQLite store would create
    an empty one, and a wrong --data-dir must not pass for a store with nothing in it (an
    export of nothing, a seed nobody reads)."""
    if not config.database_url and not config.sqlite_path.exists():
        raise click.ClickException(f"no supportd database at {config.sqlite_path}")


def with_store(config: Config, work: Callable[[Store], Awaitable[T]]) -> T:
    """Open the configured store, run `work` with it, close it."""

    async def run() -> T:
        store = runtime.open_store(config)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    with operator_errors():
        return asyncio.run(run())
