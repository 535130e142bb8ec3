"""`supportd advisor`: the Trusted Advisor catalogue, and seeding an account's results.

    supportd advisor set-result 111122223333 DqdJqYeRm5 --file result.json
    supportd advisor clear-result 111122223333 DqdJqYeRm5
    supportd advisor checks

A result file holds the `result` member of DescribeTrustedAdvisorCheckResult without the
check id (the AWS CLI's output of describe-trusted-advisor-check-result is accepted as
it is); see domain.advisor.parse_result for what may be left out. The commands use the
store settings of `supportd serve` (--data-dir or --database, and --advisor-checks-file
for the operator's own checks), from options or SUPPORTD_* variables.
"""

from __future__ import annotations

import json
from typing import Any

import click

from supportd import runtime
from supportd.cli.settings import STORE_SETTINGS, config_from, setting_options
from supportd.cli.store import require_database, with_store
from supportd.config import Config
from supportd.domain import clock
from supportd.operations.advisor import SeedRefused, seed_target, seeded_result
from supportd.reference import advisor as advisor_reference
from supportd.reference.advisor import Check, CheckCatalogue
from supportd.reference.catalogue import ReferenceDataError

SETTINGS_USED = (*STORE_SETTINGS, "advisor_checks_file", "fake_clock_file")


_options = setting_options(SETTINGS_USED)


def _catalogue(config: Config) -> CheckCatalogue:
    try:
        return advisor_reference.load(config.advisor_checks_file)
    except ReferenceDataError as exc:
        raise click.ClickException(str(exc)) from exc


def check_catalogue(config: Config) -> None:
    """For `supportd serve`: refuse an unusable --advisor-checks-file before starting."""
    _catalogue(config)


def _check(catalogue: CheckCatalogue, account: str, check_id: str) -> Check:
    try:
        return seed_target(catalogue, account, check_id)
    except SeedRefused as refused:
        raise click.ClickException(refused.message) from None


@click.group(name="advisor")
def advisor() -> None:
    """Trusted Advisor: the check catalogue and seeded results."""


@advisor.command("set-result")
@click.argument("account")
@click.argument("check_id")
@click.option(
    "--file",
    "-f",
    "path",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="JSON file with the result ('-': standard input).",
)
@_options
def set_result(account: str, check_id: str, path: str, **options: Any) -> None:
    """Store ACCOUNT's result of the check CHECK_ID, replacing the one it has."""
    config = config_from(options)
    catalogue = _catalogue(config)
    _check(catalogue, account, check_id)
    try:
        with click.open_file(path, "r", encoding="utf-8") as stream:
            data = json.load(stream)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path}: {exc}") from exc
    now_ms = runtime.open_clock(config).now_ms()
    try:
        check, result = seeded_result(catalogue, account, check_id, data, now_ms)
    except SeedRefused as refused:
        raise click.ClickException(f"{path}: {refused.message}") from None
    require_database(config)
    with_store(config, lambda store: store.put_advisor_result(result))
    click.echo(
        f"{account} {check.id} ({check.name}): {result.status}, "
        f"{result.flagged_count} flagged resources, "
        f"{clock.format_advisor_time(result.timestamp_ms)}"
    )


@advisor.command("clear-result")
@click.argument("account")
@click.argument("check_id")
@_options
def clear_result(account: str, check_id: str, **options: Any) -> None:
    """Forget ACCOUNT's result of CHECK_ID (it reads not_available again)."""
    config = config_from(options)
    check = _check(_catalogue(config), account, check_id)
    require_database(config)
    deleted = with_store(config, lambda store: store.delete_advisor_result(account, check.id))
    click.echo(f"{account} {check.id}: " + ("result removed" if deleted else "had no result"))


@advisor.command("checks")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_options
def checks(as_json: bool, **options: Any) -> None:
    """List the check catalogue, with each check's provider (if any)."""
    from supportd.operations.advisor_providers import load_providers

    config = config_from(options)
    catalogue = _catalogue(config)
    providers = load_providers(catalogue)
    rows = [
        {
            "id": check.id,
            "category": check.category,
            "name": check.name,
            "autoRefresh": check.auto_refresh,
            "provider": providers[check.id].origin if check.id in providers else None,
        }
        for check in catalogue.checks
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        flags = " [auto-refreshed]" if row["autoRefresh"] else ""
        provider = f"  <- {row['provider']}" if row["provider"] else ""
        click.echo(f"{row['id']:<12} {row['category']:<16} {row['name']}{flags}{provider}")
