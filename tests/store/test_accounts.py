"""The accounts area of the store, the same tests on SQLite and PostgreSQL: accounts,
access keys, credential look-up, and the audit queue (batches, close, cancellation)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from supportd.domain.accounts import (
    AccessKey,
    Account,
    AccountExists,
    AccountNotFound,
    AuditEntry,
    AuditQuery,
    LimitOverrides,
)
from supportd.storage.accounts import Accounts
from supportd.storage.base import Store
from supportd.storage.postgres import PostgresStore
from supportd.storage.sql import TxFn
from supportd.storage.sqlite import SQLiteStore
from tests.store.test_contract import T0, comm, new_case

ACCOUNT = "111122223333"
OTHER = "444455556666"


def account(account_id: str = ACCOUNT, created_ms: int = T0) -> Account:
    return Account(
        account_id, f"{account_id}@example.com", "business", LimitOverrides(), created_ms
    )


def key(key_id: str, account_id: str = ACCOUNT, created_ms: int = T0) -> AccessKey:
    return AccessKey(key_id, account_id, "alice", "sealed", None, None, created_ms)


def entry(request_id: str, account_id: str = ACCOUNT, error_code: str | None = None) -> AuditEntry:
    return AuditEntry(
        at_ms=T0,
        request_id=request_id,
        account_id=account_id,
        access_key_id=None,
        caller=None,
        operation="DescribeCases",
        source_ip="127.0.0.1",
        user_agent="test",
        http_status=200 if error_code is None else 400,
        error_code=error_code,
    )


def accounts_of(store: Store) -> Accounts:
    assert isinstance(store, Accounts)
    return store


def second_node(store: Store) -> Store:
    """Another store object on the same database."""
    if isinstance(store, SQLiteStore):
        return SQLiteStore(Path(store.path))
    assert isinstance(store, PostgresStore)
    return PostgresStore(store.url, pool_size=2)


async def request_ids(store: Store) -> list[str]:
    return [e.request_id for e in await store.list_audit(AuditQuery(limit=1000))]


async def request_ids_seen_by_another_node(store: Store) -> list[str]:
    other = second_node(store)
    await other.open()
    try:
        return await request_ids(other)
    finally:
        await other.close()


# --- accounts and keys ----------------------------------------------------------------


async def test_accounts(store: Store) -> None:
    await store.create_account(account(ACCOUNT, T0))
    await store.create_account(account(OTHER, T0 + 1))
    with pytest.raises(AccountExists):
        await store.create_account(account(ACCOUNT))
    assert await store.get_account(ACCOUNT) == account(ACCOUNT, T0)
    assert await store.get_account("999999999999") is None
    assert [a.account_id for a in await store.list_accounts()] == [ACCOUNT, OTHER]

    changed = await store.update_account(ACCOUNT, plan="enterprise")
    assert changed is not None and changed.plan == "enterprise"
    assert changed.email == f"{ACCOUNT}@example.com"
    limits = LimitOverrides(cases_per_hour=5, case_api_tps=-1.0, advisor_tps=None)
    changed = await store.update_account(ACCOUNT, email="new@example.com", limits=limits)
    assert changed is not None
    assert (changed.plan, changed.email, changed.limits) == (
        "enterprise",
        "new@example.com",
        limits,
    )
    assert await store.update_account(ACCOUNT) == changed  # nothing to change
    assert await store.get_account(ACCOUNT) == changed
    assert await store.update_account("999999999999", plan="basic") is None


async def test_keys_and_credentials(store: Store) -> None:
    with pytest.raises(AccountNotFound):
        await store.create_key(key("AKIAMISSING", account_id="999999999999"))
    await store.create_account(account(ACCOUNT))
    await store.create_account(account(OTHER))
    await store.create_key(key("AKIAONE", ACCOUNT, T0))
    await store.create_key(key("AKIATWO", OTHER, T0 + 1))
    await store.create_key(key("AKIATHREE", ACCOUNT, T0 + 2))

    credential = await store.get_credential("AKIAONE")
    assert credential is not None
    assert credential.key == key("AKIAONE", ACCOUNT, T0)
    assert credential.account == account(ACCOUNT)
    assert await store.get_credential("AKIANOPE") is None
    assert [k.access_key_id for k in await store.list_keys()] == [
        "AKIAONE",
        "AKIATWO",
        "AKIATHREE",
    ]
    assert [k.access_key_id for k in await store.list_keys(ACCOUNT)] == ["AKIAONE", "AKIATHREE"]

    revoked = await store.revoke_key("AKIAONE", T0 + 100)
    assert revoked is not None and revoked.revoked_ms == T0 + 100
    again = await store.revoke_key("AKIAONE", T0 + 200)
    assert again is not None and again.revoked_ms == T0 + 100  # the first revocation stays
    assert await store.revoke_key("AKIANOPE", T0) is None

    assert await store.delete_account(ACCOUNT) is True
    assert await store.get_account(ACCOUNT) is None
    assert await store.get_credential("AKIATHREE") is None
    assert [k.access_key_id for k in await store.list_keys()] == ["AKIATWO"]
    assert await store.delete_account(ACCOUNT) is False


async def test_recent_case_count(store: Store) -> None:
    for created in (T0, T0 + 10, T0 + 20):
        await store.create_case(new_case(ACCOUNT, created_ms=created), comm(created_ms=created))
    await store.create_case(new_case(OTHER, created_ms=T0 + 20), comm(created_ms=T0 + 20))
    assert await store.recent_case_count(ACCOUNT, T0) == 2  # strictly after
    assert await store.recent_case_count(ACCOUNT, T0 - 1) == 3
    assert await store.recent_case_count(OTHER, T0) == 1


# --- the audit queue ------------------------------------------------------------------


@pytest.fixture
def writes(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the store's write transactions."""
    accounts = accounts_of(store)
    original = accounts._write
    counted: list[int] = []

    async def counting(fn: TxFn[Any], **flags: Any) -> Any:
        counted.append(1)
        return await original(fn, **flags)

    monkeypatch.setattr(accounts, "_write", counting)
    return counted


