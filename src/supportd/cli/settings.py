"""What the `supportd` subcommands share: options for the settings a command reads, and
the configuration those options make."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import click

from supportd import config as config_module
from supportd.config import SETTINGS, Config

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

# The settings that say where the store is: the SQLite data directory or PostgreSQL.
STORE_SETTINGS = ("data_dir", "database_url")


def output_option(what: str) -> Decorator:
    """-o/--output FILE: where a command writes `what` (default: standard output)."""
    return click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, writable=True, allow_dash=True),
        default="-",
        help=f"File to write {what} to (default: standard output).",
    )


def setting_options(names: Collection[str], help_prefix: str = "") -> Decorator:
    """One option per named setting (in the order of SETTINGS); an unset option falls
    back to its SUPPORTD_* variable and then its default."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for setting in reversed([s for s in SETTINGS if s.name in names]):
            default = setting.default if setting.type is bool else repr(setting.default)
            help = f"{help_prefix}{setting.help} [env {setting.env}; default {default}]"
            if setting.type is bool:
                option = click.option(
                    f"{setting.option}/--no-{setting.option[2:]}",
                    setting.name,
                    default=None,
                    help=help,
                )
            else:
                option = click.option(
                    setting.option, setting.name, type=setting.type, default=None, help=help
                )
            func = option(func)
        return func

    return decorate


def config_from(options: Mapping[str, Any], names: Collection[str] | None = None) -> Config:
    """The configuration (the options given, or only those of `names`), with a bad value
    reported as a usage error (one line)."""
    if names is not None:
        options = {name: value for name, value in options.items() if name in names}
    try:
        return config_module.from_environ(overrides=options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
