"""`supportd demo`: fill a store with realistic demo data (operations.demo)."""

from __future__ import annotations

import json
from typing import Any

import click

from supportd.cli.settings import STORE_SETTINGS, config_from, setting_options
from supportd.cli.store import with_store
from supportd.domain import clock as clock_rules
from supportd.storage.base import Store

# Where the store is, and what the operations the demo goes through read.
DEMO_SETTINGS = (
    *STORE_SETTINGS,
    "reference_dir",
    "advisor_checks_file",
    "support_display_name",
    "sla_targets",
    "sla_business_hours",
)


@click.command()
@click.option(
    "--accounts",
    "account_count",
    type=click.IntRange(1, 100),
    default=3,
    show_default=True,
    help="Customer accounts to make.",
)
@click.option(
    "--cases",
    "case_count",
    type=click.IntRange(0, 100_000),
    default=200,
    show_default=True,
    help="Cases to make, spread over the accounts.",
)
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    help="The same seed makes the same data (except random ids).",
)
@click.option(
    "--days",
    type=click.IntRange(1, 365),
    default=30,
    show_default=True,
    help="The cases are spread over this many days up to now.",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was made as JSON.")
@setting_options(DEMO_SETTINGS)
def demo(
    account_count: int, case_count: int, seed: int, days: int, as_json: bool, **options: Any
) -> None:
    """Fill the store with demo data: accounts, staff, cases with conversations,
    attachments and Trusted Advisor results."""
    from supportd.operations import demo as demo_ops
    from supportd.operations.context import Context
    from supportd.reference import advisor as advisor_reference
    from supportd.reference import catalogue

    config = config_from(options, DEMO_SETTINGS)
    clock = demo_ops.ScriptedClock(clock_rules.now_ms())
    request = demo_ops.DemoRequest(account_count, case_count, seed, days)

    async def work(store: Store) -> demo_ops.DemoSummary:
        ctx = Context(
            config=config,
            catalogue=catalogue.load(config.reference_dir),
            store=store,
            clock=clock,
            advisor_checks=advisor_reference.load(config.advisor_checks_file),
        )
        return await demo_ops.fill(ctx, clock, request)

    try:
        summary = with_store(config, work)
    except demo_ops.DemoError as exc:
        raise click.ClickException(str(exc)) from None
    shape = summary.shape()
    if as_json:
        click.echo(json.dumps(shape, indent=2))
        return
    click.echo(
        f"{shape['cases']} cases for accounts {', '.join(shape['accounts'])}:"
        f" {shape['customerMessages']} customer messages, {shape['supportReplies']} support"
        f" replies, {shape['notes']} notes, {shape['attachments']} attachments;"
        f" {shape['advisorResults']} Trusted Advisor results; staff {', '.join(shape['staff'])}"
    )
    click.echo("statuses: " + ", ".join(f"{k} {v}" for k, v in shape["statuses"].items()))


COMMANDS = (demo,)
