"""Browser sessions and sign-in throttling: records and pure rules, for every area of the
web pages (the customer Support Center; the staff console uses the same sessions with
its own kind).

A session is a row keyed by the SHA-256 of a random id that only the browser's cookie
holds. It ends when its idle time or its absolute lifetime runs out, at sign-out, or
when its person is disabled or deleted (the row is deleted with them).
"""

from __future__ import annotations

from dataclasses import dataclass

CUSTOMER = "customer"
STAFF = "staff"
KINDS = (CUSTOMER, STAFF)

# Recording every request's time would make each page a write; a minute's precision is
# enough for an idle timeout counted in hours.
TOUCH_AFTER_MS = 60_000

# What a failed sign-in counts against.
BY_ADDRESS = "address"
BY_USER = "user"


@dataclass(frozen=True, slots=True)
class SessionRules:
    idle_ms: int
    max_ms: int


@dataclass(frozen=True, slots=True)
class WebSession:
    session_hash: str  # SHA-256 of the cookie's session id (web_users.secret_hash)
    kind: str  # CUSTOMER or STAFF
    subject: str  # whose session: a user id, or a staff member's name
    csrf_token: str  # the session's anti-forgery token, put in every form it renders
    created_ms: int
    last_seen_ms: int


def is_live(session: WebSession, rules: SessionRules, now_ms: int) -> bool:
    return (
        now_ms < session.created_ms + rules.max_ms and now_ms < session.last_seen_ms + rules.idle_ms
    )


def needs_touch(session: WebSession, now_ms: int) -> bool:
    return now_ms - session.last_seen_ms >= TOUCH_AFTER_MS


def expired_before(rules: SessionRules, now_ms: int) -> tuple[int, int]:
    """(created before, last seen before): a session matching either has ended."""
    return now_ms - rules.max_ms, now_ms - rules.idle_ms


# --- sign-in throttling ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThrottleRules:
    window_ms: int
    max_per_address: int
    max_per_user: int


@dataclass(frozen=True, slots=True)
class Failures:
    """Failed sign-ins within the window: how many, and when the oldest was."""

    count: int
    oldest_ms: int | None


def wait_ms(
    rules: ThrottleRules, by_address: Failures, by_user: Failures, now_ms: int
) -> int | None:
    """None if a sign-in attempt may go ahead; otherwise how long until it may (when the
    oldest counted failure leaves the window, the count drops below the limit)."""
    waits = []
    for failures, limit in ((by_address, rules.max_per_address), (by_user, rules.max_per_user)):
        if failures.count >= limit and failures.oldest_ms is not None:
            waits.append(max(failures.oldest_ms + rules.window_ms - now_ms, 1000))
    return max(waits) if waits else None


def wait_text(ms: int) -> str:
    """`1 minute`, `14 minutes`: rounded up, as a person reads a wait."""
    minutes = max(1, -(-ms // 60_000))
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
