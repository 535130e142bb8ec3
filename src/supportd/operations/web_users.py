"""Support Center users: administered with `supportd users`, signing in on /support/.

A user acts for their account through the same operations as the API: `principal`
makes the Principal (plan, limits) a signed-in user's requests run as, the way the
API's authenticators do for an access key.
"""

from __future__ import annotations

from dataclasses import dataclass

from supportd.config import Config
from supportd.domain.accounts import effective_limits, is_account_id
from supportd.domain.plans import ENTERPRISE
from supportd.domain.records import Principal
from supportd.domain.web_sessions import CUSTOMER
from supportd.domain.web_users import (
    WebUser,
    WebUserExists,
    email_problem,
    name_problem,
    new_secret,
    new_user_id,
    normalize_email,
    password_problem,
    secret_hash,
)
from supportd.operations import access, web_auth
from supportd.operations.web_auth import SignInResult
from supportd.security import passwords
from supportd.storage.base import Store

INVITE_PATH = "/support/invite/"
INCORRECT = "The email address or password is incorrect."
DISABLED = "This user is disabled. Ask your administrator to enable it."
NO_ACCOUNT = "This user's account is not set up on this server. Ask your administrator."


class UserError(Exception):
    """A `supportd users` request that cannot be carried out (one line for the operator)."""


@dataclass(frozen=True, slots=True)
class Created:
    user: WebUser
    invite_link: str | None  # the one-time sign-in link, shown once


# --- administration (supportd users) --------------------------------------------------


def invite_link(config: Config, token: str) -> str:
    # Not a bind: an invite link names a reachable host, never the wildcard address.
    wildcard = ("0.0.0.0", "::", "")  # noqa: S104  # nosec B104
    host = config.host if config.host not in wildcard else "localhost"
    base = config.public_url.rstrip("/") or f"http://{host}:{config.port}"
    return f"{base}{INVITE_PATH}{token}"


async def _check_account(store: Store, config: Config, account_id: str) -> None:
    if not is_account_id(account_id):
        raise UserError(f"{account_id!r} is not a 12-digit account id")
    if config.auth != "open" and await store.get_account(account_id) is None:
        raise UserError(f"no account {account_id}: create it first with `supportd accounts create`")


async def create_user(
    store: Store,
    config: Config,
    *,
    account_id: str,
    email: str,
    name: str,
    password: str | None,
    now_ms: int,
) -> Created:
    """A user with a password, or (password None) with a one-time sign-in link."""
    await _check_account(store, config, account_id)
    address = normalize_email(email)
    problem = email_problem(address) or name_problem(name)
    if password is not None:
        problem = problem or password_problem(password)
    if problem:
        raise UserError(problem)
    user = WebUser(
        user_id=new_user_id(),
        account_id=account_id,
        email=address,
        name=name.strip(),
        password_hash=await passwords.hash_async(password) if password is not None else None,
        created_ms=now_ms,
        password_changed_ms=now_ms if password is not None else None,
    )
    token = new_secret() if password is None else None
    try:
        await store.create_web_user(
            user,
            invite_hash=secret_hash(token) if token else None,
            invite_expires_ms=now_ms + config.web_invite_expiry_s * 1000 if token else None,
        )
    except WebUserExists:
        raise UserError(f"a user with the email address {address} exists already") from None
    return Created(user, invite_link(config, token) if token else None)


async def find_user(store: Store, ref: str) -> WebUser:
    """A user by id or e-mail address."""
    found = (
        await store.get_web_user(ref)
        if ref.startswith("user-")
        else await store.get_web_user_by_email(normalize_email(ref))
    )
    if found is None:
        raise UserError(f"no user {ref}")
    return found


async def invite(store: Store, config: Config, ref: str, now_ms: int) -> str:
    """A new one-time sign-in link for a user (the earlier one stops working)."""
    user = await find_user(store, ref)
    if not user.active:
        raise UserError(f"user {user.email} is disabled: enable it first")
    token = new_secret()
    await store.set_web_invite(
        user.user_id, secret_hash(token), now_ms + config.web_invite_expiry_s * 1000
    )
    return invite_link(config, token)


