"""Staff members signing in to the console (/console/): a password of their own, set
with `supportd staff password NAME --password-stdin`, checked with the same throttling
and sessions as the Support Center's users (operations.web_auth), in sessions of the
staff kind.

A staff member acts in the console exactly as with a staff token: the same operations
(operations.staff), the same role rules.
"""

from __future__ import annotations

from supportd.config import Config
from supportd.domain.console import StaffEmailTaken
from supportd.domain.staff import StaffMember
from supportd.domain.web_users import normalize_email, password_problem
from supportd.operations import web_auth
from supportd.operations.staff import StaffError
from supportd.operations.web_auth import SignInResult
from supportd.security import passwords
from supportd.storage.base import Store

INCORRECT = "The email address or password is incorrect."
DISABLED = "This staff member is disabled. Ask an admin to enable you."
# Failed staff sign-ins count against the e-mail address apart from customers' (the same
# address may be both); failures per client address count across both areas.
THROTTLE_KEY_PREFIX = "staff:"


async def set_password(store: Store, name: str, password: str, now_ms: int) -> None:
    """Give a staff member a console password (their console sessions end). StaffError
    if the password is refused, the member is unknown or disabled, or another staff
    member with the same e-mail address has a password."""
    problem = password_problem(password)
    if problem:
        raise StaffError(400, "invalid_password", problem)
    member = await store.get_staff(name)
    if member is None:
        raise StaffError(404, "staff_not_found", f"no staff member {name!r}")
    if not member.active:
        raise StaffError(409, "staff_disabled", f"staff member {name} is disabled")
    try:
        found = await store.set_staff_password(name, await passwords.hash_async(password), now_ms)
    except StaffEmailTaken as taken:
        raise StaffError(
            409,
            "email_taken",
            f"staff member {taken.other} has the same e-mail address ({member.email}) and a"
            " console password: staff sign in with their e-mail address, so it must name"
            " one person",
        ) from None
    if not found:
        raise StaffError(404, "staff_not_found", f"no staff member {name!r}")


async def sign_in(
    store: Store, config: Config, email: str, password: str, address: str, now_ms: int
) -> SignInResult[StaffMember]:
    """Check an e-mail address and password, throttled per client address and per
    e-mail address. The answer says whether the pair is right, never whether the
    address alone belongs to a staff member."""
    login = normalize_email(email)
    key = THROTTLE_KEY_PREFIX + login
    throttled = await web_auth.throttle_problem(store, config, address, key, now_ms)
    if throttled is not None:
        return SignInResult(problem=throttled, throttled=True)
    logins = await store.staff_logins(login) if login else []
    matched = None
    if not logins:
        # As long as a real check, so the time taken says nothing either.
        await passwords.verify_async(None, password)
    for candidate in logins:
        if await passwords.verify_async(candidate.password_hash, password):
            matched = candidate
            break
    if matched is None:
        await web_auth.note_failure(store, address, key, now_ms)
        return SignInResult(problem=INCORRECT)
    if not matched.member.active:
        return SignInResult(problem=DISABLED)
    await web_auth.note_success(store, key)
    if passwords.needs_rehash(matched.password_hash):
        # Stronger parameters since this hash was made. (This ends no session that
        # matters: the new one is made after.)
        await store.set_staff_password(
            matched.member.name, await passwords.hash_async(password), now_ms
        )
    return SignInResult(matched.member)


async def member_of_session(store: Store, name: str) -> StaffMember | None:
    """The staff member a console session belongs to, if still active: disabling ends
    their sessions, and this refuses any request still in flight."""
    member = await store.get_staff(name)
    return member if member is not None and member.active else None
