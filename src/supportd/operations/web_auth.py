"""Browser sessions and sign-in throttling for every area of the web pages (the
customer Support Center, and the staff console with its own session kind).

The cookie holds a random session id; the store keeps only its SHA-256, the session's
kind and subject (whose it is) and its CSRF token. A session id is made at sign-in and
never before, replacing any the browser had (no fixation), and ends at sign-out, after
the idle or absolute lifetime, or with its person.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Generic, TypeVar

from supportd.config import Config
from supportd.domain import web_sessions as rules
from supportd.domain.jobs import Job
from supportd.domain.web_sessions import (
    BY_ADDRESS,
    BY_USER,
    SessionRules,
    ThrottleRules,
    WebSession,
    wait_text,
)
from supportd.domain.web_users import new_secret, secret_hash
from supportd.operations.background import register_periodic
from supportd.operations.context import Context
from supportd.storage.base import Store

# An address or e-mail address is stored for throttling; longer input is clipped.
MAX_KEY_CHARS = 320

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SignInResult(Generic[T]):
    """What a sign-in decided: whom it lets in, or what to tell the person."""

    admitted: T | None = None
    problem: str | None = None  # what to tell the person when no one is admitted
    throttled: bool = False


def session_rules(config: Config) -> SessionRules:
    return SessionRules(
        idle_ms=config.web_session_idle_s * 1000, max_ms=config.web_session_max_s * 1000
    )


def throttle_rules(config: Config) -> ThrottleRules:
    return ThrottleRules(
        window_ms=config.web_sign_in_window_s * 1000,
        max_per_address=config.web_sign_in_max_per_address,
        max_per_user=config.web_sign_in_max_per_user,
    )


@dataclass(frozen=True, slots=True)
class StartedSession:
    cookie_value: str  # for the browser only; never stored
    session: WebSession


async def start_session(
    store: Store, kind: str, subject: str, now_ms: int, replaces_cookie: str | None = None
) -> StartedSession:
    """A new session with a new id and CSRF token. The session the browser presented
    before (`replaces_cookie`), if any, is deleted with it."""
    cookie_value = new_secret()
    session = WebSession(
        session_hash=secret_hash(cookie_value),
        kind=kind,
        subject=subject,
        csrf_token=secrets.token_urlsafe(32),
        created_ms=now_ms,
        last_seen_ms=now_ms,
    )
    replaces = secret_hash(replaces_cookie) if replaces_cookie else None
    await store.create_web_session(session, replaces=replaces)
    return StartedSession(cookie_value, session)


async def live_session(
    store: Store, config: Config, cookie_value: str | None, kind: str, now_ms: int
) -> WebSession | None:
    """The live session of this kind the cookie names, or None. Marks it used (at most
    once a minute: see domain.web_sessions.TOUCH_AFTER_MS)."""
    if not cookie_value or len(cookie_value) > 100:
        return None
    session = await store.get_web_session(secret_hash(cookie_value))
    if session is None or session.kind != kind:
        return None
    if not rules.is_live(session, session_rules(config), now_ms):
        return None
    if rules.needs_touch(session, now_ms):
        await store.touch_web_session(session.session_hash, now_ms)
    return session


async def end_session(store: Store, cookie_value: str | None) -> None:
    if cookie_value:
        await store.delete_web_session(secret_hash(cookie_value))


async def end_all_sessions(store: Store, kind: str, subject: str) -> int:
    return await store.delete_web_sessions(kind, subject)


# --- sign-in throttling ---------------------------------------------------------------


def _keys(address: str, login: str) -> tuple[tuple[str, str], tuple[str, str]]:
    return (BY_ADDRESS, address[:MAX_KEY_CHARS]), (BY_USER, login[:MAX_KEY_CHARS])


async def throttle_wait(
    store: Store, config: Config, address: str, login: str, now_ms: int
) -> int | None:
    """None if a sign-in may be tried now; otherwise milliseconds to wait."""
    limits = throttle_rules(config)
    since = now_ms - limits.window_ms
    (a_scope, a_key), (u_scope, u_key) = _keys(address, login)
    by_address = await store.sign_in_failures(a_scope, a_key, since)
    by_user = await store.sign_in_failures(u_scope, u_key, since)
    return rules.wait_ms(limits, by_address, by_user, now_ms)


async def throttle_problem(
    store: Store, config: Config, address: str, login: str, now_ms: int
) -> str | None:
    """What to tell a person whose sign-in was tried too often (per address and per
    login), or None: they may try now."""
    wait = await throttle_wait(store, config, address, login, now_ms)
    if wait is None:
        return None
    return f"Too many failed sign-in attempts. Wait {wait_text(wait)} and try again."


async def note_failure(store: Store, address: str, login: str, now_ms: int) -> None:
    await store.record_sign_in_failure(_keys(address, login), now_ms)


async def note_success(store: Store, login: str) -> None:
    """The person proved who they are: their earlier typos no longer count against them
    (those of their address still do)."""
    _, (scope, key) = _keys("", login)
    await store.clear_sign_in_failures(scope, key)


async def prune(store: Store, config: Config, now_ms: int) -> int:
    created_before, seen_before = rules.expired_before(session_rules(config), now_ms)
    failures_before = now_ms - throttle_rules(config).window_ms
    return await store.prune_web(created_before, seen_before, failures_before)


async def _prune_job(ctx: Context, job: Job) -> None:
    await prune(ctx.store, ctx.config, ctx.clock.now_ms())


register_periodic("web-prune", 3600.0, _prune_job)
