"""What the `supportd` subcommands share: options for the settings a command reads, and
the configuration those options make."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import click

from supportd import config as config_module
from supportd.config import SETTINGS, Config

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def setting_options(names: Collection[str]) -> Decorator:
    """One option per named setting (as for `supportd serve`); an unset option falls back
    to its SUPPORTD_* variable and then its default."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for setting in reversed([s for s in SETTINGS if s.name in names]):
            func = click.option(
                setting.option,
                setting.name,
                type=setting.type,
                default=None,
                help=f"{setting.help} [env {setting.env}]",
            )(func)
        return func

    return decorate


def config_from(options: dict[str, Any]) -> Config:
    """The configuration, with a bad value reported as a usage error (one line)."""
    try:
        return config_module.from_environ(overrides=options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
