"""`supportd serve`, and the commands that keep its database: `migrate`, `export` and
`import`. Each takes the settings it reads and no others."""

from __future__ import annotations

import asyncio
import dataclasses
import logging.config
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

import click

from supportd import config as config_module
from supportd import logs, runtime
from supportd.cli import advisor
from supportd.cli.settings import STORE_SETTINGS, config_from, output_option, setting_options
from supportd.cli.store import operator_errors, require_database, with_store
from supportd.config import SETTINGS

# Where prometheus-client's multiprocess mode keeps its files (the variable it reads;
# it is not imported here: importing it would fix its mode before the variable is set).
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# export and import move every row: a long statement is expected, not a runaway one.
EXCHANGE_SETTINGS = (*STORE_SETTINGS, "database_statement_timeout_ms")


@click.command()
@setting_options([s.name for s in SETTINGS])
def serve(**options: Any) -> None:
    """Serve the AWS Support API over HTTP."""
    import uvicorn

    config = config_from(options)
    exposed = config_module.exposure_problem(config)
    if exposed:
        raise click.UsageError(exposed)
    advisor.check_catalogue(config)  # a bad checks file: one line here, not per worker
    log_config = logs.logging_config(config.log_level, config.log_format)
    logging.config.dictConfig(log_config)
    with operator_errors():
        if config.auth == "sigv4" or config.database_url:
            # The server key (access keys' secrets, attachment links): made here once
            # (SQLite), or its absence reported in one line (PostgreSQL: every node must
            # be given the same key).
            runtime.open_secret_box(config)
        if config.database_url:
            from supportd.storage.postgres import check_schema

            # Refuse here, with one clear line, rather than in every worker's startup.
            asyncio.run(check_schema(config.database_url))
        else:
            from supportd.storage.sqlite import migrate

            # Migrate once here rather than racing in every worker.
            migrate(config.sqlite_path)
    # Notifications are delivered by a process of their own at a lower CPU priority
    # (supportd.notifications.process), so the API's workers only write the outbox.
    from supportd.notifications.process import BESIDE_ENV, DeliveryProcess

    deliverer = None
    if config.background_worker and config.notify_worker:
        environ = {**_inherited_environ(), **config.to_environ()}
        deliverer = DeliveryProcess(environ, config.notify_nice)
        config = dataclasses.replace(config, notify_worker=False)
        os.environ[BESIDE_ENV] = "1"
    else:
        os.environ.pop(BESIDE_ENV, None)
    # Worker processes are started by uvicorn and read their settings from the environment.
    os.environ.update(config.to_environ())
    # Several worker processes: their metrics meet in a directory of this server's own
    # (owner-only, removed on exit); prometheus-client reads the variable on import, so
    # it is set before any worker imports the app. One process keeps its metrics in
    # memory, which costs a request a third of what the shared files do.
    metrics_dir = tempfile.mkdtemp(prefix="supportd-metrics-") if config.workers > 1 else None
    if metrics_dir is not None:
        os.environ[METRICS_DIR_ENV] = metrics_dir
    else:
        os.environ.pop(METRICS_DIR_ENV, None)  # one inherited would be someone else's
    _graceful_stop_exits_zero()
    _raise_open_file_limit()
    try:
        if deliverer is not None:
            deliverer.start()
        uvicorn.run(
            "supportd.http.app:app_from_environment",
            factory=True,
            host=config.host,
            port=config.port,
            workers=config.workers if config.workers > 1 else None,
            log_level=config.log_level,
            log_config=log_config,
            access_log=config.access_log,
            # httptools, with a deadline for request heads (supportd.http.connections).
            http="supportd.http.connections:GuardedHttpToolsProtocol",
            loop="uvloop",
            timeout_graceful_shutdown=30,
            # A worker importing botocore's model on a busy machine can take more than
            # uvicorn's default 5 s to answer its first health check.
            timeout_worker_healthcheck=30,
            server_header=False,
        )
    finally:
        if deliverer is not None:
            deliverer.stop()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _inherited_environ() -> dict[str, str]:
    # Not the metrics directory: the delivery process serves no /metrics.
    return {k: v for k, v in os.environ.items() if k != METRICS_DIR_ENV}


def _raise_open_file_limit() -> None:
    """Every connection is a file descriptor: allow as many as the system lets this
    process have (the soft limit is often 1024, the hard one far higher)."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError) as exc:  # not a POSIX system, or refused
        logging.getLogger("supportd").info("open file limit left as it is: %s", exc)


def _graceful_stop_exits_zero() -> None:
    """uvicorn finishes in-flight requests on SIGTERM/SIGINT and then re-raises the
    signal to the handler installed before it; a no-op handler there makes a graceful
    stop exit with status 0 instead of dying of the signal."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: None)


@click.command()
@setting_options(STORE_SETTINGS)
def migrate(**options: Any) -> None:
    """Apply pending database migrations."""
    config = config_from(options)
    with operator_errors():
        if config.database_url:
            from supportd.storage.postgres import migrate as migrate_postgres

            applied = asyncio.run(migrate_postgres(config.database_url))
        else:
            from supportd.storage.sqlite import migrate as migrate_sqlite

            applied = migrate_sqlite(config.sqlite_path)
    for name in applied:
        click.echo(f"applied {name}")
    click.echo("schema is up to date")


@click.command(name="export")
@output_option("the JSON lines")
@setting_options(EXCHANGE_SETTINGS)
def export_command(output: str, **options: Any) -> None:
    """Write all data of the store as JSON lines (a backup, or a move between stores)."""
    from supportd.storage import exchange

    config = config_from(options)
    require_database(config)
    with _export_file(output) as stream:
        counts = with_store(config, lambda store: exchange.export_lines(store, stream.write))
    click.echo(_summary("exported", counts), err=True)


@click.command(name="import")
@click.argument(
    "source", type=click.Path(dir_okay=False, exists=True, allow_dash=True), default="-"
)
@setting_options(EXCHANGE_SETTINGS)
def import_command(source: str, **options: Any) -> None:
    """Load a `supportd export` file (default: standard input) into an empty store."""
    from supportd.storage import exchange

    config = config_from(options)
    with click.open_file(source, "r", encoding="utf-8") as stream:
        counts = with_store(config, lambda store: exchange.import_lines(store, stream))
    click.echo(_summary("imported", counts), err=True)


def _export_file(output: str) -> Any:
    """Standard output, or the file, created owner-only (0600) whatever the umask: an
    export holds every case of every account."""
    if output == "-":
        return click.open_file(output, "w", encoding="utf-8")
    from supportd.storage.files import create_private

    fd = create_private(Path(output), os.O_WRONLY | os.O_TRUNC)
    return os.fdopen(fd, "w", encoding="utf-8")


def _summary(verb: str, counts: dict[str, int]) -> str:
    return f"{verb} " + ", ".join(f"{count} {table}" for table, count in counts.items())


COMMANDS = (serve, migrate, export_command, import_command)
