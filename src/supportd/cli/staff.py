"""`supportd staff` and `supportd cases`: the support side from the command line.

Every command works on the local store (the store settings of `supportd serve`:
--data-dir or --database, from options or SUPPORTD_* variables) or, with --url and
--token (SUPPORTD_STAFF_URL, SUPPORTD_STAFF_TOKEN), on a running server's staff API.
Both go through the same operations (supportd.operations.staff), so `--json` prints the
same JSON either way. Locally nobody is logged in: commands that act on a case say who
acts with --as NAME (SUPPORTD_STAFF_AS).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import click

from supportd import runtime
from supportd.cli.settings import STORE_SETTINGS, config_from, setting_options
from supportd.cli.store import with_store
from supportd.domain import lifecycle, sla, staff
from supportd.operations import console_auth
from supportd.operations import staff as ops
from supportd.operations.context import Context
from supportd.operations.staff import StaffError

# The settings a local command needs: where the store is, and what staff actions use.
LOCAL_SETTINGS = (
    *STORE_SETTINGS,
    "reference_dir",
    "support_display_name",
    "sla_targets",
    "sla_business_hours",
    "auto_resolve_after_hours",
    "fake_clock_file",
)
REMOTE_TIMEOUT_S = 30.0

LocalCall = Callable[[Context], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Remote:
    method: str
    path: str
    params: Mapping[str, Sequence[str]] | None = None
    body: Mapping[str, Any] | None = None


def _options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--url/--token for a server, the local store's settings otherwise, and --json."""
    func = setting_options(LOCAL_SETTINGS, help_prefix="Local store: ")(func)
    func = click.option(
        "--token",
        envvar="SUPPORTD_STAFF_TOKEN",
        default=None,
        help="A staff token for --url [env SUPPORTD_STAFF_TOKEN].",
    )(func)
    func = click.option(
        "--url",
        envvar="SUPPORTD_STAFF_URL",
        default=None,
        help="Use this server's staff API (e.g. http://127.0.0.1:4599) instead of the local"
        " store [env SUPPORTD_STAFF_URL].",
    )(func)
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


def _as_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--as",
        "as_name",
        envvar="SUPPORTD_STAFF_AS",
        default=None,
        help="Local store: the staff member who acts [env SUPPORTD_STAFF_AS]. With --url the"
        " token says who acts.",
    )(func)


def _run_local(options: Mapping[str, Any], call: LocalCall) -> dict[str, Any]:
    from supportd.reference import catalogue

    config = config_from(options, LOCAL_SETTINGS)
    reference = catalogue.load(config.reference_dir)
    clock = runtime.open_clock(config)
    return with_store(
        config,
        lambda store: call(Context(config=config, catalogue=reference, store=store, clock=clock)),
    )


