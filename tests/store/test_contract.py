"""The Store contract, the same test functions run against SQLite and PostgreSQL.

Each test gets a fresh, empty store (`[sqlite]` / `[postgresql]`). Records with old
timestamps or with statuses only support staff can set are written through the
contract's own import_rows, as a restore would.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from supportd.domain import lifecycle
from supportd.domain.errors import ReopenWindowClosed
from supportd.domain.records import (
    CUSTOMER,
    CaseQuery,
    CaseRecord,
    CommunicationQuery,
    NewCase,
    NewCommunication,
    ResolveOutcome,
)
from supportd.storage.base import ExportRow, Store

ACCOUNT = "111122223333"
OTHER = "444455556666"
DAY_MS = 86_400_000
T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z
_ids = itertools.count(1)


def new_case(
    account: str = ACCOUNT, created_ms: int = T0, language: str = "en", **kw: Any
) -> NewCase:
    n = next(_ids)
    values: dict[str, Any] = {
        "case_id": f"case-{account}-test-2023-{n:016x}",
        "account_id": account,
        "subject": f"subject {n}",
        "service_code": "amazon-dynamodb",
        "category_code": "apis",
        "severity_code": "low",
        "language": language,
        "issue_type": "technical",
        "submitted_by": f"account-{account}@example.com",
        "cc_emails": ("a@example.com", "b@example.com"),
        "created_ms": created_ms,
    }
    values.update(kw)
    return NewCase(**values)


def comm(
    body: str = "hello", created_ms: int = T0, author: str = "Jane <j@example.com>"
) -> NewCommunication:
    return NewCommunication(
        body=body,
        submitted_by=author,
        author_kind=CUSTOMER,
        cc_emails=("c@example.com",),
        created_ms=created_ms,
    )


async def create(
    store: Store, account: str = ACCOUNT, created_ms: int = T0, **kw: Any
) -> CaseRecord:
    return await store.create_case(new_case(account, created_ms, **kw), comm("first", created_ms))


async def put_case(store: Store, seq: int, status: str, **kw: Any) -> CaseRecord:
    """A case as support staff (or time) left it: written with import_rows."""
    row: dict[str, Any] = {
        "seq": seq,
        "case_id": f"case-{ACCOUNT}-test-2023-{seq:016x}",
        "account_id": ACCOUNT,
        "subject": f"imported {seq}",
        "service_code": None,
        "category_code": None,
        "severity_code": "normal",
        "status": status,
        "is_open": status != lifecycle.RESOLVED,
        "language": "en",
        "issue_type": "technical",
        "submitted_by": f"account-{ACCOUNT}@example.com",
        "cc_emails": [],
        "created_ms": T0,
        "resolved_ms": None,
    }
    row.update(kw)
    await store.import_rows("cases", [row])
    await store.import_rows(
        "communications",
        [
            {
                "seq": seq,
                "case_seq": seq,
                "body": "first",
                "submitted_by": "x",
                "author_kind": CUSTOMER,
                "cc_emails": [],
                "created_ms": row["created_ms"],
            }
        ],
    )
    await store.finish_import()
    found = await store.get_case(ACCOUNT, row["case_id"])
    assert found is not None
    return found


async def exported(store: Store, batch_size: int = 1000) -> list[tuple[str, list[ExportRow]]]:
    return [batch async for batch in store.export_all(batch_size)]


async def events(store: Store, case_seq: int) -> list[tuple[str | None, str]]:
    rows = [
        row for table, batch in await exported(store) if table == "case_events" for row in batch
    ]
    return [(r["from_status"], r["to_status"]) for r in rows if r["case_seq"] == case_seq]


async def communications(store: Store, case_seq: int) -> list[str]:
    query = CommunicationQuery(case_seq=case_seq, case_id="(not read)", limit=1000)
    rows = await store.list_communications(query)
    return [r.body for r in rows]


def query(**kw: Any) -> CaseQuery:
    values: dict[str, Any] = {"account_id": ACCOUNT, "include_resolved": True, "limit": 100}
    values.update(kw)
    return CaseQuery(**values)


# --- create / get -----------------------------------------------------------------


async def test_create_case_stores_case_first_communication_and_event(store: Store) -> None:
    new = new_case(language="ja", cc_emails=("x@example.com",))
    created = await store.create_case(new, comm("the first message", T0 + 5))

    assert created.seq >= 1
    assert created.status == lifecycle.UNASSIGNED
    assert created.resolved_ms is None
    assert (created.case_id, created.account_id, created.subject) == (
        new.case_id,
        ACCOUNT,
        new.subject,
    )
    assert created.cc_emails == ("x@example.com",)
    assert await store.get_case(ACCOUNT, new.case_id) == created
    assert await store.case_seqs(ACCOUNT, [new.case_id]) == {new.case_id: created.seq}
    recent = await store.recent_communications([created.seq], 5)
    assert [(c.body, c.case_id, c.created_ms) for c in recent[created.seq]] == [
        ("the first message", new.case_id, T0 + 5)
    ]
    assert await events(store, created.seq) == [(None, lifecycle.UNASSIGNED)]


async def test_absent_optional_fields_come_back_as_none(store: Store) -> None:
    created = await create(store, service_code=None, category_code=None, cc_emails=())
    found = await store.get_case(ACCOUNT, created.case_id)
    assert found is not None
    assert (found.service_code, found.category_code, found.cc_emails) == (None, None, ())


async def test_unknown_case_is_none(store: Store) -> None:
    assert await store.get_case(ACCOUNT, "case-111122223333-test-2023-0000000000000000") is None
    assert await store.case_seqs(ACCOUNT, ["case-111122223333-test-2023-0000000000000000"]) == {}
    assert await store.case_seqs(ACCOUNT, []) == {}


async def test_sequence_numbers_increase_in_creation_order(store: Store) -> None:
    seqs = [(await create(store)).seq for _ in range(5)]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 5


async def test_concurrent_creates_get_distinct_sequence_numbers(store: Store) -> None:
    created = await asyncio.gather(*(create(store) for _ in range(40)))
    assert len({c.seq for c in created}) == 40
    assert len(await store.list_cases(query())) == 40


# --- list_cases -------------------------------------------------------------------


async def test_list_cases_newest_first_with_limit(store: Store) -> None:
    created = [await create(store) for _ in range(6)]
    listed = await store.list_cases(query(limit=4))
    assert [c.seq for c in listed] == [c.seq for c in reversed(created)][:4]


async def test_list_cases_hides_resolved_unless_asked(store: Store) -> None:
    open_case, resolved_case = await create(store), await create(store)
    await store.resolve_case(ACCOUNT, resolved_case.case_id, T0 + 1)

    hidden = await store.list_cases(query(include_resolved=False))
    shown = await store.list_cases(query(include_resolved=True))
    assert [c.case_id for c in hidden] == [open_case.case_id]
    assert [c.case_id for c in shown] == [resolved_case.case_id, open_case.case_id]
    assert shown[0].status == lifecycle.RESOLVED
    assert shown[0].resolved_ms == T0 + 1


async def test_list_cases_by_language(store: Store) -> None:
    en, ja = await create(store, language="en"), await create(store, language="ja")
    assert [c.seq for c in await store.list_cases(query(language="ja"))] == [ja.seq]
    assert [c.seq for c in await store.list_cases(query(language="en"))] == [en.seq]
    assert await store.list_cases(query(language="ko")) == []


async def test_list_cases_time_bounds_are_inclusive(store: Store) -> None:
    days = [await create(store, created_ms=T0 + d * DAY_MS) for d in range(5)]
    between = await store.list_cases(query(after_ms=T0 + DAY_MS, before_ms=T0 + 3 * DAY_MS))
    assert [c.seq for c in between] == [days[3].seq, days[2].seq, days[1].seq]
    assert [c.seq for c in await store.list_cases(query(after_ms=T0 + 4 * DAY_MS))] == [days[4].seq]
    assert [c.seq for c in await store.list_cases(query(before_ms=T0))] == [days[0].seq]


async def test_list_cases_restricted_to_seqs_and_before_seq(store: Store) -> None:
    created = [await create(store) for _ in range(5)]
    picked = (created[0].seq, created[2].seq, created[4].seq)
    assert [c.seq for c in await store.list_cases(query(seqs=picked))] == [
        created[4].seq,
        created[2].seq,
        created[0].seq,
    ]
    older = await store.list_cases(query(seqs=picked, before_seq=created[4].seq))
    assert [c.seq for c in older] == [created[2].seq, created[0].seq]
    assert await store.list_cases(query(seqs=())) == []


async def test_list_cases_filters_combine(store: Store) -> None:
    a = await create(store, language="ja", created_ms=T0)
    b = await create(store, language="ja", created_ms=T0 + DAY_MS)
    await create(store, language="en", created_ms=T0 + DAY_MS)
    c = await create(store, language="ja", created_ms=T0 + DAY_MS)
    await store.resolve_case(ACCOUNT, c.case_id, T0 + DAY_MS)
    found = await store.list_cases(
        query(include_resolved=False, language="ja", after_ms=T0 + 1, seqs=(a.seq, b.seq, c.seq))
    )
    assert [x.seq for x in found] == [b.seq]


async def test_keyset_pages_are_stable_under_inserts(store: Store) -> None:
    original = [await create(store) for _ in range(25)]
    seen: list[int] = []
    before: int | None = None
    inserted: list[int] = []
    while True:
        page = await store.list_cases(query(limit=7, before_seq=before))
        seen.extend(c.seq for c in page)
        if len(page) < 7:
            break
        before = page[-1].seq
        # New cases arrive between pages; they are newer than every cursor.
        inserted.extend([(await create(store)).seq, (await create(store)).seq])
    assert seen == sorted((c.seq for c in original), reverse=True)
    assert not set(inserted) & set(seen)
    assert len(await store.list_cases(query())) == 25 + len(inserted)


# --- communications ----------------------------------------------------------------


async def test_recent_communications_newest_first_per_case(store: Store) -> None:
    one, two, three = await create(store), await create(store), await create(store)
    for i in range(7):
        await store.add_communication(ACCOUNT, one.case_id, comm(f"one-{i}", T0 + i))
    await store.add_communication(ACCOUNT, two.case_id, comm("two-0", T0 + 1))

    recent = await store.recent_communications([one.seq, two.seq, three.seq, 987654], 3)
    assert [c.body for c in recent[one.seq]] == ["one-6", "one-5", "one-4"]
    assert [c.body for c in recent[two.seq]] == ["two-0", "first"]
    assert [c.body for c in recent[three.seq]] == ["first"]
    assert recent[987654] == []
    assert all(c.case_id == one.case_id for c in recent[one.seq])
    assert await store.recent_communications([], 5) == {}


async def test_list_communications_pages_and_time_bounds(store: Store) -> None:
    case = await create(store)
    for i in range(1, 6):
        await store.add_communication(ACCOUNT, case.case_id, comm(f"m{i}", T0 + i * DAY_MS))

    page = await store.list_communications(
        CommunicationQuery(case_seq=case.seq, case_id=case.case_id, limit=4)
    )
    assert [c.body for c in page] == ["m5", "m4", "m3", "m2"]
    assert {c.case_id for c in page} == {case.case_id}
    rest = await store.list_communications(
        CommunicationQuery(
            case_seq=case.seq, case_id=case.case_id, limit=4, before_seq=page[-1].seq
        )
    )
    assert [c.body for c in rest] == ["m1", "first"]
    bounded = await store.list_communications(
        CommunicationQuery(
            case_seq=case.seq,
            case_id=case.case_id,
            limit=10,
            after_ms=T0 + 2 * DAY_MS,
            before_ms=T0 + 4 * DAY_MS,
        )
    )
    assert [c.body for c in bounded] == ["m4", "m3", "m2"]
    assert bounded[0].submitted_by == "Jane <j@example.com>"
    assert bounded[0].author_kind == CUSTOMER


# --- reply rules --------------------------------------------------------------------


async def test_reply_keeps_an_open_status(store: Store) -> None:
    case = await create(store)
    updated = await store.add_communication(ACCOUNT, case.case_id, comm("more", T0 + 1))
    assert updated is not None
    assert updated.status == lifecycle.UNASSIGNED
    assert await communications(store, case.seq) == ["more", "first"]
    assert await events(store, case.seq) == [(None, lifecycle.UNASSIGNED)]


async def test_reply_completes_a_pending_customer_action(store: Store) -> None:
    case = await put_case(store, 500, lifecycle.PENDING_CUSTOMER_ACTION)
    updated = await store.add_communication(ACCOUNT, case.case_id, comm("done", T0 + 1))
    assert updated is not None
    assert updated.status == lifecycle.CUSTOMER_ACTION_COMPLETED
    stored = await store.get_case(ACCOUNT, case.case_id)
    assert stored is not None
    assert stored.status == lifecycle.CUSTOMER_ACTION_COMPLETED
    assert await events(store, case.seq) == [
        (lifecycle.PENDING_CUSTOMER_ACTION, lifecycle.CUSTOMER_ACTION_COMPLETED)
    ]


async def test_reply_reopens_a_recently_resolved_case(store: Store) -> None:
    case = await create(store)
    await store.resolve_case(ACCOUNT, case.case_id, T0 + DAY_MS)
    now = T0 + DAY_MS + lifecycle.REOPEN_WINDOW_MS  # exactly 14 days later: still allowed
    updated = await store.add_communication(ACCOUNT, case.case_id, comm("again", now))

    assert updated is not None
    assert (updated.status, updated.resolved_ms) == (lifecycle.REOPENED, None)
    stored = await store.get_case(ACCOUNT, case.case_id)
    assert stored == updated
    assert [c.seq for c in await store.list_cases(query(include_resolved=False))] == [case.seq]
    assert await events(store, case.seq) == [
        (None, lifecycle.UNASSIGNED),
        (lifecycle.UNASSIGNED, lifecycle.RESOLVED),
        (lifecycle.RESOLVED, lifecycle.REOPENED),
    ]


async def test_reply_to_a_case_resolved_over_14_days_ago_is_refused(store: Store) -> None:
    old = T0 - 30 * DAY_MS
    case = await create(store, created_ms=old)
    await store.resolve_case(ACCOUNT, case.case_id, old + DAY_MS)

    with pytest.raises(ReopenWindowClosed):
        await store.add_communication(ACCOUNT, case.case_id, comm("too late", T0))
    stored = await store.get_case(ACCOUNT, case.case_id)
    assert stored is not None
    assert (stored.status, stored.resolved_ms) == (lifecycle.RESOLVED, old + DAY_MS)
    assert await communications(store, case.seq) == ["first"]


async def test_refused_reply_on_an_imported_old_case(store: Store) -> None:
    case = await put_case(
        store, 700, lifecycle.RESOLVED, created_ms=T0 - 40 * DAY_MS, resolved_ms=T0 - 20 * DAY_MS
    )
    with pytest.raises(ReopenWindowClosed):
        await store.add_communication(ACCOUNT, case.case_id, comm("hello?", T0))
    assert await events(store, case.seq) == []


async def test_concurrent_replies_apply_the_rules_one_at_a_time(store: Store) -> None:
    case = await put_case(store, 900, lifecycle.PENDING_CUSTOMER_ACTION)
    results = await asyncio.gather(
        *(store.add_communication(ACCOUNT, case.case_id, comm(f"r{i}", T0 + 1)) for i in range(20))
    )
    assert all(r is not None for r in results)
    assert len(await communications(store, case.seq)) == 21
    # Exactly one reply saw the pending status; the others saw it completed.
    assert await events(store, case.seq) == [
        (lifecycle.PENDING_CUSTOMER_ACTION, lifecycle.CUSTOMER_ACTION_COMPLETED)
    ]


# --- resolve ------------------------------------------------------------------------


async def test_resolve_is_idempotent(store: Store) -> None:
    case = await create(store)
    first = await store.resolve_case(ACCOUNT, case.case_id, T0 + 10)
    second = await store.resolve_case(ACCOUNT, case.case_id, T0 + 20)

    assert first == ResolveOutcome(lifecycle.UNASSIGNED, lifecycle.RESOLVED)
    assert second == ResolveOutcome(lifecycle.RESOLVED, lifecycle.RESOLVED)
    stored = await store.get_case(ACCOUNT, case.case_id)
    assert stored is not None
    assert stored.resolved_ms == T0 + 10  # the second resolve changed nothing
    assert await events(store, case.seq) == [
        (None, lifecycle.UNASSIGNED),
        (lifecycle.UNASSIGNED, lifecycle.RESOLVED),
    ]


# --- accounts -----------------------------------------------------------------------


async def test_accounts_never_see_each_others_cases(store: Store) -> None:
    mine = await create(store, ACCOUNT)
    theirs = await create(store, OTHER)

    assert await store.get_case(OTHER, mine.case_id) is None
    assert await store.case_seqs(OTHER, [mine.case_id, theirs.case_id]) == {
        theirs.case_id: theirs.seq
    }
    assert [c.seq for c in await store.list_cases(query(account_id=OTHER))] == [theirs.seq]
    assert await store.list_cases(query(account_id=OTHER, seqs=(mine.seq,))) == []
    assert await store.add_communication(OTHER, mine.case_id, comm("intruder")) is None
    assert await store.resolve_case(OTHER, mine.case_id, T0 + 1) is None
    stored = await store.get_case(ACCOUNT, mine.case_id)
    assert stored is not None
    assert stored.status == lifecycle.UNASSIGNED
    assert await communications(store, mine.seq) == ["first"]


# --- export / import ------------------------------------------------------------------


async def test_export_in_table_and_sequence_order_with_json_values(store: Store) -> None:
    created = [await create(store) for _ in range(3)]
    await store.resolve_case(ACCOUNT, created[1].case_id, T0 + 1)

    batches = await exported(store, batch_size=2)
    assert [(table, len(rows)) for table, rows in batches] == [
        ("cases", 2),
        ("cases", 1),
        ("communications", 2),
        ("communications", 1),
        ("case_events", 2),
        ("case_events", 2),
        # Every case has its support-side row (assignee, SLA clock), keyed by its seq.
        ("case_work", 2),
        ("case_work", 1),
        # Each creation and the resolution left a notification in the outbox.
        ("outbox_events", 2),
        ("outbox_events", 2),
    ]
    cases = [row for table, rows in batches if table == "cases" for row in rows]
    assert [r["seq"] for r in cases] == [c.seq for c in created]
    assert [r["is_open"] for r in cases] == [True, False, True]
    assert cases[0]["cc_emails"] == ["a@example.com", "b@example.com"]
    assert cases[1]["resolved_ms"] == T0 + 1
    comms = [row for table, rows in batches if table == "communications" for row in rows]
    assert [c["cc_emails"] for c in comms] == [["c@example.com"]] * 3


async def test_export_reads_one_snapshot_while_writes_go_on(store: Store) -> None:
    before = [await create(store) for _ in range(3)]
    export = store.export_all(1)
    first_table, first_rows = await anext(export)
    # Written after the export began: neither the case nor its rows may appear.
    during = await create(store)
    await store.add_communication(ACCOUNT, before[0].case_id, comm("during export"))
    rest = [batch async for batch in export]

    rows = [(first_table, first_rows), *rest]
    cases = [r["seq"] for table, batch in rows if table == "cases" for r in batch]
    comms = [r for table, batch in rows if table == "communications" for r in batch]
    assert cases == [c.seq for c in before]
    assert during.seq not in cases
    assert [c["body"] for c in comms] == ["first"] * 3


async def test_imported_rows_keep_their_numbers_and_new_ones_follow(store: Store) -> None:
    assert await store.is_empty()
    imported = await put_case(store, 4321, lifecycle.WORK_IN_PROGRESS)
    assert not await store.is_empty()
    assert imported.seq == 4321
    assert await store.case_seqs(ACCOUNT, [imported.case_id]) == {imported.case_id: 4321}
    created = await create(store)
    assert created.seq > 4321
    reply = await store.add_communication(ACCOUNT, imported.case_id, comm("after import"))
    assert reply is not None
    assert await communications(store, imported.seq) == ["after import", "first"]
