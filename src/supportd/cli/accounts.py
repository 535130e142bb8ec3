"""`supportd accounts`, `supportd keys` and `supportd audit`: administering accounts and
access keys, and reading the audit trail, on the local store.

They use the store settings of `supportd serve` (--data-dir or --database; `keys create`
also --server-key), from options or SUPPORTD_* variables. Every command takes --json; a new
key's secret is printed once, never logged.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import IO, Any

import click

from supportd import runtime
from supportd.cli.settings import STORE_SETTINGS, config_from, output_option, setting_options
from supportd.cli.store import with_store
from supportd.domain import clock, plans
from supportd.domain.accounts import UNLIMITED, AccessKey, Account, AuditEntry, AuditQuery
from supportd.domain.errors import InvalidTime
from supportd.operations import accounts as admin
from supportd.storage.base import Store

AUDIT_PAGE = 1000
_RELATIVE = re.compile(r"(\d+)\s*([smhd])")
_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


# The options that say which store to use (as for `supportd serve`).
store_options = setting_options(STORE_SETTINGS)
# ... and the server key that seals access keys' secrets.
sealing_store_options = setting_options((*STORE_SETTINGS, "server_key"))


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


def _emit(as_json: bool, document: Any, text: str) -> None:
    if as_json:
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(text)


_time = clock.optional_case_time


# --- accounts -------------------------------------------------------------------------


def _limit_text(value: float | None) -> str | float:
    if value is None:
        return "default"
    if value == UNLIMITED:
        return "none"
    return int(value) if float(value).is_integer() else value


def account_document(account: Account) -> dict[str, Any]:
    return {
        "accountId": account.account_id,
        "email": account.email,
        "plan": account.plan,
        "limits": {
            "casesPerHour": _limit_text(account.limits.cases_per_hour),
            "caseApiTps": _limit_text(account.limits.case_api_tps),
            "advisorTps": _limit_text(account.limits.advisor_tps),
        },
        "created": _time(account.created_ms),
    }


def _account_table(accounts: list[Account]) -> str:
    rows = [("ACCOUNT", "PLAN", "EMAIL", "CASES/HOUR", "CASE TPS", "TA TPS", "CREATED")]
    for a in accounts:
        limits = account_document(a)["limits"]
        rows.append(
            (
                a.account_id,
                a.plan,
                a.email,
                str(limits["casesPerHour"]),
                str(limits["caseApiTps"]),
                str(limits["advisorTps"]),
                _time(a.created_ms) or "",
            )
        )
    return _table(rows)


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@click.group()
def accounts() -> None:
    """Create, list, change and delete accounts (their plan, e-mail and limits)."""


@accounts.command("create")
@click.argument("account_id")
@click.option("--email", required=True, help="The account's e-mail address (submittedBy).")
@click.option(
    "--plan",
    required=True,
    type=click.Choice(plans.PLANS),
    help="Support plan: basic and developer get no API access, business all but "
    "critical severity, enterprise everything.",
)
@json_option
@store_options
def accounts_create(account_id: str, email: str, plan: str, as_json: bool, **options: Any) -> None:
    """Create an account."""
    account = with_store(
        config_from(options),
        lambda store: admin.create_account(store, account_id, email, plan, clock.now_ms()),
    )
    _emit(as_json, account_document(account), f"created account {account_id} ({plan})")


@accounts.command("list")
@json_option
@store_options
def accounts_list(as_json: bool, **options: Any) -> None:
    """List the accounts."""
    found = with_store(config_from(options), lambda store: store.list_accounts())
    if as_json:
        _emit(True, [account_document(a) for a in found], "")
    elif found:
        click.echo(_account_table(found))
    else:
        click.echo("no accounts")


@accounts.command("set-plan")
@click.argument("account_id")
@click.argument("plan", type=click.Choice(plans.PLANS))
@json_option
@store_options
def accounts_set_plan(account_id: str, plan: str, as_json: bool, **options: Any) -> None:
    """Change an account's support plan."""
    _update_account(options, account_id, as_json, f"plan {plan}", plan=plan)


@accounts.command("set-email")
@click.argument("account_id")
@click.argument("email")
@json_option
@store_options
def accounts_set_email(account_id: str, email: str, as_json: bool, **options: Any) -> None:
    """Change an account's e-mail address."""
    _update_account(options, account_id, as_json, f"e-mail {email}", email=email)


def _update_account(
    options: dict[str, Any], account_id: str, as_json: bool, now_has: str, **change: Any
) -> None:
    account = with_store(
        config_from(options), lambda store: admin.update_account(store, account_id, **change)
    )
    _emit(as_json, account_document(account), f"account {account_id} now has {now_has}")


