"""`supportd outbox` and `supportd webhooks`: notifications from the command line.

    supportd outbox list [--status pending|failed|delivered] [--json]
    supportd outbox retry ID
    supportd outbox case CASE [--json]          (a case's notifications and deliveries)
    supportd webhooks create --url URL --secret S [--account ID] [--events E,...] [--json]
    supportd webhooks list | delete ID | test ID

They work on the store of `supportd serve` (--data-dir or --database, and --server-key,
which seals webhook secrets), from options or SUPPORTD_* variables. A running server's
worker picks up what they change (a retried delivery, a new webhook) at its next poll.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from supportd import runtime
from supportd.cli.settings import config_from, setting_options
from supportd.cli.store import operator_errors, require_database, with_store
from supportd.config import Config
from supportd.domain import notifications as note
from supportd.operations import notifications as ops
from supportd.operations.context import Context
from supportd.operations.refusal import Refused
from supportd.reference import catalogue
from supportd.security.secretbox import SecretBox
from supportd.storage.base import Store

T = TypeVar("T")

SETTINGS_USED = (
    "data_dir",
    "database_url",
    "server_key",
    "fake_clock_file",
    "notify_timeout_ms",
)
_settings = setting_options(SETTINGS_USED)
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _options(command: Callable[..., None]) -> Callable[..., None]:
    """What every command takes: --json and the store's settings."""
    return _json(_settings(command))


def _run(config: Config, work: Callable[[Context], Awaitable[T]]) -> T:
    """Open the configured store, run `work` with a Context over it, close it."""
    require_database(config)

    async def with_context(store: Store) -> T:
        ctx = Context(
            config=config,
            catalogue=catalogue.load(config.reference_dir),
            store=store,
            clock=runtime.open_clock(config),
        )
        return await work(ctx)

    try:
        return with_store(config, with_context)
    except Refused as exc:  # NotificationError, or StaffError finding a case
        raise click.ClickException(exc.message) from None


def _run_sealed(options: dict[str, Any], work: Callable[[Context, SecretBox], Awaitable[T]]) -> T:
    """_run with the server key's box, which seals and opens webhook secrets (opened
    first: a wrong key stops the command before the store is touched)."""
    config = config_from(options)
    with operator_errors():
        box = runtime.open_secret_box(config)
    return _run(config, lambda ctx: work(ctx, box))


def _show(
    options: dict[str, Any],
    as_json: bool,
    work: Callable[[Context], Awaitable[dict[str, Any]]],
    text: Callable[[dict[str, Any]], str],
) -> None:
    """Run `work` on the store the options name and print its result."""
    _print(_run(config_from(options), work), as_json, text)


def _print(result: dict[str, Any], as_json: bool, text: Callable[[dict[str, Any]], str]) -> None:
    click.echo(json.dumps(result, indent=2) if as_json else text(result))


def _delivery_line(row: dict[str, Any]) -> str:
    to = ", ".join(row["recipients"]) or row["target"]
    line = (
        f"{row['id']:>6}  {row['status']:<9}  {row['channel']:<11}  {row.get('displayId', '')}"
        f"  {row.get('event', {}).get('eventName', '')}  -> {to}  (attempts {row['attempts']})"
    )
    if row["lastResult"]:
        line += f"\n        {row['lastResult']}"
    return line


# --- outbox -------------------------------------------------------------------------------


@click.group(name="outbox")
def outbox() -> None:
    """Notifications waiting, delivered and failed (the outbox's deliveries)."""


@outbox.command("list")
@click.option("--status", type=click.Choice(note.STATUSES), default=None, help="Only these.")
@click.option("--after", type=int, default=0, help="Only deliveries with a greater id (pages).")
@click.option("--limit", type=click.IntRange(1, ops.LIST_LIMIT), default=100, show_default=True)
@_options
def list_command(status: str | None, after: int, limit: int, as_json: bool, **options: Any) -> None:
    """List deliveries, oldest first."""

    def text(r: dict[str, Any]) -> str:
        lines = [_delivery_line(row) for row in r["deliveries"]] or ["no deliveries"]
        if "next" in r:
            lines.append(f"more: --after {r['next']}")
        return "\n".join(lines)

    _show(options, as_json, lambda ctx: ops.list_outbox(ctx, status, after, limit), text)