def _run_remote(url: str, token: str | None, remote: Remote) -> dict[str, Any]:
    if not token:
        raise click.UsageError("--url needs --token (or SUPPORTD_STAFF_TOKEN)")
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        # urlopen would also open file: and other schemes.
        raise click.UsageError(f"--url must be an http:// or https:// URL, not {url!r}")
    address = url.rstrip("/") + "/staff/api" + remote.path
    if remote.params:
        query = [(k, v) for k, values in remote.params.items() for v in values]
        address += "?" + urllib.parse.urlencode(query)
    data = json.dumps(remote.body).encode() if remote.body is not None else None
    request = urllib.request.Request(  # noqa: S310 (an http(s) URL the operator gives)
        address,
        data=data,
        method=remote.method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        # http or https only (checked above).
        with urllib.request.urlopen(  # noqa: S310  # nosec B310
            request, timeout=REMOTE_TIMEOUT_S
        ) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result
    except urllib.error.HTTPError as exc:
        try:
            error = json.loads(exc.read())["error"]
            message = f"{error['message']} ({error['code']}, HTTP {exc.code})"
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {exc.code} from {address}"
        raise click.ClickException(message) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise click.ClickException(f"cannot reach {url}: {exc}") from None


def _call(options: Mapping[str, Any], local: LocalCall, remote: Remote) -> dict[str, Any]:
    url = options.get("url")
    try:
        if url:
            return _run_remote(url, options.get("token"), remote)
        return _run_local(options, local)
    except StaffError as exc:
        raise click.ClickException(f"{exc.message} ({exc.code})") from None


def _print(result: Any, as_json: bool, text: Callable[[], str]) -> None:
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        click.echo(text())


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


# --- text output -----------------------------------------------------------------------


def _short_time(value: str | None) -> str:
    return value[:16].replace("T", " ") + "Z" if value else "-"


def _sla_text(shape: Mapping[str, Any]) -> str:
    s = shape["sla"]
    if s["state"] == "running":
        return ("BREACHED " if s["breached"] else "due ") + _short_time(s["dueTime"])
    if s["state"] == "paused":
        left = s["remainingMs"] or 0
        return ("paused, overdue " if left < 0 else "paused, left ") + sla.format_duration(
            abs(left) // 60_000 * 60_000
        )
    return "-"


def _case_line(c: Mapping[str, Any]) -> str:
    return (
        f"{c['displayId']:<12} {c['status']:<26} {c['severityCode']:<8} {_sla_text(c):<28}"
        f" {c['assignee'] or '-':<12} {c['accountId']}  {c['subject']}"
    )


def _case_table(cases: Sequence[Mapping[str, Any]], next_token: str | None) -> str:
    header = (
        f"{'DISPLAY ID':<12} {'STATUS':<26} {'SEVERITY':<8} {'SLA':<28} {'ASSIGNEE':<12}"
        " ACCOUNT       SUBJECT"
    )
    lines = [header, *(_case_line(c) for c in cases)]
    if not cases:
        lines.append("(no cases)")
    if next_token:
        lines.append(f"more: --next-token {next_token}")
    return "\n".join(lines)


def _case_detail(detail: Mapping[str, Any]) -> str:
    c = detail["case"]
    lines = [
        f"case {c['displayId']}  {c['caseId']}",
        f"  subject:   {c['subject']}",
        f"  account:   {c['accountId']} ({c['submittedBy']})",
        f"  status:    {c['status']}    severity: {c['severityCode']}    language: {c['language']}",
        f"  service:   {c['serviceCode'] or '-'} / {c['categoryCode'] or '-'}",
        f"  assignee:  {c['assignee'] or '-'}",
        f"  sla:       {c['sla']['target'] or '-'}: {_sla_text(c)}",
        f"  created:   {c['timeCreated']}",
    ]
    if c["autoResolveTime"]:
        lines.append(f"  auto-resolves at {c['autoResolveTime']}")
    lines.append("")
    lines.append(f"communications ({len(detail['communications'])}, oldest first):")
    for m in detail["communications"]:
        who = m["submittedBy"] + (f" [staff: {m['staffName']}]" if m["staffName"] else "")
        lines.append(f"--- {m['timeCreated']}  {who}")
        lines.extend("    " + line for line in m["body"].splitlines() or [""])
    if detail["notes"]:
        lines.append("")
        lines.append("internal notes:")
        for n in detail["notes"]:
            lines.append(f"--- {n['timeCreated']}  {n['staffName']}")
            lines.extend("    " + line for line in n["body"].splitlines() or [""])
    lines.append("")
    lines.append("history:")
    for e in detail["history"]:
        actor = e["actor"]
        lines.append(
            f"  {e['time']}  {e['kind']:<10} {e['from'] or '-'} -> {e['to'] or '-'}"
            f"  by {actor['kind']} {actor['name']}"
        )
    return "\n".join(lines)


def _action_text(result: Mapping[str, Any], what: str) -> str:
    c = result["case"]
    change = result.get("statusChange")
    status = f"{change['from']} -> {change['to']}" if change else c["status"]
    suffix = "" if result["changed"] else " (nothing changed)"
    return (
        f"case {c['displayId']}: {what}; status {status}; assignee {c['assignee'] or '-'}{suffix}"
    )


def _search_text(result: Mapping[str, Any]) -> str:
    lines = []
    for hit in result["results"]:
        lines.append(_case_line(hit["case"]))
        for h in hit["highlights"]:
            text, marked, last = h["text"], [], 0
            for start, end in h["matches"]:
                marked.append(text[last:start] + "[" + text[start:end] + "]")
                last = end
            marked.append(text[last:])
            lines.append(f"    {h['field']}: " + "".join(marked).replace("\n", " "))
    if not lines:
        lines.append("(no matches)")
    if result.get("truncated"):
        lines.append("(cut: only the newest matches were ranked; add words or filters)")
    if result.get("nextToken"):
        lines.append(f"more: --next-token {result['nextToken']}")
    return "\n".join(lines)


def _body_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--body", required=True, help="The text; `-` reads it from standard input."
    )(func)