@accounts.command("set-limits")
@click.argument("account_id")
@click.option("--cases-per-hour", help="Cases the account may create per hour.")
@click.option("--case-api-tps", help="Case API requests per second (per server process).")
@click.option("--advisor-tps", help="Trusted Advisor requests per second (per process).")
@json_option
@store_options
def accounts_set_limits(
    account_id: str,
    cases_per_hour: str | None,
    case_api_tps: str | None,
    advisor_tps: str | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Give an account its own limits: a number, `none` (no limit, whatever --limits
    says) or `default` (the deployment's --limits). Limits not given are kept."""
    account = with_store(
        config_from(options),
        lambda store: admin.set_limits(
            store,
            account_id,
            cases_per_hour=cases_per_hour,
            case_api_tps=case_api_tps,
            advisor_tps=advisor_tps,
        ),
    )
    limits = account_document(account)["limits"]
    _emit(
        as_json,
        account_document(account),
        f"account {account_id}: cases per hour {limits['casesPerHour']}, case API TPS "
        f"{limits['caseApiTps']}, Trusted Advisor TPS {limits['advisorTps']}",
    )


@accounts.command("delete")
@click.argument("account_id")
@json_option
@store_options
def accounts_delete(account_id: str, as_json: bool, **options: Any) -> None:
    """Delete an account and its access keys (its cases and audit rows stay)."""
    with_store(config_from(options), lambda store: admin.delete_account(store, account_id))
    _emit(as_json, {"accountId": account_id, "deleted": True}, f"deleted account {account_id}")


# --- keys -------------------------------------------------------------------------------


def key_document(key: AccessKey, now_ms: int) -> dict[str, Any]:
    document: dict[str, Any] = {
        "accessKeyId": key.access_key_id,
        "accountId": key.account_id,
        "userName": key.user_name,
        "status": admin.key_status(key, now_ms),
        "temporary": key.temporary,
        "created": _time(key.created_ms),
    }
    if key.expires_ms is not None:
        document["expiration"] = _time(key.expires_ms)
    if key.revoked_ms is not None:
        document["revoked"] = _time(key.revoked_ms)
    return document


@click.group()
def keys() -> None:
    """Create, list and revoke access keys."""


@keys.command("create")
@click.option("--account", "account_id", required=True, help="The key's account.")
@click.option(
    "--user",
    "user_name",
    help="The caller's name, shown in submittedBy as `<user> (User) <e-mail>` "
    "(default: the access key id).",
)
@click.option(
    "--temporary",
    is_flag=True,
    help="A temporary key: it needs its session token (x-amz-security-token) and expires.",
)
@click.option(
    "--expires-in",
    type=int,
    default=None,
    help="Seconds a temporary key lasts (default 3600).",
)
@json_option
@sealing_store_options
def keys_create(
    account_id: str,
    user_name: str | None,
    temporary: bool,
    expires_in: int | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Create an access key; its secret (and session token) are printed only now."""
    if expires_in is not None and not temporary:
        raise click.UsageError("--expires-in applies to --temporary keys")
    lifetime = (3600 if expires_in is None else expires_in) if temporary else None

    config = config_from(options)

    async def work(store: Store) -> admin.NewKey:
        return await admin.create_key(
            store,
            runtime.open_secret_box(config),
            account_id,
            clock.now_ms(),
            user_name=user_name,
            expires_in_s=lifetime,
        )

    made = with_store(config, work)
    document: dict[str, Any] = {
        "accessKeyId": made.key.access_key_id,
        "secretAccessKey": made.secret_access_key,
        "accountId": made.key.account_id,
        "userName": made.key.user_name,
    }
    lines = [
        f"access key id:     {made.key.access_key_id}",
        f"secret access key: {made.secret_access_key}",
    ]
    if made.session_token is not None:
        document["sessionToken"] = made.session_token
        document["expiration"] = _time(made.key.expires_ms)
        lines.append(f"session token:     {made.session_token}")
        lines.append(f"expires:           {document['expiration']}")
    lines.append("The secret is shown only this once: keep it safe.")
    _emit(as_json, document, "\n".join(lines))


@keys.command("list")
@click.option("--account", "account_id", help="Only this account's keys.")
@json_option
@store_options
def keys_list(account_id: str | None, as_json: bool, **options: Any) -> None:
    """List access keys (never their secrets)."""
    found = with_store(config_from(options), lambda store: store.list_keys(account_id))
    now = clock.now_ms()
    if as_json:
        _emit(True, [key_document(k, now) for k in found], "")
        return
    if not found:
        click.echo("no access keys")
        return
    rows = [("ACCESS KEY ID", "ACCOUNT", "USER", "STATUS", "CREATED", "EXPIRES")]
    for key in found:
        rows.append(
            (
                key.access_key_id,
                key.account_id,
                key.user_name,
                admin.key_status(key, now),
                _time(key.created_ms) or "",
                _time(key.expires_ms) or "",
            )
        )
    click.echo(_table(rows))


@keys.command("revoke")
@click.argument("access_key_id")
@json_option
@store_options
def keys_revoke(access_key_id: str, as_json: bool, **options: Any) -> None:
    """Revoke an access key: requests signed with it fail from now on."""
    key = with_store(
        config_from(options), lambda store: admin.revoke_key(store, access_key_id, clock.now_ms())
    )
    _emit(as_json, key_document(key, clock.now_ms()), f"revoked {access_key_id}")


# --- audit ------------------------------------------------------------------------------


def parse_since(text: str, now_ms: int) -> int:
    """A time: `15m`, `2h`, `7d` ago, a date (`YYYY-MM-DD`, UTC) or an ISO-8601 instant."""
    match = _RELATIVE.fullmatch(text.strip())
    if match:
        return now_ms - int(match.group(1)) * _UNITS_MS[match.group(2)]
    try:
        return clock.parse_time_filter(text)
    except InvalidTime:
        raise click.BadParameter(
            f"{text!r} is not a time: use e.g. 15m, 2h, 7d, 2026-01-31 or 2026-01-31T12:00:00Z"
        ) from None


def audit_document(entry: AuditEntry) -> dict[str, Any]:
    """A row as CloudTrail names its fields."""
    return {
        "eventTime": clock.format_case_time(entry.at_ms),
        "eventName": entry.operation,
        "requestId": entry.request_id,
        "accountId": entry.account_id,
        "accessKeyId": entry.access_key_id,
        "userIdentity": entry.caller,
        "sourceIPAddress": entry.source_ip,
        "userAgent": entry.user_agent,
        "httpStatus": entry.http_status,
        "errorCode": entry.error_code,
    }


def _audit_line(entry: AuditEntry) -> str:
    return "  ".join(
        (
            clock.format_case_time(entry.at_ms),
            entry.account_id or "-",
            entry.access_key_id or "-",
            entry.operation or "-",
            str(entry.http_status),
            entry.error_code or "ok",
            entry.source_ip or "-",
            entry.caller or "-",
            entry.request_id,
        )
    )


@click.command()
@click.option("--account", "account_id", help="Only calls of this account.")
@click.option("--operation", help="Only this operation, e.g. CreateCase.")
@click.option("--error-code", help="Only calls that failed with this code.")
@click.option("--errors", "only_errors", is_flag=True, help="Only calls that failed.")
@click.option("--ok", "only_ok", is_flag=True, help="Only calls that succeeded.")
@click.option("--since", help="From this time on: 15m, 2h, 7d (ago), a date or an instant.")
@click.option("--until", help="Up to this time (same forms as --since).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many rows.")
@output_option("the rows")
@json_option
@store_options
def audit(
    account_id: str | None,
    operation: str | None,
    error_code: str | None,
    only_errors: bool,
    only_ok: bool,
    since: str | None,
    until: str | None,
    limit: int | None,
    output: str,
    as_json: bool,
    **options: Any,
) -> None:
    """The audit trail: one row per API call, oldest first; --json writes JSON lines
    (CloudTrail's field names)."""
    if only_errors and only_ok:
        raise click.UsageError("--errors and --ok exclude each other")
    now = clock.now_ms()
    base = AuditQuery(
        limit=AUDIT_PAGE,
        account_id=account_id,
        operation=operation,
        error_code=error_code,
        outcome="error" if only_errors else "ok" if only_ok else None,
        since_ms=parse_since(since, now) if since else None,
        until_ms=parse_since(until, now) if until else None,
    )

    def write_all(stream: IO[str]) -> Callable[[Store], Awaitable[int]]:
        async def work(store: Store) -> int:
            written = 0
            async for page in _audit_pages(store, base, limit):
                for entry in page:
                    stream.write(
                        json.dumps(audit_document(entry), separators=(",", ":"))
                        if as_json
                        else _audit_line(entry)
                    )
                    stream.write("\n")
                written += len(page)
            return written

        return work

    with click.open_file(output, "w", encoding="utf-8") as stream:
        with_store(config_from(options), write_all(stream))


async def _audit_pages(
    store: Store, base: AuditQuery, limit: int | None
) -> AsyncIterator[list[AuditEntry]]:
    """Matching rows a page at a time (keyset on seq): any size streams."""
    found = 0
    after = 0
    while limit is None or found < limit:
        page_size = AUDIT_PAGE if limit is None else min(AUDIT_PAGE, limit - found)
        page = await store.list_audit(dataclasses.replace(base, limit=page_size, after_seq=after))
        if page:
            yield page
        found += len(page)
        if len(page) < page_size:
            break
        after = page[-1].seq


COMMANDS = (accounts, keys, audit)
