"""Administering accounts and access keys (the `supportd accounts|keys` commands).

Secrets are made here, sealed with the server key before they reach the store, and
handed back once to the caller; nothing here logs them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from supportd.domain import plans
from supportd.domain.accounts import (
    UNLIMITED,
    AccessKey,
    Account,
    AccountExists,
    AccountNotFound,
    LimitOverrides,
    is_account_id,
    new_access_key_id,
    new_secret_access_key,
    new_session_token,
    token_hash,
)
from supportd.domain.addresses import is_valid_email
from supportd.security.secretbox import SecretBox
from supportd.storage.base import Store

MAX_USER_NAME = 64
MAX_EXPIRY_S = 7 * 24 * 3600


class AdminError(ValueError):
    """A request the operator can correct; the message says how."""


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key as created: the only time its secret (and session token) is seen."""

    key: AccessKey
    secret_access_key: str
    session_token: str | None


def _check_plan(plan: str) -> None:
    if plan not in plans.PLANS:
        raise AdminError(f"unknown plan {plan!r}: use one of {', '.join(plans.PLANS)}")


async def _account(store: Store, account_id: str) -> Account:
    account = await store.get_account(account_id)
    if account is None:
        raise AdminError(f"no account {account_id}")
    return account


async def create_account(
    store: Store, account_id: str, email: str, plan: str, now_ms: int
) -> Account:
    if not is_account_id(account_id):
        raise AdminError(f"an account id is 12 digits, not {account_id!r}")
    if not is_valid_email(email):
        raise AdminError(f"not an e-mail address: {email!r}")
    _check_plan(plan)
    account = Account(account_id, email, plan, LimitOverrides(), now_ms)
    try:
        await store.create_account(account)
    except AccountExists:
        raise AdminError(f"account {account_id} exists already") from None
    return account


async def update_account(
    store: Store, account_id: str, *, plan: str | None = None, email: str | None = None
) -> Account:
    if plan is not None:
        _check_plan(plan)
    if email is not None and not is_valid_email(email):
        raise AdminError(f"not an e-mail address: {email!r}")
    updated = await store.update_account(account_id, plan=plan, email=email)
    if updated is None:
        raise AdminError(f"no account {account_id}")
    return updated


def parse_limit(text: str, integer: bool) -> float | None:
    """A limit as the CLI takes it: a positive number, `none` (no limit) or `default`
    (the deployment's). Returns the stored value: a number, UNLIMITED or None."""
    lowered = text.strip().lower()
    if lowered == "default":
        return None
    if lowered in ("none", "unlimited"):
        return UNLIMITED
    try:
        value = int(lowered) if integer else float(lowered)
    except ValueError:
        raise AdminError(f"a limit is a number, 'none' or 'default', not {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise AdminError(f"a limit must be above 0, not {text!r}")
    return value


async def set_limits(
    store: Store,
    account_id: str,
    *,
    cases_per_hour: str | None = None,
    case_api_tps: str | None = None,
    advisor_tps: str | None = None,
) -> Account:
    """Change the given limits of an account (each a number, `none` or `default`)."""
    account = await _account(store, account_id)
    limits = account.limits
    if cases_per_hour is not None:
        value = parse_limit(cases_per_hour, integer=True)
        limits = replace(limits, cases_per_hour=None if value is None else int(value))
    if case_api_tps is not None:
        limits = replace(limits, case_api_tps=parse_limit(case_api_tps, integer=False))
    if advisor_tps is not None:
        limits = replace(limits, advisor_tps=parse_limit(advisor_tps, integer=False))
    updated = await store.update_account(account_id, limits=limits)
    if updated is None:
        raise AdminError(f"no account {account_id}")
    return updated


async def delete_account(store: Store, account_id: str) -> None:
    if not await store.delete_account(account_id):
        raise AdminError(f"no account {account_id}")


async def create_key(
    store: Store,
    box: SecretBox,
    account_id: str,
    now_ms: int,
    *,
    user_name: str | None = None,
    expires_in_s: int | None = None,
) -> NewKey:
    """A new key of the account; with expires_in_s, a temporary key that needs its
    session token (x-amz-security-token) and stops working after that many seconds."""
    temporary = expires_in_s is not None
    if expires_in_s is not None and not 1 <= expires_in_s <= MAX_EXPIRY_S:
        raise AdminError(f"a temporary key lasts 1 to {MAX_EXPIRY_S} seconds")
    if user_name is not None and not (
        0 < len(user_name) <= MAX_USER_NAME and user_name.isprintable() and "<" not in user_name
    ):
        raise AdminError(f"a user name is 1 to {MAX_USER_NAME} printable characters, no '<'")
    key_id = new_access_key_id(temporary)
    secret = new_secret_access_key()
    token = new_session_token() if temporary else None
    key = AccessKey(
        access_key_id=key_id,
        account_id=account_id,
        user_name=user_name or key_id,
        secret_sealed=box.seal(secret, key_id),
        session_token_hash=token_hash(token) if token is not None else None,
        expires_ms=now_ms + expires_in_s * 1000 if expires_in_s is not None else None,
        created_ms=now_ms,
    )
    try:
        await store.create_key(key)
    except AccountNotFound:
        raise AdminError(f"no account {account_id}") from None
    return NewKey(key, secret, token)


async def revoke_key(store: Store, access_key_id: str, now_ms: int) -> AccessKey:
    key = await store.revoke_key(access_key_id, now_ms)
    if key is None:
        raise AdminError(f"no access key {access_key_id}")
    return key


def key_status(key: AccessKey, now_ms: int) -> str:
    if key.revoked_ms is not None:
        return "revoked"
    if key.expires_ms is not None and now_ms >= key.expires_ms:
        return "expired"
    return "active"
