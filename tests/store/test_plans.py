"""How each store runs DescribeCommunications' page: a backward range of the
(case_seq, seq) index from the page's cursor, never a sort of the case's messages or a
scan of the table, so a page of a case with 10,000 messages costs what a page of a case
with 10 does (bench/communications.py measures it over HTTP).

The plans are the databases' own (EXPLAIN on PostgreSQL, EXPLAIN QUERY PLAN on SQLite)
for the statement list_communications runs, on a store holding thousands of messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from supportd.domain.records import CaseRecord, CommunicationQuery
from supportd.storage.base import Store
from supportd.storage.sql import POSTGRESQL, Tx
from tests.store.test_contract import T0, create

BIG = 3_000
FILL_SQL = (
    "INSERT INTO communications (case_seq, body, submitted_by, author_kind, cc_emails,"
    " created_ms) VALUES ($1, $2, $3, $4, $5, $6)"
)


async def fill(store: Store, case_seq: int, count: int) -> None:
    rows = [(case_seq, f"message {i}", "x", "customer", [], T0 + i) for i in range(count)]

    async def job(tx: Tx) -> None:
        await tx.executemany(FILL_SQL, rows)

    await store._write(job)


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def plan_of(store: Store, sql: str, values: list[Any]) -> str:
    """The plan, a step a line: PostgreSQL's node type, relation, index and direction;
    SQLite's EXPLAIN QUERY PLAN details."""

    async def job(tx: Tx) -> str:
        if tx.dialect == POSTGRESQL:
            [[raw]] = await tx.fetch(f"EXPLAIN (FORMAT JSON) {sql}", *values)
            plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
            keys = ("Node Type", "Relation Name", "Index Name", "Scan Direction", "Index Cond")
            steps = [" ".join(str(n[k]) for k in keys if k in n) for n in _nodes(plan)]
        else:
            steps = [row[3] for row in await tx.fetch(f"EXPLAIN QUERY PLAN {sql}", *values)]
        return "\n".join(steps)

    return await store._read(job)


def reads_by_index_without_sorting(plan: str) -> bool:
    """Whether the plan walks communications_by_case (backwards, where the plan names a
    direction: PostgreSQL) and neither sorts nor scans the communications table."""
    uses_index = re.search(r"communications_by_case( Backward)?\b", plan)
    if uses_index is None or ("Index" in plan and uses_index.group(1) is None):
        return False
    sorts = "Sort" in plan or "TEMP B-TREE" in plan
    scans_table = "Seq Scan communications" in plan or "SCAN m" in plan
    return not sorts and not scans_table


def seeks_the_cursor(plan: str) -> bool:
    """Whether the index range starts at the page's cursor (case and seq both bound
    it) rather than at the case's newest message, filtering down to the cursor."""
    return bool(
        re.search(r"communications_by_case Backward .*ROW\(case_seq, seq\) < ROW\(", plan)
        or "communications_by_case (case_seq=? AND seq<?)" in plan
    )


async def analyze(tx: Tx) -> None:
    # PostgreSQL plans from statistics (autovacuum gathers them on a live database);
    # SQLite's store never runs ANALYZE, so its plan is the one production gets.
    if tx.dialect == POSTGRESQL:
        await tx.execute("ANALYZE communications")


@pytest.fixture
def big_case(store: Store, runner: Any) -> CaseRecord:
    async def setup() -> CaseRecord:
        small = await create(store)
        await fill(store, small.seq, 9)
        big = await create(store)
        await fill(store, big.seq, BIG)
        others = await create(store, account="444455556666")
        await fill(store, others.seq, BIG)
        await store._write(analyze)
        return big

    result: CaseRecord = runner.run(setup())
    return result


PAGES = {
    "first page": {},
    "a later page (keyset)": {"before_seq": 2_000},
    "a time window": {"after_ms": T0 + 100, "before_ms": T0 + 2_500},
}


@pytest.mark.parametrize("page", list(PAGES))
async def test_a_page_of_communications_is_an_index_range(
    store: Store, big_case: CaseRecord, page: str
) -> None:
    query = CommunicationQuery(
        case_seq=big_case.seq, case_id=big_case.case_id, limit=101, **PAGES[page]
    )
    sql, values = store.communications_page(query)
    plan = await plan_of(store, sql, values)
    assert reads_by_index_without_sorting(plan), plan
    if query.before_seq is not None:
        assert seeks_the_cursor(plan), plan
    rows = await store.list_communications(query)
    seqs = [row.seq for row in rows]
    assert len(rows) == 101
    assert seqs == sorted(seqs, reverse=True)
    assert all(row.case_id == big_case.case_id for row in rows)


async def test_the_plan_check_catches_a_sort(store: Store, big_case: CaseRecord) -> None:
    # The same page ordered by a column no index of the case covers must be sorted:
    # what the check above would report if the page query lost its index.
    query = CommunicationQuery(case_seq=big_case.seq, case_id=big_case.case_id, limit=101)
    sql, values = store.communications_page(query)
    resorted = re.sub(r"ORDER BY .* LIMIT", "ORDER BY m.body DESC LIMIT", sql)
    assert resorted != sql
    plan = await plan_of(store, resorted, values)
    assert not reads_by_index_without_sorting(plan), plan


async def test_the_plan_check_catches_a_scan_that_filters_down_to_the_cursor(
    store: Store, big_case: CaseRecord
) -> None:
    # The keyset page with its cursor as a plain filter (the statement before the
    # cursor was part of the index range on PostgreSQL): the walk starts at the case's
    # newest message and filters, which the check must refuse.
    query = CommunicationQuery(
        case_seq=big_case.seq, case_id=big_case.case_id, limit=101, before_seq=2_000
    )
    sql, values = store.communications_page(query)
    filtered = sql.replace("m.seq < ", "m.seq + 0 < ").replace(
        "(m.case_seq, m.seq) < ($1, $2)", "m.case_seq <= $1 AND m.seq + 0 < $2"
    )
    assert filtered != sql
    plan = await plan_of(store, filtered, values)
    assert not seeks_the_cursor(plan), plan