async def test_rows_queued_together_are_one_write(store: Store, writes: list[int]) -> None:
    for n in range(50):
        store.record_audit(entry(f"r{n}"))
    await store.flush_audit()
    assert len(writes) == 1
    assert await request_ids(store) == [f"r{n}" for n in range(50)]


async def test_rows_queued_during_a_write_are_the_next_batch(
    store: Store, writes: list[int]
) -> None:
    store.record_audit(entry("first"))
    await asyncio.sleep(0)  # the flush takes the queue and starts writing
    store.record_audit(entry("second"))
    store.record_audit(entry("third"))
    await store.flush_audit()
    assert len(writes) == 2
    assert await request_ids(store) == ["first", "second", "third"]
    store.record_audit(entry("fourth"))  # a new first row schedules a new flush
    await store.flush_audit()
    assert len(writes) == 3
    assert await request_ids(store) == ["first", "second", "third", "fourth"]


async def test_close_writes_every_queued_row(store: Store) -> None:
    for n in range(20):
        store.record_audit(entry(f"r{n}"))
    await store.close()  # straight away: nothing written yet
    assert await request_ids_seen_by_another_node(store) == [f"r{n}" for n in range(20)]


@pytest.mark.parametrize("started", [False, True], ids=["before-it-ran", "while-writing"])
async def test_a_cancelled_flush_loses_nothing_and_writes_nothing_twice(
    store: Store, started: bool
) -> None:
    """The event loop stopping cancels the flush task; close() still writes its rows."""
    accounts = accounts_of(store)
    for n in range(10):
        store.record_audit(entry(f"r{n}"))
    flush = accounts._audit_flush
    assert flush is not None
    if started:
        await asyncio.sleep(0)  # the batch is taken and being written
    flush.cancel()
    await asyncio.wait([flush])
    assert flush.cancelled()
    queued = [e.request_id for e in accounts._audit_queue]
    if started and store.cancelled_writes_commit:
        # SQLite: the batch was handed to the writer thread, which commits it anyway.
        assert queued == []
    else:
        # Never taken, or put back: written again by close(), skipping any that committed.
        assert queued == [f"r{n}" for n in range(10)]
    store.record_audit(entry("after"))
    await store.close()
    assert await request_ids_seen_by_another_node(store) == [
        *(f"r{n}" for n in range(10)),
        "after",
    ]


async def test_audit_filters(store: Store) -> None:
    store.record_audit(entry("ok-1"))
    store.record_audit(entry("bad", error_code="CaseIdNotFound"))
    store.record_audit(entry("other", account_id=OTHER))
    await store.flush_audit()

    async def ids(**filters: Any) -> list[str]:
        rows = await store.list_audit(AuditQuery(limit=10, **filters))
        return [row.request_id for row in rows]

    assert await ids(account_id=ACCOUNT) == ["ok-1", "bad"]
    assert await ids(outcome="error") == ["bad"]
    assert await ids(outcome="ok") == ["ok-1", "other"]
    assert await ids(error_code="CaseIdNotFound", account_id=ACCOUNT) == ["bad"]
    assert await ids(since_ms=T0 + 1) == []
    assert await ids(until_ms=T0) == ["ok-1", "bad", "other"]
    [first, *_] = await store.list_audit(AuditQuery(limit=1))
    assert first.request_id == "ok-1" and first.seq > 0
    assert await ids(after_seq=first.seq) == ["bad", "other"]
    assert first == dataclasses.replace(entry("ok-1"), seq=first.seq)
