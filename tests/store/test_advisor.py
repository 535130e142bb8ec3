"""The Trusted Advisor area of the Store contract on SQLite and PostgreSQL: results,
refresh requests racing across nodes, and refreshes whose worker died.

"Two nodes" are two store objects on the same database, as in test_jobs.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from supportd.config import Config
from supportd.domain import advisor, clock
from supportd.domain.advisor import CheckResult, FlaggedResource
from supportd.operations.advisor import JOB_MARGIN_S, REFRESH_JOB
from supportd.operations.advisor_providers import CheckRequest, LoadedProvider
from supportd.operations.background import JOB_KINDS
from supportd.operations.context import Context
from supportd.reference import advisor as advisor_reference
from supportd.reference import catalogue
from supportd.storage import exchange
from supportd.storage.base import Store
from supportd.worker import Worker
from tests.store.test_jobs import _second_node

ACCOUNT = "111122223333"
OTHER = "444455556666"
CHECK = "DqdJqYeRm5"
COST_CHECK = "Z4AUBRNSmz"
T0 = 1_700_000_000_000
MINUTE = 60_000
KIND = REFRESH_JOB


def result(
    check_id: str = CHECK, account: str = ACCOUNT, timestamp_ms: int = T0, **kw: Any
) -> CheckResult:
    flagged = kw.pop(
        "flagged",
        (
            FlaggedResource(
                "warning", "AKIAEXAMPLE1", ("Yellow", "jane", "AKIAEXAMPLE1", "x", "y")
            ),
            FlaggedResource(
                "error", "AKIAEXAMPLE2", ("Red", "ops", "AKIAEXAMPLE2", "x", "ü"), "eu-west-1", True
            ),
        ),
    )
    values: dict[str, Any] = {
        "account_id": account,
        "check_id": check_id,
        "status": "warning",
        "timestamp_ms": timestamp_ms,
        "resources_processed": 7,
        "resources_flagged": 1,
        "resources_ignored": 2,
        "resources_suppressed": 1,
        "monthly_savings": None,
        "percent_savings": None,
        "flagged_count": len(flagged),
        "source": advisor.SEEDED,
        "flagged": flagged,
    }
    values.update(kw)
    return CheckResult(**values)


async def test_a_result_is_stored_read_and_replaced(store: Store) -> None:
    first = result()
    await store.put_advisor_result(first)
    assert await store.get_advisor_result(ACCOUNT, CHECK) == first
    assert await store.get_advisor_result(OTHER, CHECK) is None
    replaced = result(status="ok", flagged=(), flagged_count=0, source=advisor.COMPUTED)
    await store.put_advisor_result(replaced)
    assert await store.get_advisor_result(ACCOUNT, CHECK) == replaced


async def test_summaries_leave_out_flagged_resources(store: Store) -> None:
    cost = result(
        COST_CHECK, monthly_savings=0.0, percent_savings=12.5, flagged=(), flagged_count=0
    )
    await store.put_advisor_result(result())
    await store.put_advisor_result(cost)
    await store.put_advisor_result(result(account=OTHER))
    found = await store.advisor_summaries(ACCOUNT, [CHECK, COST_CHECK, "nothing-here"])
    assert set(found) == {CHECK, COST_CHECK}
    assert found[CHECK] == dataclasses.replace(result(), flagged=())
    assert found[CHECK].flagged_count == 2
    assert found[COST_CHECK].monthly_savings == 0.0
    assert isinstance(found[COST_CHECK].monthly_savings, float)
    assert await store.advisor_summaries(ACCOUNT, []) == {}


async def test_a_result_is_deleted(store: Store) -> None:
    await store.put_advisor_result(result())
    assert await store.delete_advisor_result(ACCOUNT, CHECK) is True
    assert await store.delete_advisor_result(ACCOUNT, CHECK) is False
    assert await store.get_advisor_result(ACCOUNT, CHECK) is None


async def test_a_refresh_goes_through_its_states_and_queues_one_job(store: Store) -> None:
    record, started = await store.request_advisor_refresh(
        ACCOUNT, CHECK, T0, MINUTE, 10 * MINUTE, KIND
    )
    assert started and (record.status, record.requested_ms) == (advisor.ENQUEUED, T0)
    [job] = await store.claim_jobs([KIND], T0, 1000, 10)
    assert job.payload == {"account_id": ACCOUNT, "check_id": CHECK, "requested_ms": T0}

    # Asking again while it is unfinished starts nothing.
    again, started = await store.request_advisor_refresh(
        ACCOUNT, CHECK, T0 + 2 * MINUTE, MINUTE, 10 * MINUTE, KIND
    )
    assert not started and again == record

    assert await store.start_advisor_refresh(ACCOUNT, CHECK, T0, T0 + 10) is True
    [processing] = (await store.advisor_refreshes(ACCOUNT, [CHECK])).values()
    assert (processing.status, processing.updated_ms) == (advisor.PROCESSING, T0 + 10)

    computed = result(source=advisor.COMPUTED, timestamp_ms=T0)
    assert (
        await store.finish_advisor_refresh(ACCOUNT, CHECK, T0, T0 + 20, advisor.SUCCESS, computed)
        is True
    )
    assert await store.get_advisor_result(ACCOUNT, CHECK) == computed
    assert await store.finish_job(job, None, T0 + 20)
    # Finished: neither a late start nor a second finish changes anything.
    assert await store.start_advisor_refresh(ACCOUNT, CHECK, T0, T0 + 30) is False
    assert (
        await store.finish_advisor_refresh(
            ACCOUNT, CHECK, T0, T0 + 30, advisor.ABANDONED, error="late"
        )
        is False
    )
    [done] = (await store.advisor_refreshes(ACCOUNT, [CHECK])).values()
    assert (done.status, done.updated_ms) == (advisor.SUCCESS, T0 + 20)

    # Within the minimum interval nothing starts; after it, a new refresh does.
    _, started = await store.request_advisor_refresh(
        ACCOUNT, CHECK, T0 + MINUTE - 1, MINUTE, 10 * MINUTE, KIND
    )
    assert not started
    record, started = await store.request_advisor_refresh(
        ACCOUNT, CHECK, T0 + MINUTE, MINUTE, 10 * MINUTE, KIND
    )
    assert started and record.requested_ms == T0 + MINUTE
    assert len(await store.claim_jobs([KIND], T0 + MINUTE, 1000, 10)) == 1


async def test_an_abandoned_refresh_leaves_the_result_alone(store: Store) -> None:
    await store.put_advisor_result(result())
    await store.request_advisor_refresh(ACCOUNT, CHECK, T0, MINUTE, 10 * MINUTE, KIND)
    assert await store.finish_advisor_refresh(
        ACCOUNT, CHECK, T0, T0 + 5, advisor.ABANDONED, error="provider raised"
    )
    [record] = (await store.advisor_refreshes(ACCOUNT, [CHECK])).values()
    assert record.status == advisor.ABANDONED
    assert await store.get_advisor_result(ACCOUNT, CHECK) == result()


async def test_a_stale_unfinished_refresh_can_be_replaced(store: Store) -> None:
    """Its job was lost beyond every retry: it reads as abandoned, a new request starts
    a new refresh, and the old job (should it ever run) changes nothing."""
    stale = 10 * MINUTE
    await store.request_advisor_refresh(ACCOUNT, CHECK, T0, MINUTE, stale, KIND)
    await store.start_advisor_refresh(ACCOUNT, CHECK, T0, T0 + 1)
    [record] = (await store.advisor_refreshes(ACCOUNT, [CHECK])).values()
    assert advisor.refresh_view(record, T0 + stale, MINUTE, stale)[0] == advisor.PROCESSING
    assert advisor.refresh_view(record, T0 + stale + 2, MINUTE, stale) == (advisor.ABANDONED, 0)
    _, started = await store.request_advisor_refresh(
        ACCOUNT, CHECK, T0 + stale, MINUTE, stale, KIND
    )
    assert not started
    record, started = await store.request_advisor_refresh(
        ACCOUNT, CHECK, T0 + stale + 2, MINUTE, stale, KIND
    )
    assert started and record.requested_ms == T0 + stale + 2
    assert await store.start_advisor_refresh(ACCOUNT, CHECK, T0, T0 + stale + 3) is False
    assert not await store.finish_advisor_refresh(ACCOUNT, CHECK, T0, T0 + stale + 3, "success")


async def test_refreshes_belong_to_one_account_and_check(store: Store) -> None:
    await store.request_advisor_refresh(ACCOUNT, CHECK, T0, MINUTE, 10 * MINUTE, KIND)
    _, started = await store.request_advisor_refresh(OTHER, CHECK, T0, MINUTE, 10 * MINUTE, KIND)
    assert started
    _, started = await store.request_advisor_refresh(
        ACCOUNT, COST_CHECK, T0, MINUTE, 10 * MINUTE, KIND
    )
    assert started
    assert set(await store.advisor_refreshes(ACCOUNT, [CHECK, COST_CHECK, "x"])) == {
        CHECK,
        COST_CHECK,
    }
    assert set(await store.advisor_refreshes(OTHER, [CHECK, COST_CHECK])) == {CHECK}


async def test_nodes_asking_at_once_start_one_refresh(store: Store) -> None:
    other = _second_node(store)
    await other.open()
    try:
        outcomes = await asyncio.gather(
            *(
                node.request_advisor_refresh(ACCOUNT, CHECK, T0, MINUTE, 10 * MINUTE, KIND)
                for node in (store, other) * 5
            )
        )
        assert sum(started for _, started in outcomes) == 1
        assert len(await store.claim_jobs([KIND], T0, 1000, 100)) == 1
    finally:
        await other.close()


async def test_results_are_exported_and_refreshes_are_not(store: Store) -> None:
    await store.put_advisor_result(result())
    await store.put_advisor_result(result(COST_CHECK, monthly_savings=1.5, percent_savings=0.0))
    await store.request_advisor_refresh(ACCOUNT, CHECK, T0, MINUTE, 10 * MINUTE, KIND)
    assert "advisor_results" in exchange.TABLES_BY_NAME
    assert "advisor_refreshes" not in exchange.TABLES_BY_NAME
    rows = [
        row
        async for table, batch in store.export_all(100)
        for row in batch
        if table == "advisor_results"
    ]
    assert [(row["check_id"], row["monthly_savings"]) for row in rows] == [
        (CHECK, None),
        (COST_CHECK, 1.5),
    ]


@pytest.mark.parametrize("status", [advisor.SUCCESS, advisor.ABANDONED])
async def test_finishing_an_unknown_refresh_writes_nothing(store: Store, status: str) -> None:
    assert not await store.finish_advisor_refresh(ACCOUNT, CHECK, T0, T0, status, result())
    assert await store.get_advisor_result(ACCOUNT, CHECK) is None


# --- the refresh job, run by the real worker ----------------------------------------


def _context(store: Store, provider: Any) -> Context:
    checks = advisor_reference.load()
    return Context(
        config=Config(advisor_refresh_timeout_ms=1000),
        catalogue=catalogue.load(),
        store=store,
        advisor_checks=checks,
        advisor_providers={CHECK: LoadedProvider(CHECK, provider, "test: provider", False)},
    )


async def test_a_refresh_whose_node_died_runs_again_then_is_abandoned(store: Store) -> None:
    """A node claims the job, marks the refresh processing and dies. Once its lease runs
    out another node's worker runs the refresh again; after a second death the third
    claim abandons it instead of running the provider once more."""
    calls: list[str] = []

    async def provider(request: CheckRequest) -> dict[str, Any]:
        calls.append(request.account_id)
        return {"resourcesSummary": {"resourcesProcessed": 1}, "flaggedResources": []}

    worker = Worker(_context(store, provider), {KIND: JOB_KINDS[KIND]}, {}, 0.01)
    # The job's timeout follows the provider timeout setting (1 s here) plus a margin.
    assert worker.kinds[KIND].timeout_s == 1.0 + JOB_MARGIN_S
    for account, deaths, outcome in ((ACCOUNT, 1, advisor.SUCCESS), (OTHER, 2, advisor.ABANDONED)):
        now = clock.now_ms()
        record, started = await store.request_advisor_refresh(account, CHECK, now, 0, MINUTE, KIND)
        assert started
        for _ in range(deaths):
            # A lease of 1 ms: the node is "gone" as soon as the test sleeps.
            assert len(await store.claim_jobs([KIND], clock.now_ms(), 1, 10)) == 1
            assert await store.start_advisor_refresh(account, CHECK, record.requested_ms, now)
            await asyncio.sleep(0.005)
        [processing] = (await store.advisor_refreshes(account, [CHECK])).values()
        assert processing.status == advisor.PROCESSING
        assert await worker.tick() == 1
        [finished] = (await store.advisor_refreshes(account, [CHECK])).values()
        assert finished.status == outcome
    assert calls == [ACCOUNT]  # the abandoned one never ran the provider a third time
    stored = await store.get_advisor_result(ACCOUNT, CHECK)
    assert stored is not None and stored.source == advisor.COMPUTED
    assert await store.get_advisor_result(OTHER, CHECK) is None
    assert await worker.tick() == 0  # and no job is left behind


async def test_a_refresh_replaced_while_queued_does_not_run(store: Store) -> None:
    calls: list[int] = []

    async def provider(request: CheckRequest) -> dict[str, Any]:
        calls.append(request.now_ms)
        return {}

    stale = 10 * MINUTE
    old_time = clock.now_ms() - stale - 1000
    await store.request_advisor_refresh(ACCOUNT, CHECK, old_time, MINUTE, stale, KIND)
    # Its job never ran; long after, a new request replaces it.
    _, started = await store.request_advisor_refresh(
        ACCOUNT, CHECK, clock.now_ms(), MINUTE, stale, KIND
    )
    assert started
    worker = Worker(_context(store, provider), {KIND: JOB_KINDS[KIND]}, {}, 0.01)
    assert await worker.tick() == 2  # both jobs claimed; only the newer refresh runs
    assert len(calls) == 1
