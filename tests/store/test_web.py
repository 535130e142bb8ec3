"""The web pages' storage (storage/web.py) on both stores: users, sessions, one-time
links, failed sign-ins, housekeeping, and what export carries."""

from __future__ import annotations

import dataclasses

import pytest

from supportd.domain.web_sessions import CUSTOMER, STAFF, Failures, WebSession
from supportd.domain.web_users import WebUser, WebUserExists, secret_hash
from supportd.storage import exchange
from supportd.storage.base import Store

NOW = 1_700_000_000_000


def user(
    user_id: str = "user-1", email: str = "a@example.com", account: str = "111122223333"
) -> WebUser:
    return WebUser(
        user_id=user_id,
        account_id=account,
        email=email,
        name="A",
        password_hash="$argon2id$fake",
        created_ms=NOW,
        password_changed_ms=NOW,
    )


def session(key: str, subject: str = "user-1", kind: str = CUSTOMER, at: int = NOW) -> WebSession:
    return WebSession(secret_hash(key), kind, subject, f"csrf-{key}", at, at)


async def test_users_are_unique_by_email_and_listed_in_order(store: Store) -> None:
    await store.create_web_user(user("user-1", "a@example.com"))
    await store.create_web_user(user("user-2", "b@example.com", account="444455556666"))
    await store.create_web_user(user("user-3", "c@example.com"))
    with pytest.raises(WebUserExists):
        await store.create_web_user(user("user-4", "a@example.com"))
    assert (await store.get_web_user_by_email("b@example.com")).user_id == "user-2"  # type: ignore[union-attr]
    assert await store.get_web_user_by_email("nobody@example.com") is None
    assert [u.user_id for u in await store.list_web_users()] == ["user-1", "user-2", "user-3"]
    assert [u.user_id for u in await store.list_web_users("111122223333")] == ["user-1", "user-3"]
    assert await store.get_web_user("user-1") == user("user-1", "a@example.com")


async def test_sessions_are_found_by_hash_touched_and_ended(store: Store) -> None:
    await store.create_web_user(user())
    await store.create_web_session(session("one"))
    await store.create_web_session(session("two"))
    await store.create_web_session(session("staff", subject="user-1", kind=STAFF))
    found = await store.get_web_session(secret_hash("one"))
    assert found == session("one")
    assert await store.get_web_session("one") is None  # only the hash finds it
    await store.touch_web_session(secret_hash("one"), NOW + 90_000)
    await store.touch_web_session(secret_hash("one"), NOW + 10_000)  # never backwards
    assert (await store.get_web_session(secret_hash("one"))).last_seen_ms == NOW + 90_000  # type: ignore[union-attr]
    assert await store.count_web_sessions(CUSTOMER, "user-1") == 2
    assert await store.delete_web_session(secret_hash("one")) is True
    assert await store.delete_web_session(secret_hash("one")) is False
    assert await store.delete_web_sessions(CUSTOMER, "user-1") == 1
    # Another kind's session of the same subject is another person's.
    assert await store.get_web_session(secret_hash("staff")) is not None


async def test_a_new_session_replaces_the_one_presented(store: Store) -> None:
    await store.create_web_session(session("before"))
    await store.create_web_session(session("after"), replaces=secret_hash("before"))
    assert await store.get_web_session(secret_hash("before")) is None
    assert await store.get_web_session(secret_hash("after")) is not None


async def test_disabling_or_deleting_a_user_ends_their_sessions_in_the_same_write(
    store: Store,
) -> None:
    await store.create_web_user(user())
    await store.create_web_user(user("user-2", "b@example.com"))
    await store.create_web_session(session("a1"))
    await store.create_web_session(session("b1", subject="user-2"))
    disabled = await store.set_web_user_disabled("user-1", NOW)
    assert disabled is not None and disabled.disabled_ms == NOW and not disabled.active
    assert await store.get_web_session(secret_hash("a1")) is None
    enabled = await store.set_web_user_disabled("user-1", None)
    assert enabled is not None and enabled.active
    assert await store.set_web_user_disabled("user-9", NOW) is None
    assert await store.delete_web_user("user-2") is True
    assert await store.get_web_session(secret_hash("b1")) is None
    assert await store.get_web_user("user-2") is None
    assert await store.delete_web_user("user-2") is False


