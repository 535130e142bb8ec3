"""`supportd users`: the people who sign in to the Support Center (/support/).

Uses the store settings of `supportd serve` (--data-dir or --database), from options or
SUPPORTD_* variables. Every command takes --json. A password is read from standard
input, never from the command line (where other users of the machine could see it); a
one-time sign-in link is printed once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from supportd.cli.settings import STORE_SETTINGS, config_from, setting_options
from supportd.cli.store import with_store
from supportd.config import Config
from supportd.domain import clock
from supportd.domain.web_users import WebUser
from supportd.operations import web_users as ops
from supportd.storage.base import Store

T = TypeVar("T")

# The invite link's address and lifetime, and whether accounts must exist (sigv4).
LINK_SETTINGS = ("auth", "host", "port", "public_url", "web_invite_expiry_s")

store_options = setting_options(STORE_SETTINGS)
link_options = setting_options(STORE_SETTINGS + LINK_SETTINGS)


def _json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


def _run(options: dict[str, Any], work: Callable[[Config, Store], Awaitable[T]]) -> T:
    """Open the configured store, run `work`, close it; operator errors become one line."""
    config = config_from(options)
    try:
        return with_store(config, lambda store: work(config, store))
    except ops.UserError as exc:
        raise click.ClickException(str(exc)) from exc


_time = clock.optional_case_time


def status(user: WebUser) -> str:
    if not user.active:
        return "disabled"
    return "active" if user.password_hash is not None else "invited"


def user_document(user: WebUser) -> dict[str, Any]:
    document: dict[str, Any] = {
        "userId": user.user_id,
        "accountId": user.account_id,
        "email": user.email,
        "name": user.name,
        "status": status(user),
        "created": _time(user.created_ms),
    }
    if user.disabled_ms is not None:
        document["disabled"] = _time(user.disabled_ms)
    return document


def _emit(as_json: bool, document: Any, text: str) -> None:
    click.echo(json.dumps(document, indent=2) if as_json else text)


def _table(users: list[WebUser]) -> str:
    rows = [("USER", "ACCOUNT", "EMAIL", "NAME", "STATUS", "CREATED")]
    rows += [
        (u.user_id, u.account_id, u.email, u.name, status(u), _time(u.created_ms) or "")
        for u in users
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _read_password() -> str:
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    if password.endswith("\r"):
        password = password[:-1]
    if not password:
        raise click.UsageError("--password-stdin: standard input holds no password")
    return password


@click.group()
def users() -> None:
    """Create, list, disable and delete Support Center users (who sign in on /support/)."""


@users.command("create")
@click.option("--account", "account_id", required=True, help="The user's AWS account (12 digits).")
@click.option("--email", required=True, help="The e-mail address the user signs in with.")
@click.option("--name", default="", help="The user's name, shown as the author of their messages.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@click.option(
    "--invite",
    is_flag=True,
    help="Print a one-time sign-in link instead (the user picks a password).",
)
@_json_option
@link_options
def users_create(
    account_id: str,
    email: str,
    name: str,
    password_stdin: bool,
    invite: bool,
    as_json: bool,
    **options: Any,
) -> None:
    """Create a user of an account, with a password (--password-stdin) or a one-time
    sign-in link (--invite)."""
    if password_stdin == invite:
        raise click.UsageError("give exactly one of --password-stdin and --invite")
    password = _read_password() if password_stdin else None
    created = _run(
        options,
        lambda config, store: ops.create_user(
            store,
            config,
            account_id=account_id,
            email=email,
            name=name,
            password=password,
            now_ms=clock.now_ms(),
        ),
    )
    document = user_document(created.user)
    text = f"created user {created.user.email} ({created.user.user_id}) of account {account_id}"
    if created.invite_link:
        document["inviteLink"] = created.invite_link
        text += f"\none-time sign-in link (shown once): {created.invite_link}"
    _emit(as_json, document, text)


@users.command("list")
@click.option("--account", "account_id", default=None, help="Only this account's users.")
@_json_option
@store_options
def users_list(account_id: str | None, as_json: bool, **options: Any) -> None:
    """List users, in creation order."""
    found = _run(options, lambda _, store: store.list_web_users(account_id))
    if as_json:
        _emit(True, [user_document(u) for u in found], "")
    else:
        click.echo(_table(found) if found else "no users")


@users.command("invite")
@click.argument("user")
@_json_option
@link_options
def users_invite(user: str, as_json: bool, **options: Any) -> None:
    """Print a new one-time sign-in link for USER (id or e-mail); an earlier link stops
    working. The user chooses a new password with it."""
    link = _run(options, lambda config, store: ops.invite(store, config, user, clock.now_ms()))
    _emit(as_json, {"user": user, "inviteLink": link}, f"one-time sign-in link: {link}")


def _switch(name: str, disabled: bool, help_text: str, said: str) -> None:
    """`users disable` and `users enable`: one store call, the opposite way."""

    @users.command(name, help=help_text)
    @click.argument("user")
    @_json_option
    @store_options
    def command(user: str, as_json: bool, **options: Any) -> None:
        changed = _run(
            options, lambda _, store: ops.set_disabled(store, user, disabled, clock.now_ms())
        )
        _emit(as_json, user_document(changed), said.format(email=changed.email))


_switch(
    "disable",
    True,
    "Disable USER (id or e-mail): every session of theirs ends at once.",
    "disabled user {email}; sessions ended",
)
_switch("enable", False, "Enable a disabled USER (id or e-mail).", "enabled user {email}")


@users.command("delete")
@click.argument("user")
@_json_option
@store_options
def users_delete(user: str, as_json: bool, **options: Any) -> None:
    """Delete USER (id or e-mail) and their sessions (their cases and messages stay)."""
    deleted = _run(options, lambda _, store: ops.delete(store, user))
    _emit(
        as_json,
        {**user_document(deleted), "deleted": True},
        f"deleted user {deleted.email}",
    )