async def set_disabled(store: Store, ref: str, disabled: bool, now_ms: int) -> WebUser:
    user = await find_user(store, ref)
    changed = await store.set_web_user_disabled(
        user.user_id, (user.disabled_ms or now_ms) if disabled else None
    )
    if changed is None:
        raise UserError(f"no user {ref}")
    return changed


async def delete(store: Store, ref: str) -> WebUser:
    user = await find_user(store, ref)
    if not await store.delete_web_user(user.user_id):
        raise UserError(f"no user {ref}")
    return user


# --- acting as a user -------------------------------------------------------------------


async def principal(store: Store, config: Config, user: WebUser) -> Principal | None:
    """Whom a user's requests run as: their account, with its plan and limits, and the
    user as the author. An account without a record is served as the API serves it in
    open mode (enterprise plan); with signatures required it is not served at all."""
    account = await store.get_account(user.account_id)
    profile = access.limits_profile(config)
    if account is None:
        if config.auth != "open":
            return None
        return Principal(
            account_id=user.account_id,
            email=user.email,
            name=user.display_name,
            access_key_id="",
            plan=ENTERPRISE,
            limits=profile,
        )
    return Principal(
        account_id=user.account_id,
        email=user.email,
        name=user.display_name,
        access_key_id="",
        plan=account.plan,
        limits=effective_limits(profile, account.limits),
    )


async def sign_in(
    store: Store, config: Config, email: str, password: str, address: str, now_ms: int
) -> SignInResult[WebUser]:
    """Check an e-mail address and password, throttled per address and per e-mail
    address. The person learns whether the pair is right, never whether the address
    alone exists."""
    login = normalize_email(email)
    throttled = await web_auth.throttle_problem(store, config, address, login, now_ms)
    if throttled is not None:
        return SignInResult(problem=throttled, throttled=True)
    user = await store.get_web_user_by_email(login) if login else None
    matches = await passwords.verify_async(user.password_hash if user else None, password)
    if user is None or not matches:
        await web_auth.note_failure(store, address, login, now_ms)
        return SignInResult(problem=INCORRECT)
    if not user.active:
        return SignInResult(problem=DISABLED)
    if await principal(store, config, user) is None:
        return SignInResult(problem=NO_ACCOUNT)
    await web_auth.note_success(store, login)
    if user.password_hash is not None and passwords.needs_rehash(user.password_hash):
        # Stronger parameters since this hash was made: replace it while the password is
        # at hand (this session is created after, so none is ended).
        await store.set_web_user_password(
            user.user_id, await passwords.hash_async(password), now_ms
        )
    return SignInResult(user)


async def change_password(
    store: Store, user: WebUser, current: str, new: str, session_hash: str, now_ms: int
) -> dict[str, str]:
    """Problems by field (current, new); empty when the password was changed. Every other
    session of the user ends."""
    fresh = await store.get_web_user(user.user_id)
    if fresh is None or not await passwords.verify_async(fresh.password_hash, current):
        return {"current": "The current password is incorrect."}
    problem = password_problem(new)
    if problem:
        return {"new": problem}
    await store.set_web_user_password(
        user.user_id, await passwords.hash_async(new), now_ms, keep_session=session_hash
    )
    return {}


async def invite_user(store: Store, token: str, now_ms: int) -> WebUser | None:
    """The user a live one-time link belongs to (a read: the link stays unspent)."""
    if not token or len(token) > 100:
        return None
    found = await store.get_web_invite(secret_hash(token))
    if found is None:
        return None
    user, expires_ms = found
    return user if user.active and expires_ms > now_ms else None


async def accept_invite(store: Store, token: str, password: str, now_ms: int) -> WebUser | None:
    """Spend a one-time link on the user's first (or new) password; None if it cannot
    be used (unknown, spent, expired, user disabled)."""
    if not token or len(token) > 100:
        return None
    return await store.accept_web_invite(
        secret_hash(token), await passwords.hash_async(password), now_ms
    )


SESSION_KIND = CUSTOMER