async def test_a_new_password_keeps_only_the_session_that_set_it(store: Store) -> None:
    await store.create_web_user(user(), invite_hash="invite-hash", invite_expires_ms=NOW + 1000)
    for key in ("here", "there", "elsewhere"):
        await store.create_web_session(session(key))
    assert await store.set_web_user_password(
        "user-1", "$argon2id$new", NOW + 5, secret_hash("here")
    )
    changed = await store.get_web_user("user-1")
    assert changed is not None
    assert (changed.password_hash, changed.password_changed_ms) == ("$argon2id$new", NOW + 5)
    assert await store.get_web_session(secret_hash("here")) is not None
    assert await store.get_web_session(secret_hash("there")) is None
    assert await store.get_web_invite("invite-hash") is None  # a password spends the link
    assert await store.set_web_user_password("user-9", "x", NOW) is False


async def test_a_one_time_link_works_once_while_it_lives(store: Store) -> None:
    invited = dataclasses.replace(user(), password_hash=None, password_changed_ms=None)
    await store.create_web_user(invited, invite_hash="h1", invite_expires_ms=NOW + 1000)
    found = await store.get_web_invite("h1")
    assert found is not None and found[0].password_hash is None and found[1] == NOW + 1000
    assert await store.accept_web_invite("h1", "$argon2id$p", NOW + 1000) is None  # expired
    accepted = await store.accept_web_invite("h1", "$argon2id$p", NOW + 999)
    assert accepted is not None and accepted.password_hash == "$argon2id$p"
    assert await store.accept_web_invite("h1", "$argon2id$q", NOW + 999) is None  # spent
    assert await store.set_web_invite("user-1", "h2", NOW + 5000)
    await store.set_web_user_disabled("user-1", NOW)
    assert await store.accept_web_invite("h2", "$argon2id$q", NOW) is None  # disabled
    assert await store.set_web_invite("user-9", "h3", NOW) is False


async def test_failed_sign_ins_are_counted_per_key_within_the_window(store: Store) -> None:
    keys = [("address", "203.0.113.9"), ("user", "a@example.com")]
    await store.record_sign_in_failure(keys, NOW)
    await store.record_sign_in_failure(keys, NOW + 10)
    await store.record_sign_in_failure([("user", "b@example.com")], NOW + 20)
    assert await store.sign_in_failures("user", "a@example.com", NOW - 1) == Failures(2, NOW)
    assert await store.sign_in_failures("user", "a@example.com", NOW) == Failures(1, NOW + 10)
    assert await store.sign_in_failures("address", "203.0.113.9", NOW - 1) == Failures(2, NOW)
    assert await store.sign_in_failures("user", "c@example.com", 0) == Failures(0, None)
    await store.clear_sign_in_failures("user", "a@example.com")
    assert await store.sign_in_failures("user", "a@example.com", 0) == Failures(0, None)
    assert (await store.sign_in_failures("address", "203.0.113.9", 0)).count == 2


async def test_prune_deletes_ended_sessions_and_old_failures(store: Store) -> None:
    await store.create_web_session(session("old", at=NOW - 10_000))
    await store.create_web_session(session("idle", at=NOW - 1_000))
    await store.create_web_session(session("live", at=NOW))
    await store.record_sign_in_failure([("user", "x")], NOW - 5_000)
    await store.record_sign_in_failure([("user", "x")], NOW)
    # Created before NOW-5000 (too old), or last seen before NOW-500 (idle too long).
    assert await store.prune_web(NOW - 5_000, NOW - 500, NOW - 1) == 3
    assert await store.get_web_session(secret_hash("live")) is not None
    assert await store.get_web_session(secret_hash("old")) is None
    assert await store.get_web_session(secret_hash("idle")) is None
    assert (await store.sign_in_failures("user", "x", 0)).count == 1


def test_users_are_exported_and_sessions_are_not() -> None:
    assert "web_users" in exchange.TABLES_BY_NAME
    assert "password_hash" in exchange.TABLES_BY_NAME["web_users"].columns
    assert "web_sessions" not in exchange.TABLES_BY_NAME
    assert "web_sign_in_failures" not in exchange.TABLES_BY_NAME
