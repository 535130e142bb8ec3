"""The `supportd` command."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any

import click

from supportd import cli_advisor
from supportd import config as config_module
from supportd.cli_settings import config_from
from supportd.config import SETTINGS

SERVE_SETTINGS = tuple(SETTINGS)


def _settings_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """One CLI option per setting; unset options fall back to SUPPORTD_* and defaults."""
    for setting in reversed(SERVE_SETTINGS):
        if setting.type is bool:
            option = click.option(
                f"{setting.option}/--no-{setting.option[2:]}",
                setting.name,
                default=None,
                help=f"{setting.help} [env {setting.env}; default {setting.default}]",
            )
        else:
            option = click.option(
                setting.option,
                setting.name,
                type=setting.type,
                default=None,
                help=f"{setting.help} [env {setting.env}; default {setting.default!r}]",
            )
        func = option(func)
    return func


@click.group()
@click.version_option(package_name="supportd")
def main() -> None:
    """supportd: a self-hostable implementation of the AWS Support API."""


@main.command()
@_settings_options
def serve(**options: Any) -> None:
    """Serve the AWS Support API over HTTP."""
    import uvicorn

    config = config_from(options)
    exposed = config_module.exposure_problem(config)
    if exposed:
        raise click.UsageError(exposed)
    cli_advisor.check_catalogue(config)  # a bad checks file: one line here, not per worker
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    with _store_errors():
        if config.auth == "sigv4" or config.database_url:
            from supportd.app import open_secret_box

            # The server key (access keys' secrets, attachment links): made here once
            # (SQLite), or its absence reported in one line (PostgreSQL: every node must
            # be given the same key).
            open_secret_box(config)
        if config.database_url:
            from supportd.storage.postgres import check_schema

            # Refuse here, with one clear line, rather than in every worker's startup.
            asyncio.run(check_schema(config.database_url))
        else:
            from supportd.storage.sqlite import migrate

            # Migrate once here rather than racing in every worker.
            migrate(config.sqlite_path)
    # Worker processes are started by uvicorn and read their settings from the environment.
    os.environ.update(config.to_environ())
    _graceful_stop_exits_zero()
    uvicorn.run(
        "supportd.app:app_from_environment",
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers if config.workers > 1 else None,
        log_level=config.log_level,
        access_log=config.access_log,
        http="httptools",
        loop="uvloop",
        timeout_graceful_shutdown=30,
        server_header=False,
    )


def _graceful_stop_exits_zero() -> None:
    """uvicorn finishes in-flight requests on SIGTERM/SIGINT and then re-raises the
    signal to the handler installed before it; a no-op handler there makes a graceful
    stop exit with status 0 instead of dying of the signal."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: None)


@main.command()
@_settings_options
def migrate(**options: Any) -> None:
    """Apply pending database migrations."""
    config = config_from(options)
    with _store_errors():
        if config.database_url:
            from supportd.storage.postgres import migrate as migrate_postgres

            applied = asyncio.run(migrate_postgres(config.database_url))
        else:
            from supportd.storage.sqlite import migrate as migrate_sqlite

            applied = migrate_sqlite(config.sqlite_path)
    for name in applied:
        click.echo(f"applied {name}")
    click.echo("schema is up to date")


@main.command(name="export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    default="-",
    help="File to write the JSON lines to (default: standard output).",
)
@_settings_options
def export_command(output: str, **options: Any) -> None:
    """Write all data of the store as JSON lines (a backup, or a move between stores)."""
    from supportd.app import open_store
    from supportd.storage import exchange

    config = config_from(options)
    if not config.database_url and not config.sqlite_path.exists():
        # Opening the SQLite store would create an empty one: a wrong --data-dir must not
        # pass for a backup of nothing.
        raise click.ClickException(f"no supportd database at {config.sqlite_path}")

    async def run(stream: IO[str]) -> dict[str, int]:
        store = open_store(config)
        await store.open()
        try:
            return await exchange.export_lines(store, stream.write)
        finally:
            await store.close()

    with _store_errors(), click.open_file(output, "w", encoding="utf-8") as stream:
        counts = asyncio.run(run(stream))
    click.echo(_summary("exported", counts), err=True)


@main.command(name="import")
@click.argument(
    "source", type=click.Path(dir_okay=False, exists=True, allow_dash=True), default="-"
)
@_settings_options
def import_command(source: str, **options: Any) -> None:
    """Load a `supportd export` file (default: standard input) into an empty store."""
    from supportd.app import open_store
    from supportd.storage import exchange

    config = config_from(options)

    async def run(stream: IO[str]) -> dict[str, int]:
        store = open_store(config)
        await store.open()
        try:
            return await exchange.import_lines(store, stream)
        finally:
            await store.close()

    with (
        _store_errors(),
        click.open_file(source, "r", encoding="utf-8") as stream,
    ):
        counts = asyncio.run(run(stream))
    click.echo(_summary("imported", counts), err=True)


def _summary(verb: str, counts: dict[str, int]) -> str:
    return f"{verb} " + ", ".join(f"{count} {table}" for table, count in counts.items())


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    """Problems the operator can fix become one line and exit code 1, not a traceback."""
    from supportd.secretbox import SecretBoxError
    from supportd.storage.base import SchemaError, StoreUnavailable
    from supportd.storage.exchange import ExchangeError

    try:
        yield
    except (SchemaError, StoreUnavailable, ExchangeError, SecretBoxError) as exc:
        raise click.ClickException(str(exc)) from exc


def _add_account_commands() -> None:
    from supportd.cli_accounts import accounts, audit, keys

    for command in (accounts, keys, audit):
        main.add_command(command)


_add_account_commands()
main.add_command(cli_advisor.advisor)


def _add_staff_commands() -> None:
    # `supportd staff` and `supportd cases` (supportd.cli_staff).
    from supportd.cli_staff import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_add_staff_commands()


def _add_notification_commands() -> None:
    # `supportd outbox` and `supportd webhooks` (supportd.cli_notifications).
    from supportd.cli_notifications import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_add_notification_commands()

if __name__ == "__main__":
    sys.exit(main())