def _read_body(body: str) -> str:
    return sys.stdin.read() if body == "-" else body


# --- supportd staff --------------------------------------------------------------------------


@click.group(name="staff")
def staff_group() -> None:
    """Support staff and their API tokens."""


@staff_group.command(name="create")
@click.argument("name")
@click.option("--email", required=True, help="The staff member's e-mail address.")
@click.option(
    "--role", type=click.Choice(staff.ROLES), default=staff.AGENT, show_default=True, help="Role."
)
@_options
def staff_create(name: str, email: str, role: str, as_json: bool, **options: Any) -> None:
    """Create a staff member."""
    body = {"name": name, "email": email, "role": role}
    result = _call(
        options,
        lambda ctx: ops.create_staff(ctx, None, body),
        Remote("POST", "/staff", body=body),
    )
    _print(result, as_json, lambda: f"created {role} {name} <{email}>")


@staff_group.command(name="list")
@_options
def staff_list(as_json: bool, **options: Any) -> None:
    """List staff members."""
    result = _call(options, lambda ctx: ops.list_staff(ctx, None), Remote("GET", "/staff"))

    def text() -> str:
        lines = [f"{'NAME':<20} {'ROLE':<6} {'ACTIVE':<7} EMAIL"]
        for m in result["staff"]:
            lines.append(
                f"{m['name']:<20} {m['role']:<6} {'yes' if m['active'] else 'no':<7} {m['email']}"
            )
        return "\n".join(lines)

    _print(result, as_json, text)


def _set_active(name: str, active: bool, as_json: bool, options: Mapping[str, Any]) -> None:
    verb = "enable" if active else "disable"
    result = _call(
        options,
        lambda ctx: ops.set_staff_active(ctx, None, name, active),
        Remote("POST", f"/staff/{_quote(name)}/{verb}"),
    )
    _print(result, as_json, lambda: f"{name}: {'active' if active else 'disabled'}")


@staff_group.command(name="disable")
@click.argument("name")
@_options
def staff_disable(name: str, as_json: bool, **options: Any) -> None:
    """Disable a staff member: their tokens stop working at once."""
    _set_active(name, False, as_json, options)


@staff_group.command(name="enable")
@click.argument("name")
@_options
def staff_enable(name: str, as_json: bool, **options: Any) -> None:
    """Enable a disabled staff member again."""
    _set_active(name, True, as_json, options)


def _password_from_stdin() -> str:
    line = sys.stdin.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise click.UsageError("--password-stdin: standard input holds no password")
    return password


