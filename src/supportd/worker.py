"""The background worker: one per server process, started and stopped with the app.

Every poll it proposes the current period of each periodic task (the store keeps one
job per period, so a period runs once across the cluster), claims due jobs with a
lease, and runs them with a timeout. A job whose worker died is claimed again by any
node once its lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Coroutine, Mapping
from typing import Any

from supportd.domain import jobs
from supportd.domain.jobs import Job
from supportd.operations.background import JobKind, Periodic, periodic_kind
from supportd.operations.context import Context

log = logging.getLogger("supportd.worker")

CLAIM_BATCH = 8


async def _failure(
    work: Awaitable[None], timeout_s: float, kind: str, jobs_run: list[Job]
) -> str | None:
    """Run a handler with its timeout: None, or why it failed (to record)."""
    try:
        await asyncio.wait_for(work, timeout_s)
    except TimeoutError:
        return f"timed out after {timeout_s:g} s"
    except Exception as exc:
        log.exception("jobs %s (%s) failed", [j.seq for j in jobs_run], kind)
        return f"{type(exc).__name__}: {exc}"
    return None


class Worker:
    def __init__(
        self,
        ctx: Context,
        kinds: Mapping[str, JobKind],
        periodic: Mapping[str, Periodic],
        poll_s: float,
        lease_grace_s: float = 5.0,
    ) -> None:
        self.ctx = ctx
        self.periodic = dict(periodic)
        self.kinds: dict[str, JobKind] = {
            name: kind.for_config(ctx.config) for name, kind in kinds.items()
        }
        for task in self.periodic.values():
            self.kinds[periodic_kind(task.name)] = JobKind(task.handler, task.timeout_s, 1)
        self.poll_s = poll_s
        # A lease outlives the longest timeout by this much: a job is only taken over
        # from a worker that is gone, not one that is finishing.
        self.lease_ms = int(
            (max((k.timeout_s for k in self.kinds.values()), default=0) + lease_grace_s) * 1000
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="supportd-worker")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        last_failure: str | None = None
        while not self._stop.is_set():
            try:
                await self.tick()
                last_failure = None
            except Exception as exc:  # the store may be briefly unreachable: try again next poll
                # A failure that repeats every poll (the database away, the disk full) is
                # one traceback, then a line per poll.
                failure = f"{type(exc).__name__}: {exc}"
                if failure == last_failure:
                    log.warning("background worker tick failed again: %s", failure)
                else:
                    log.exception("background worker tick failed")
                last_failure = failure
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.poll_s)

    async def _propose_periods(self) -> None:
        # The context's clock: a fake clock (tests) moves periods, due times and leases.
        now = self.ctx.clock.now_ms()
        for task in self.periodic.values():
            interval_ms = int(task.interval_for(self.ctx.config) * 1000)
            key, start = jobs.periodic_key(task.name, now, interval_ms)
            await self.ctx.store.enqueue_job(
                periodic_kind(task.name), {"period_start_ms": start}, start, key
            )

    async def tick(self) -> int:
        """One round: schedule periodic work, run what is due. How many jobs ran."""
        store = self.ctx.store
        await self._propose_periods()
        ran = 0
        while not self._stop.is_set():
            claimed = await store.claim_jobs(
                list(self.kinds), self.ctx.clock.now_ms(), self.lease_ms, CLAIM_BATCH
            )
            if not claimed:
                break
            for job in claimed:
                await self._run_job(job)
                ran += 1
        return ran

    async def _run_job(self, job: Job) -> None:
        kind = self.kinds[job.kind]
        error = await _failure(kind.handler(self.ctx, job), kind.timeout_s, job.kind, [job])
        now = self.ctx.clock.now_ms()
        if error is not None and job.attempts < kind.max_attempts:
            # Leave it running: the lease runs out and any worker retries it.
            return
        await self.ctx.store.finish_job(job, error, now)


class PoolWorker(Worker):
    """A worker that runs up to `concurrency` jobs at once, for jobs that mostly wait on
    other servers (notifications): a receiver that hangs holds one slot until its
    timeout, not the whole queue. It claims only as many jobs as it has free slots, so
    nothing it leases waits behind a slow job. The jobs of a kind with a batch handler
    that one claim brought are run together, `batch_size` at a time, and finished in
    one write: fewer transactions per job, at the price of a batch's slots waiting for
    its slowest job (hence small batches)."""

    def __init__(
        self,
        ctx: Context,
        kinds: Mapping[str, JobKind],
        periodic: Mapping[str, Periodic],
        poll_s: float,
        concurrency: int,
        lease_grace_s: float = 5.0,
        batch_size: int = 4,
    ) -> None:
        super().__init__(ctx, kinds, periodic, poll_s, lease_grace_s)
        self.concurrency = max(1, concurrency)
        self.batch_size = max(1, batch_size)
        self._running: set[asyncio.Task[None]] = set()
        self._in_flight = 0  # jobs, not tasks: a batch holds a slot per job

    async def stop(self) -> None:
        await super().stop()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def tick(self) -> int:
        await self._propose_periods()
        ran = 0
        while not self._stop.is_set():
            free = self.concurrency - self._in_flight
            if free <= 0:
                await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
                continue
            claimed = await self.ctx.store.claim_jobs(
                list(self.kinds), self.ctx.clock.now_ms(), self.lease_ms, free
            )
            batches: dict[str, list[Job]] = {}
            for job in claimed:
                if self.kinds[job.kind].batch_handler is not None:
                    batches.setdefault(job.kind, []).append(job)
                else:
                    self._launch([job], self._run_job(job))
            for kind, jobs_of_kind in batches.items():
                # Small batches: a batch holds its slots until its slowest job is done.
                for start in range(0, len(jobs_of_kind), self.batch_size):
                    batch = jobs_of_kind[start : start + self.batch_size]
                    self._launch(batch, self._run_batch(kind, batch))
            ran += len(claimed)
            if len(claimed) < free:
                break
        return ran

    def _launch(self, jobs_run: list[Job], work: Coroutine[Any, Any, None]) -> None:
        self._in_flight += len(jobs_run)

        async def run() -> None:
            try:
                await work
            except Exception:  # finishing failed (the store): the lease runs out, it reruns
                log.exception("jobs %s could not be finished", [j.seq for j in jobs_run])
            finally:
                self._in_flight -= len(jobs_run)

        task = asyncio.get_running_loop().create_task(run())
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run_batch(self, kind_name: str, batch: list[Job]) -> None:
        kind = self.kinds[kind_name]
        assert kind.batch_handler is not None
        error = await _failure(
            kind.batch_handler(self.ctx, batch), kind.timeout_s, kind_name, batch
        )
        now = self.ctx.clock.now_ms()
        if error is not None:
            # Those with attempts left stay running: their lease runs out, any worker
            # retries them. The others are finished as failed.
            batch = [job for job in batch if job.attempts >= kind.max_attempts]
            if not batch:
                return
        await self.ctx.store.finish_jobs(batch, error, now)