@outbox.command("retry")
@click.argument("delivery_id", type=int)
@_options
def retry_command(delivery_id: int, as_json: bool, **options: Any) -> None:
    """Give a failed delivery a new series of attempts, the first one now."""
    said = f"delivery {delivery_id} is pending again"
    _show(options, as_json, lambda ctx: ops.retry(ctx, delivery_id), lambda r: said)


@outbox.command("case")
@click.argument("case_ref")
@_options
def case_command(case_ref: str, as_json: bool, **options: Any) -> None:
    """A case's notifications (by case id or display id): what went to whom, when, and
    the result."""
    from supportd.operations import staff

    async def work(ctx: Context) -> dict[str, Any]:
        found = await staff.find_case(ctx, case_ref)
        return await ops.case_deliveries(ctx, found.case)

    def text(r: dict[str, Any]) -> str:
        lines = [f"case {r['displayId']} ({r['caseId']})"]
        for event in r["events"]:
            origin = f" ({event['origin']})" if event["origin"] else ""
            lines.append(f"  {event['created']}  {event['eventName']}{origin}")
            lines.extend("    " + _delivery_line(d) for d in event["deliveries"])
        return "\n".join(lines)

    _show(options, as_json, work, text)


# --- webhooks ----------------------------------------------------------------------------------


@click.group(name="webhooks")
def webhooks() -> None:
    """Webhook targets: each receives events as EventBridge delivers them, signed."""


def _events(text: str | None) -> list[str] | None:
    return [e.strip() for e in text.split(",") if e.strip()] if text else None


@webhooks.command("create")
@click.option("--url", required=True, help="Where events are POSTed (http:// or https://).")
@click.option(
    "--secret",
    required=True,
    envvar="SUPPORTD_WEBHOOK_SECRET",
    help="Signs every body (X-Supportd-Signature) [env SUPPORTD_WEBHOOK_SECRET].",
)
@click.option("--account", default=None, help="Only this account's events (default: all).")
@click.option(
    "--events",
    default=None,
    help="Comma-separated event names (default: all): " + ",".join(note.EVENT_NAMES),
)
@_options
def create_command(
    url: str, secret: str, account: str | None, events: str | None, as_json: bool, **options: Any
) -> None:
    """Register a webhook."""
    result = _run_sealed(
        options,
        lambda ctx, box: ops.create_webhook(ctx, box, url, secret, account, _events(events)),
    )
    _print(result, as_json, lambda r: r["webhook"]["id"])


@webhooks.command("list")
@_options
def list_webhooks_command(as_json: bool, **options: Any) -> None:
    """List webhooks (never their secrets)."""

    def text(r: dict[str, Any]) -> str:
        return (
            "\n".join(
                f"{h['id']}  {h['url']}  account={h['accountId'] or 'all'}  {','.join(h['events'])}"
                for h in r["webhooks"]
            )
            or "no webhooks"
        )

    _show(options, as_json, ops.list_webhooks, text)


@webhooks.command("delete")
@click.argument("webhook_id")
@_options
def delete_command(webhook_id: str, as_json: bool, **options: Any) -> None:
    """Delete a webhook (its pending deliveries fail: the webhook was deleted)."""
    said = f"deleted {webhook_id}"
    _show(options, as_json, lambda ctx: ops.delete_webhook(ctx, webhook_id), lambda r: said)


@webhooks.command("test")
@click.argument("webhook_id")
@_options
def test_command(webhook_id: str, as_json: bool, **options: Any) -> None:
    """POST a signed test event to a webhook now and show the answer."""
    result = _run_sealed(options, lambda ctx, box: ops.test_webhook(ctx, box, webhook_id))
    _print(result, as_json, lambda r: f"{'ok' if r['ok'] else 'FAILED'}: {r['result']}")
    if not result["ok"]:
        raise SystemExit(1)


COMMANDS = (outbox, webhooks)