@staff_group.command(name="password")
@click.argument("name")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (required: a password"
    " is never taken from the command line, where others could see it).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@setting_options(LOCAL_SETTINGS)
def staff_password(name: str, password_stdin: bool, as_json: bool, **options: Any) -> None:
    """Set NAME's password for the staff console (/console/), where they sign in with
    their e-mail address. Their console sessions end. Works on the local store."""
    if not password_stdin:
        raise click.UsageError("give the password on standard input with --password-stdin")
    password = _password_from_stdin()

    async def call(ctx: Context) -> dict[str, Any]:
        await console_auth.set_password(ctx.store, name, password, ctx.clock.now_ms())
        member = await ctx.store.get_staff(name)
        assert member is not None
        return {"staff": ops.staff_shape(member), "consolePassword": True}

    try:
        result = _run_local(options, call)
    except StaffError as exc:
        raise click.ClickException(f"{exc.message} ({exc.code})") from None
    email = result["staff"]["email"]
    _print(result, as_json, lambda: f"{name} can sign in to /console/ as {email}")


@staff_group.command(name="token")
@click.argument("name")
@_options
def staff_token(name: str, as_json: bool, **options: Any) -> None:
    """Create an API token for NAME. It is shown once (the last word of the output) and
    stored only as a hash."""
    result = _call(
        options,
        lambda ctx: ops.create_token(ctx, None, name),
        Remote("POST", f"/staff/{_quote(name)}/tokens"),
    )
    _print(
        result,
        as_json,
        lambda: (
            f"token {result['tokenId']} for {name} (shown once; revoke with `supportd"
            f" staff revoke {result['tokenId']}`): {result['token']}"
        ),
    )


@staff_group.command(name="tokens")
@click.argument("name", required=False)
@_options
def staff_tokens(name: str | None, as_json: bool, **options: Any) -> None:
    """List the tokens of NAME (or of everyone): ids and dates, never the tokens."""
    remote = (
        Remote("GET", f"/staff/{_quote(name)}/tokens")
        if name
        else Remote("GET", "/staff/me/tokens")  # remote: your own
    )
    result = _call(options, lambda ctx: ops.list_tokens(ctx, None, name), remote)

    def text() -> str:
        lines = [f"{'TOKEN ID':<14} {'STAFF':<20} {'CREATED':<18} REVOKED"]
        for t in result["tokens"]:
            lines.append(
                f"{t['tokenId']:<14} {t['staffName']:<20} {_short_time(t['timeCreated']):<18}"
                f" {_short_time(t['timeRevoked'])}"
            )
        return "\n".join(lines)

    _print(result, as_json, text)


@staff_group.command(name="revoke")
@click.argument("token_id")
@_options
def staff_revoke(token_id: str, as_json: bool, **options: Any) -> None:
    """Revoke a token by its id: it stops working at once."""
    result = _call(
        options,
        lambda ctx: ops.revoke_token(ctx, None, token_id),
        Remote("POST", f"/tokens/{_quote(token_id)}/revoke"),
    )
    _print(result, as_json, lambda: f"revoked token {token_id}")


# --- supportd cases ----------------------------------------------------------------------------


@click.group(name="cases")
def cases_group() -> None:
    """Cases of every account, as support staff see them."""


@cases_group.command(name="list")
@click.option(
    "--status",
    multiple=True,
    help="A status to list (repeatable); `open` (default) or `all`.",
)
@click.option("--account", default=None, help="Only this account's cases.")
@click.option("--severity", default=None, help="Only this severity.")
@click.option("--service", default=None, help="Only this service code.")
@click.option("--category", default=None, help="Only this category code.")
@click.option("--language", default=None, help="Only this language.")
@click.option("--assignee", default=None, help="A staff member's name, `me` or `none`.")
@click.option(
    "--sla", "sla_state", type=click.Choice(staff.SLA_FILTERS), default=None, help="SLA state."
)
@click.option("--breaching", is_flag=True, help="Only cases past their SLA due time.")
@click.option("--created-after", default=None, help="YYYY-MM-DD or an ISO-8601 time.")
@click.option("--created-before", default=None, help="YYYY-MM-DD or an ISO-8601 time.")
@click.option("--sort", type=click.Choice(staff.SORTS), default=staff.SORT_SLA, show_default=True)
@click.option("--limit", type=click.IntRange(1, ops.MAX_PAGE), default=ops.DEFAULT_PAGE)
@click.option("--next-token", default=None, help="The page after the one that printed it.")
@_options
def cases_list(
    status: tuple[str, ...],
    account: str | None,
    severity: str | None,
    service: str | None,
    category: str | None,
    language: str | None,
    assignee: str | None,
    sla_state: str | None,
    breaching: bool,
    created_after: str | None,
    created_before: str | None,
    sort: str,
    limit: int,
    next_token: str | None,
    as_json: bool,
    **options: Any,
) -> None:
    """List cases, soonest SLA due time first (open cases by default)."""
    if breaching:
        if sla_state not in (None, staff.BREACHING):
            raise click.UsageError("--breaching and --sla do not go together")
        sla_state = staff.BREACHING
    named = {
        "status": list(status),
        "account": account,
        "severity": severity,
        "service": service,
        "category": category,
        "language": language,
        "assignee": assignee,
        "sla": sla_state,
        "createdAfter": created_after,
        "createdBefore": created_before,
        "sort": sort,
        "limit": str(limit),
        "nextToken": next_token,
    }
    params: dict[str, list[str]] = {
        key: value if isinstance(value, list) else [value] for key, value in named.items() if value
    }
    result = _call(
        options,
        lambda ctx: ops.list_cases(ctx, None, params),
        Remote("GET", "/cases", params=params),
    )
    _print(result, as_json, lambda: _case_table(result["cases"], result.get("nextToken")))


@cases_group.command(name="search")
@click.argument("query")
@click.option("--account", default=None, help="Only this account's cases.")
@click.option("--status", multiple=True, help="Statuses (repeatable); default all.")
@click.option("--limit", type=click.IntRange(1, ops.MAX_PAGE), default=ops.DEFAULT_SEARCH_PAGE)
@click.option("--next-token", default=None)
@_options
def cases_search(
    query: str,
    account: str | None,
    status: tuple[str, ...],
    limit: int,
    next_token: str | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Full-text search over subjects and communications, best match first."""
    params: dict[str, list[str]] = {"q": [query], "limit": [str(limit)]}
    if account:
        params["account"] = [account]
    if status:
        params["status"] = list(status)
    if next_token:
        params["nextToken"] = [next_token]
    result = _call(
        options,
        lambda ctx: ops.search_cases(ctx, None, params),
        Remote("GET", "/search", params=params),
    )
    _print(result, as_json, lambda: _search_text(result))


@cases_group.command(name="show")
@click.argument("case")
@_options
def cases_show(case: str, as_json: bool, **options: Any) -> None:
    """A case (by case id or display id) with its thread, notes and history."""
    result = _call(
        options,
        lambda ctx: ops.show_case(ctx, None, case),
        Remote("GET", f"/cases/{_quote(case)}"),
    )
    _print(result, as_json, lambda: _case_detail(result))


def _act(
    options: Mapping[str, Any],
    case: str,
    path: str,
    body: dict[str, Any],
    operation: ops.CaseAction,
    as_name: str | None,
    as_json: bool,
    what: str,
) -> None:
    result = _call(
        options,
        lambda ctx: operation(ctx, None, case, body, as_name=as_name),
        Remote("POST", f"/cases/{_quote(case)}/{path}", body=body),
    )
    _print(result, as_json, lambda: _action_text(result, what))


@cases_group.command(name="reply")
@click.argument("case")
@_body_option
@click.option(
    "--status",
    type=click.Choice(sorted(lifecycle.STAFF_SETTABLE)),
    default=None,
    help="The status afterwards (default: pending-customer-action).",
)
@_as_option
@_options
def cases_reply(
    case: str, body: str, status: str | None, as_name: str | None, as_json: bool, **options: Any
) -> None:
    """Reply to the customer as support (they see the configured display name)."""
    payload: dict[str, Any] = {"body": _read_body(body)}
    if status:
        payload["status"] = status
    _act(options, case, "reply", payload, ops.reply, as_name, as_json, "replied")


@cases_group.command(name="note")
@click.argument("case")
@_body_option
@_as_option
@_options
def cases_note(case: str, body: str, as_name: str | None, as_json: bool, **options: Any) -> None:
    """Add an internal note: staff see it, the customer never does."""
    payload = {"body": _read_body(body)}
    _act(options, case, "notes", payload, ops.add_note, as_name, as_json, "note added")


@cases_group.command(name="assign")
@click.argument("case")
@click.argument("assignee", required=False)
@click.option("--unassign", is_flag=True, help="Leave the case to nobody.")
@_as_option
@_options
def cases_assign(
    case: str,
    assignee: str | None,
    unassign: bool,
    as_name: str | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Assign the case to ASSIGNEE (default: yourself), or --unassign it."""
    if unassign and assignee:
        raise click.UsageError("give an assignee or --unassign, not both")
    target = None if unassign else (assignee or "me")
    what = "unassigned" if target is None else f"assigned to {target}"
    _act(options, case, "assign", {"assignee": target}, ops.assign, as_name, as_json, what)


@cases_group.command(name="status")
@click.argument("case")
@click.argument("status")
@_as_option
@_options
def cases_status(
    case: str, status: str, as_name: str | None, as_json: bool, **options: Any
) -> None:
    """Set the case's status (work-in-progress, pending-customer-action, opened, resolved)."""
    _act(
        options, case, "status", {"status": status}, ops.set_status, as_name, as_json, "status set"
    )


@cases_group.command(name="resolve")
@click.argument("case")
@_as_option
@_options
def cases_resolve(case: str, as_name: str | None, as_json: bool, **options: Any) -> None:
    """Resolve the case."""
    _act(options, case, "resolve", {}, ops.resolve, as_name, as_json, "resolved")


COMMANDS = (staff_group, cases_group)
