"""The job queue and the background worker, on both stores.

"Two nodes" are two store objects on the same database, each with its own worker.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from supportd.config import Config
from supportd.domain.jobs import Job, JobProgress, caught_up, periodic_key
from supportd.operations.background import JobKind, Periodic
from supportd.operations.context import Context
from supportd.reference import catalogue
from supportd.storage.base import Store
from supportd.storage.postgres import PostgresStore
from supportd.storage.sqlite import SQLiteStore
from supportd.worker import Worker

T0 = 1_700_000_000_000


def _second_node(store: Store) -> Store:
    """Another store object on the same database, as a second node would have."""
    if isinstance(store, SQLiteStore):
        return SQLiteStore(Path(store.path))
    assert isinstance(store, PostgresStore)
    return PostgresStore(store.url, pool_size=2)


def _context(store: Store) -> Context:
    return Context(config=Config(), catalogue=catalogue.load(), store=store)


async def test_a_key_queues_one_job(store: Store) -> None:
    assert await store.enqueue_job("k", {"n": 1}, T0, key="once") is True
    assert await store.enqueue_job("k", {"n": 2}, T0, key="once") is False
    claimed = await store.claim_jobs(["k"], T0, 1000, 10)
    assert [(j.kind, j.key, j.payload, j.attempts) for j in claimed] == [("k", "once", {"n": 1}, 1)]


async def test_jobs_without_key_are_all_queued(store: Store) -> None:
    for n in range(3):
        assert await store.enqueue_job("k", {"n": n}, T0) is True
    claimed = await store.claim_jobs(["k"], T0, 1000, 10)
    assert sorted(j.payload["n"] for j in claimed) == [0, 1, 2]


async def test_only_due_jobs_of_the_asked_kinds_are_claimed(store: Store) -> None:
    await store.enqueue_job("a", {}, T0 + 5000, key="later")
    await store.enqueue_job("b", {}, T0, key="other-kind")
    await store.enqueue_job("a", {}, T0, key="due")
    assert [j.key for j in await store.claim_jobs(["a"], T0, 60_000, 10)] == ["due"]
    assert [j.key for j in await store.claim_jobs(["a"], T0 + 5000, 60_000, 10)] == ["later"]


async def test_a_claimed_job_is_not_claimed_again_while_leased(store: Store) -> None:
    await store.enqueue_job("k", {}, T0, key="j")
    assert len(await store.claim_jobs(["k"], T0, 10_000, 10)) == 1
    assert await store.claim_jobs(["k"], T0 + 9_999, 10_000, 10) == []


async def test_a_job_whose_lease_ran_out_is_claimed_again(store: Store) -> None:
    """The worker that claimed it died: another takes it over, the first cannot finish."""
    await store.enqueue_job("k", {}, T0, key="j")
    [first] = await store.claim_jobs(["k"], T0, 1000, 10)
    [second] = await store.claim_jobs(["k"], T0 + 1001, 1000, 10)
    assert second.seq == first.seq and second.attempts == 2
    assert await store.finish_job(first, None, T0 + 1100) is False
    assert await store.finish_job(second, None, T0 + 1100) is True
    assert await store.claim_jobs(["k"], T0 + 100_000, 1000, 10) == []


async def test_claims_take_the_earliest_due_jobs_of_either_state_first(store: Store) -> None:
    """Queued jobs and jobs whose lease ran out are one line, by due time then seq, and
    the limit applies to the whole of it (SQLite claims each state in index order)."""
    await store.enqueue_job("k", {}, T0, key="first")
    await store.enqueue_job("k", {}, T0 + 20, key="third")
    [leased] = await store.claim_jobs(["k"], T0, 100, 1)
    assert leased.key == "first"
    await store.enqueue_job("k", {}, T0 + 10, key="second")
    await store.enqueue_job("other", {}, T0 + 5, key="not-asked")
    # At T0 + 500 the lease of "first" ran out: it is due again, and earliest.
    now = T0 + 500
    assert [j.key for j in await store.claim_jobs(["k"], now, 100, 1)] == ["first"]
    assert [j.key for j in await store.claim_jobs(["k"], now, 100, 1)] == ["second"]
    later = now + 200  # every lease taken so far ran out
    # The three earliest (the claim lists them by seq): "third" is due last.
    claimed = await store.claim_jobs(["k", "other"], later, 100, 3)
    assert [j.key for j in claimed] == ["first", "second", "not-asked"]
    assert [j.key for j in await store.claim_jobs(["k"], later, 100, 5)] == ["third"]


async def test_finished_jobs_are_pruned(store: Store) -> None:
    await store.enqueue_job("k", {}, T0, key="old")
    [job] = await store.claim_jobs(["k"], T0, 1000, 1)
    assert await store.finish_job(job, "boom", T0 + 10) is True
    assert await store.prune_jobs(T0) == 0
    assert await store.prune_jobs(T0 + 11) == 1
    # The key is free again once its job is gone.
    assert await store.enqueue_job("k", {}, T0, key="old") is True


async def test_a_periodic_task_runs_once_per_period_across_nodes(store: Store) -> None:
    other = _second_node(store)
    await other.open()
    try:
        runs: list[int] = []

        async def task(ctx: Context, job: Job) -> None:
            runs.append(job.payload["period_start_ms"])

        periodic = {"tick": Periodic("tick", 3600.0, task)}
        workers = [Worker(_context(s), {}, periodic, 0.01) for s in (store, other, store)]
        ran = [await worker.tick() for worker in workers]
        assert sum(ran) == 1
        assert len(runs) == 1
        key, start = periodic_key("tick", runs[0] + 1, 3_600_000)
        assert runs == [start] and key.endswith(str(start))
    finally:
        await other.close()


async def test_a_failing_job_is_retried_then_failed(store: Store) -> None:
    calls: list[int] = []

    async def flaky(ctx: Context, job: Job) -> None:
        calls.append(job.attempts)
        raise RuntimeError("provider exploded")

    # A lease of 10 ms: the retry comes as soon as the lease has run out.
    kinds = {"flaky": JobKind(flaky, timeout_s=0.01, max_attempts=2)}
    worker = Worker(_context(store), kinds, {}, 0.01, lease_grace_s=0.0)
    await store.enqueue_job("flaky", {}, 0, key="f")
    await worker.tick()
    await asyncio.sleep(0.02)
    await worker.tick()
    assert calls == [1, 2]
    await asyncio.sleep(0.02)
    assert await worker.tick() == 0  # failed for good: not claimed again
    assert calls == [1, 2]


async def test_a_hanging_job_times_out(store: Store) -> None:
    async def hang(ctx: Context, job: Job) -> Any:
        await asyncio.Event().wait()

    worker = Worker(_context(store), {"hang": JobKind(hang, 0.05, 1)}, {}, 0.01)
    await store.enqueue_job("hang", {}, 0, key="h")
    assert await worker.tick() == 1
    assert await store.claim_jobs(["hang"], 2**62, 1000, 10) == []


async def test_the_worker_stops_promptly(store: Store) -> None:
    worker = Worker(_context(store), {}, {}, 30.0)
    worker.start()
    await asyncio.sleep(0.01)
    await asyncio.wait_for(worker.stop(), 5)


@pytest.mark.parametrize("bad", [0, -1])
async def test_claiming_nothing(store: Store, bad: int) -> None:
    await store.enqueue_job("k", {}, T0, key="x")
    assert await store.claim_jobs(["k"], T0, 1000, bad) == []
    assert await store.claim_jobs([], T0, 1000, 5) == []


async def test_job_progress_tells_when_the_work_due_has_run(store: Store) -> None:
    periods = {"p": T0}
    progress = await store.job_progress(["p", "k"], T0)
    assert progress == JobProgress({}, 0)
    assert not caught_up(progress, periods)  # the period has not even been queued
    await store.enqueue_job("p", {}, T0 - 60_000, key="p:old")
    await store.enqueue_job("p", {}, T0, key="p:now")
    await store.enqueue_job("k", {}, T0 + 10_000, key="k:later")
    await store.enqueue_job("other", {}, T0, key="not-asked")
    assert (await store.job_progress(["p", "k"], T0)).due_unfinished == 2
    claimed = await store.claim_jobs(["p"], T0, 60_000, 10)
    assert (await store.job_progress(["p", "k"], T0)).due_unfinished == 2  # running counts
    for job in claimed:
        await store.finish_job(job, None if job.key == "p:now" else "broke", T0)
    progress = await store.job_progress(["p", "k"], T0)
    assert progress == JobProgress({"p": T0}, 0)  # a failed job is finished too
    assert caught_up(progress, periods)
    assert not caught_up(progress, {"p": T0 + 1})
    # The later job counts once its time has come.
    later = await store.job_progress(["p", "k"], T0 + 10_000)
    assert later.due_unfinished == 1 and not caught_up(later, periods)
