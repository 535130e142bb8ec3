"""The staff area of the Store contract, in process on both stores: concurrency between
"nodes" (two store objects on one database), and export/import of the support side."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
from pathlib import Path

import pytest

from supportd.config import Config
from supportd.domain import lifecycle, search, sla, staff
from supportd.domain.records import CUSTOMER, NewCase, NewCommunication
from supportd.domain.staff import StaffAction, StaffCaseQuery, StaffMember
from supportd.operations import staff as ops
from supportd.operations.context import Context
from supportd.reference import catalogue
from supportd.storage import exchange
from supportd.storage.base import Store
from supportd.storage.postgres import PostgresStore
from supportd.storage.sql import Tx
from supportd.storage.sqlite import SQLiteStore
from supportd.storage.staff import list_cases_sql
from tests.store.test_plans import plan_of

T0 = 1_700_000_000_000
HOUR = sla.HOUR_MS
_ids = itertools.count(1)


def _other_node(store: Store) -> Store:
    if isinstance(store, SQLiteStore):
        return SQLiteStore(Path(store.path))
    assert isinstance(store, PostgresStore)
    return PostgresStore(store.url, pool_size=2)


async def _case(
    store: Store,
    subject: str = "subject",
    body: str = "body",
    account_id: str = "111122223333",
    due_ms: int | None = T0 + 4 * HOUR,
) -> int:
    n = next(_ids)
    created = await store.create_case(
        NewCase(
            case_id=_case_id(account_id, n),
            account_id=account_id,
            subject=subject,
            service_code=None,
            category_code=None,
            severity_code="high",
            language="en",
            issue_type="technical",
            submitted_by="a@example.com",
            cc_emails=(),
            created_ms=T0,
            first_response_due_ms=due_ms,
        ),
        NewCommunication(body, "Jane <j@example.com>", CUSTOMER, (), T0),
    )
    return created.seq


def _case_id(account_id: str, n: int) -> str:
    return f"case-{account_id}-test-2023-{n:016x}"


def _act(kind: str, now: int = T0 + HOUR, **fields: object) -> StaffAction:
    return StaffAction(kind=kind, staff_name="alice", now_ms=now, **fields)  # type: ignore[arg-type]


async def test_auto_resolve_resolves_each_case_once_across_nodes(store: Store) -> None:
    other = _other_node(store)
    await other.open()
    try:
        seqs = [await _case(store) for _ in range(40)]
        for seq in seqs:
            await store.apply_staff_action(seq, _act(staff.REPLY, body="please check"))
        # A case answered since, and one asked later, are not due.
        await store.add_communication(
            "111122223333",
            (await store.staff_get_case(seq=seqs[0])).case.case_id,  # type: ignore[union-attr]
            NewCommunication("done", "Jane", CUSTOMER, (), T0 + 2 * HOUR),
        )
        await store.apply_staff_action(seqs[1], _act(staff.REPLY, T0 + 50 * HOUR, body="again"))

        cutoff, now = T0 + 10 * HOUR, T0 + 20 * HOUR
        results = await asyncio.gather(
            *(node.auto_resolve(cutoff, now, 7) for node in (store, other, store, other)),
        )
        while True:  # the rest, as the job's loop does
            more = await asyncio.gather(
                store.auto_resolve(cutoff, now, 7), other.auto_resolve(cutoff, now, 7)
            )
            results.extend(more)
            if not any(more):
                break
        resolved = [case_id for batch in results for case_id in batch]
        assert len(resolved) == len(set(resolved)) == 38
        for seq in seqs[2:]:
            history = await store.case_history(seq)
            assert [e.to_value for e in history if e.to_value == lifecycle.RESOLVED] == [
                lifecycle.RESOLVED
            ]
            assert history[-1].actor == staff.AUTO_RESOLVE_ACTOR
        first = await store.staff_get_case(seq=seqs[0])
        second = await store.staff_get_case(seq=seqs[1])
        assert first is not None and first.case.status == lifecycle.CUSTOMER_ACTION_COMPLETED
        assert second is not None and second.case.status == lifecycle.PENDING_CUSTOMER_ACTION
    finally:
        await other.close()


async def test_enabling_a_member_brings_no_old_token_back(store: Store) -> None:
    """Also tokens left live by a disabling that did not revoke them (made before it
    did): the operation enabling the member revokes them."""
    ctx = Context(config=Config(), catalogue=catalogue.load(), store=store)
    await store.create_staff(StaffMember("bob", "bob@example.com", staff.AGENT, T0))
    text, token = staff.new_token("bob", T0)
    await store.create_staff_token(token)
    await store.set_staff_disabled("bob", T0 + 1)  # the store alone: the token stays live
    assert (await store.list_staff_tokens("bob"))[0].revoked_ms is None
    await ops.set_staff_active(ctx, None, "bob", True)
    with pytest.raises(ops.StaffError) as info:
        await ops.authenticate(ctx, f"Bearer {text}")
    assert info.value.code == "revoked_token"
    # Disabling through the operation revokes at once.
    fresh = await ops.create_token(ctx, None, "bob")
    assert (await ops.authenticate(ctx, f"Bearer {fresh['token']}")).name == "bob"
    await ops.set_staff_active(ctx, None, "bob", False)
    await ops.set_staff_active(ctx, None, "bob", True)
    assert all(t.revoked_ms is not None for t in await store.list_staff_tokens("bob"))
    with pytest.raises(ops.StaffError):
        await ops.authenticate(ctx, f"Bearer {fresh['token']}")


async def test_concurrent_staff_actions_apply_one_after_the_other(store: Store) -> None:
    other = _other_node(store)
    await other.open()
    try:
        seq = await _case(store)
        replies = [
            node.apply_staff_action(seq, _act(staff.REPLY, T0 + HOUR + i, body=f"reply {i}"))
            for i, node in enumerate([store, other] * 5)
        ]
        await asyncio.gather(*replies)
        thread = await store.case_thread(seq)
        assert sorted(e.body for e in thread[1:]) == sorted(f"reply {i}" for i in range(10))
        history = await store.case_history(seq)
        # One pickup, one status change: the other replies found the case picked up.
        assert [(e.kind, e.to_value) for e in history[1:]] == [
            (staff.ASSIGNMENT_EVENT, "alice"),
            (staff.STATUS_EVENT, lifecycle.PENDING_CUSTOMER_ACTION),
        ]
    finally:
        await other.close()


async def test_the_support_side_survives_export_and_import(store: Store, tmp_path: Path) -> None:
    await store.create_staff(StaffMember("alice", "a@example.com", staff.ADMIN, T0))
    _, token = staff.new_token("alice", T0)
    await store.create_staff_token(token)
    seq = await _case(store, subject="Kernel panic on boot", body="panic after upgrade")
    await store.apply_staff_action(seq, _act(staff.NOTE, body="internal"))
    await store.apply_staff_action(seq, _act(staff.REPLY, body="Which kernel version?"))

    exported = [batch async for batch in store.export_all(100)]
    tables = [name for name, _ in exported]
    for name in ("staff", "staff_tokens", "case_work", "case_notes", "case_assignments"):
        assert name in tables
    assert "support_replies" in tables

    copy = SQLiteStore(tmp_path / "copy" / "supportd.db")
    await copy.open()
    try:
        for name, rows in exported:
            await copy.import_rows(name, rows)
        await copy.finish_import()
        for getter in ("case_thread", "case_notes", "case_history"):
            assert await getattr(copy, getter)(seq) == await getattr(store, getter)(seq)
        assert await copy.staff_get_case(seq=seq) == await store.staff_get_case(seq=seq)
        assert await copy.get_staff_token(token.token_id) == await store.get_staff_token(
            token.token_id
        )
        # The search index is rebuilt from the imported rows.
        found = await copy.search_cases(search.SearchQuery(search.parse("kernel version"), 5))
        assert [h.case.case.seq for h in found.hits] == [seq]
    finally:
        await copy.close()
    assert set(exchange.TABLES_BY_NAME) >= {"staff", "case_work", "support_replies"}


async def test_listing_by_due_time_pages_through_ties(store: Store) -> None:
    seqs = [await _case(store) for _ in range(5)]  # all due at the same time
    await store.apply_staff_action(seqs[2], _act(staff.REPLY, body="answered"))
    seen: list[int] = []
    after: tuple[int, ...] | None = None
    while True:
        page = await store.staff_list_cases(
            StaffCaseQuery(limit=2, now_ms=T0, statuses=None, after=after)
        )
        seen.extend(c.case.seq for c in page)
        if len(page) < 2:
            break
        last = page[-1]
        after = (staff.due_key(last.work), last.case.seq)
    # Running clocks first in seq order, then the answered case (no clock).
    assert seen == [s for s in seqs if s != seqs[2]] + [seqs[2]]


async def test_cases_without_clocks_list_in_seq_order(store: Store) -> None:
    seqs = [await _case(store) for _ in range(4)]
    for seq in reversed(seqs[:3]):
        await store.apply_staff_action(seq, _act(staff.REPLY, body="please check"))
    seen: list[int] = []
    after: tuple[int, ...] | None = None
    pending = (lifecycle.PENDING_CUSTOMER_ACTION,)
    while True:
        page = await store.staff_list_cases(
            StaffCaseQuery(limit=2, now_ms=T0, statuses=pending, after=after)
        )
        seen.extend(c.case.seq for c in page)
        if len(page) < 2:
            break
        after = (staff.due_key(page[-1].work), page[-1].case.seq)
    assert seen == seqs[:3]


async def test_search_sees_what_another_node_committed(store: Store) -> None:
    other = _other_node(store)
    await other.open()
    try:
        seq = await _case(other, subject="Quokka gateway timeouts", body="nothing else")
        found = await store.search_cases(search.SearchQuery(search.parse("quokka"), 5))
        assert [h.case.case.seq for h in found.hits] == [seq]
        await other.apply_staff_action(seq, _act(staff.REPLY, body="Wombat firmware fixed it"))
        found = await store.search_cases(search.SearchQuery(search.parse("wombat"), 5))
        assert [h.highlights[0].author_kind for h in found.hits] == ["support"]
        assert await store.index_search() == 0  # nothing left behind
    finally:
        await other.close()


async def test_search_ranks_a_bounded_number_of_matches_and_says_when_it_cut(
    store: Store,
) -> None:
    a, b, c = "111122223333", "444455556666", "777788889999"
    in_bodies = [await _case(store, "Other", "the platypus case", a) for _ in range(5)]
    in_subjects = [await _case(store, "Platypus down", "nothing here", b) for _ in range(2)]
    both = await _case(store, "Platypus again", "one more platypus", c)

    async def found(candidates: int, **filters: object) -> tuple[set[int], bool]:
        query = search.SearchQuery(search.parse("platypus"), 50, candidates=candidates)
        result = await store.search_cases(dataclasses.replace(query, **filters))
        return {h.case.case.seq for h in result.hits}, result.truncated

    assert await found(6) == ({*in_bodies, *in_subjects, both}, False)
    # Six messages match: ranking only the newest five leaves the oldest out, and says so.
    assert await found(5) == ({*in_bodies[1:], *in_subjects, both}, True)
    # Cut at two: the newest two messages and the newest two subjects.
    assert await found(2) == ({in_bodies[4], in_subjects[1], both}, True)
    # Filters apply before the cut: the newest matches of the account's cases.
    assert await found(5, account_id=a) == (set(in_bodies), False)
    assert await found(3, account_id=a) == (set(in_bodies[2:]), True)
    assert await found(2, account_id=b) == (set(in_subjects), False)
    assert await found(1, account_id=b) == ({in_subjects[1]}, True)
    both_hits = await store.search_cases(
        search.SearchQuery(search.parse("platypus"), 5, account_id=c, candidates=1)
    )
    assert not both_hits.truncated
    assert [h.field for h in both_hits.hits[0].highlights] == [search.SUBJECT, search.COMMUNICATION]
    await store.apply_staff_action(in_bodies[0], _act(staff.RESOLVE))
    await store.apply_staff_action(in_bodies[1], _act(staff.RESOLVE))
    resolved = (lifecycle.RESOLVED,)
    assert await found(2, statuses=resolved) == ({in_bodies[0], in_bodies[1]}, False)
    assert await found(1, statuses=resolved) == ({in_bodies[1]}, True)


OPEN = tuple(sorted(lifecycle.OPEN_STATUSES))


async def _pages(store: Store, query: StaffCaseQuery) -> list[int]:
    """Every case of a due-time query, page by page through its cursor."""
    seen: list[int] = []
    after: tuple[int, ...] | None = None
    while True:
        page = await store.staff_list_cases(dataclasses.replace(query, after=after))
        seen.extend(c.case.seq for c in page)
        if len(page) < query.limit:
            return seen
        after = (staff.due_key(page[-1].work), page[-1].case.seq)


async def _walked(store: Store, query: StaffCaseQuery, keep: object) -> list[int]:
    """The same cases found another way: the queue of every account and status, in one
    page (the due-time index's walk), filtered here."""
    every = await store.staff_list_cases(
        dataclasses.replace(query, limit=1000, statuses=None, account_id=None, sla_state=None)
    )
    return [c.case.seq for c in every if keep(c)]  # type: ignore[operator]


async def test_one_accounts_queue_is_in_due_time_order_and_pages(store: Store) -> None:
    mine, other = "121212121212", "343434343434"
    dues = [5, 1, 3, 3, None, 2, 8, 1]  # hours after T0; ties broken by seq
    seqs = [
        await _case(store, account_id=mine, due_ms=None if d is None else T0 + d * HOUR)
        for d in dues
    ]
    for d in (0, 2, 4):
        await _case(store, account_id=other, due_ms=T0 + d * HOUR)
    await store.apply_staff_action(seqs[6], _act(staff.REPLY, body="please check"))  # paused
    await store.apply_staff_action(seqs[3], _act(staff.RESOLVE))
    await store.apply_staff_action(seqs[1], _act(staff.ASSIGN, assignee="alice"))

    query = StaffCaseQuery(limit=3, now_ms=T0, statuses=OPEN, account_id=mine)
    found = await _pages(store, query)
    expected = await _walked(
        store, query, lambda c: c.case.account_id == mine and c.case.status != lifecycle.RESOLVED
    )
    assert found == expected
    # Due first (1 h twice, 2 h, 3 h, 5 h), then the cases without a running clock.
    assert found == [seqs[1], seqs[7], seqs[5], seqs[2], seqs[0], seqs[4], seqs[6]]
    # Other filters narrow the account's cases the same way.
    # (Alice's reply assigned her the paused case.)
    assigned = dataclasses.replace(query, assignee="alice")
    assert await _pages(store, assigned) == [seqs[1], seqs[6]]
    breaching = dataclasses.replace(query, now_ms=T0 + 150 * 60_000, sla_state=staff.BREACHING)
    assert await _pages(store, breaching) == [seqs[1], seqs[7], seqs[5]]


UNCLOCKED_SQL = "SELECT seq FROM open_cases_without_clock ORDER BY seq"
RECOMPUTED_SQL = (
    "SELECT c.seq FROM cases c JOIN case_work w ON w.seq = c.seq WHERE c.is_open"
    " AND w.sla_due_ms IS NULL AND w.sla_remaining_ms IS NULL ORDER BY c.seq"
)


async def _unclocked(store: Store) -> list[int]:
    """open_cases_without_clock, checked against what it derives from."""
    kept = [r[0] for r in await store._read(lambda tx: tx.fetch(UNCLOCKED_SQL))]
    assert kept == [r[0] for r in await store._read(lambda tx: tx.fetch(RECOMPUTED_SQL))]
    return kept


async def test_none_due_lists_the_open_cases_without_a_clock(store: Store) -> None:
    account = "565656565656"
    running = await _case(store, account_id=account)
    bare = [await _case(store, account_id=account, due_ms=None) for _ in range(4)]
    assert await _unclocked(store) == bare
    # Resolved: out. Waiting on the customer: still no clock to pause, still in.
    await store.apply_staff_action(bare[1], _act(staff.RESOLVE))
    await store.apply_staff_action(bare[2], _act(staff.REPLY, body="please check"))
    await store.apply_staff_action(running, _act(staff.RESOLVE))
    assert await _unclocked(store) == [bare[0], bare[2], bare[3]]
    # The customer answers the paused case and reopens a resolved one.
    for seq in (bare[2], bare[1], running):
        found = await store.staff_get_case(seq=seq)
        assert found is not None
        comm = NewCommunication("more", "Jane <j@example.com>", CUSTOMER, (), T0 + 2 * HOUR)
        await store.add_communication(account, found.case.case_id, comm)
    reopened = await store.staff_get_case(seq=running)
    assert reopened is not None and reopened.case.status != lifecycle.RESOLVED
    kept = await _unclocked(store)
    assert bare[0] in kept and bare[3] in kept

    query = StaffCaseQuery(limit=2, now_ms=T0, statuses=OPEN, sla_state=staff.SLA_NONE)
    found_seqs = await _pages(store, query)
    assert found_seqs == kept
    assert found_seqs == await _walked(
        store,
        query,
        lambda c: (
            c.case.status != lifecycle.RESOLVED
            and c.work.clock.due_ms is None
            and c.work.clock.remaining_ms is None
        ),
    )
    # A filter on the case beside it.
    statuses = {s: (await store.staff_get_case(seq=s)) for s in kept}
    unassigned = [s for s, c in statuses.items() if c and c.case.status == lifecycle.UNASSIGNED]
    assert unassigned
    only = dataclasses.replace(query, statuses=(lifecycle.UNASSIGNED,))
    assert await _pages(store, only) == unassigned


FILL_SQL = """
INSERT INTO cases (case_id, account_id, subject, severity_code, status, is_open, language,
    issue_type, submitted_by, cc_emails, created_ms)
SELECT 'case-' || g, '111122223333', 's', 'low',
    CASE WHEN g % 10 = 0 THEN 'unassigned' ELSE 'resolved' END, g % 10 = 0, 'en',
    'technical', 'x', '{}', g
FROM generate_series(1, 20000) g;
INSERT INTO case_work (seq, sla_due_ms) SELECT seq, CASE WHEN seq % 20 = 0 THEN NULL
    ELSE seq END FROM cases;
ANALYZE
"""


async def test_none_due_reads_open_cases_without_clock_not_the_due_index(store: Store) -> None:
    if isinstance(store, PostgresStore):
        # PostgreSQL plans by its statistics: cases enough that the due-time index would
        # be a plausible choice. (It still hashes and sorts a table this small; at
        # 1,000,000 cases it walks the table's key: bench/README.md.)
        async def fill(tx: Tx) -> None:
            await tx.execute(FILL_SQL)

        await store._write(fill)
    query = StaffCaseQuery(limit=50, now_ms=T0, statuses=OPEN, sla_state=staff.SLA_NONE)
    sql, values = list_cases_sql(query)
    plan = await plan_of(store, sql, values)
    # SQLite names the table by its alias.
    assert re.search(r"open_cases_without_clock|\bSCAN o\b", plan), plan
    assert "case_work_by_due" not in plan
    if isinstance(store, SQLiteStore):
        assert "TEMP B-TREE" not in plan, plan
