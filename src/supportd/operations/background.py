"""Background work of every area: job handlers by kind, and periodic tasks.

Areas register here; the worker (supportd.worker) runs them. A handler gets the
context and the claimed job and either returns (done) or raises (failed, or retried
while attempts remain). Handlers must be safe to run again after a node died in the
middle of one: a job is at-least-once, and exactly-once in effect only if its writes
check where they left off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from supportd.config import Config
from supportd.domain import clock
from supportd.domain.jobs import Job
from supportd.operations.context import Context

JobHandler = Callable[[Context, Job], Awaitable[None]]
# Several claimed jobs of one kind at once (a worker that runs batches: PoolWorker).
BatchHandler = Callable[[Context, list[Job]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class JobKind:
    """With `timeout_from`, the timeout follows the settings (a timeout the operator
    configures); the worker resolves it once, at start (see for_config)."""

    handler: JobHandler
    timeout_s: float = 60.0
    max_attempts: int = 3
    timeout_from: Callable[[Config], float] | None = None
    # With it, a PoolWorker hands it every job of this kind it claimed together, and
    # finishes them in one write; `handler` still runs them one by one elsewhere.
    batch_handler: BatchHandler | None = None

    def for_config(self, config: Config) -> JobKind:
        if self.timeout_from is None:
            return self
        return replace(self, timeout_s=self.timeout_from(config), timeout_from=None)


@dataclass(frozen=True, slots=True)
class Periodic:
    """Runs once per interval across the whole cluster (one job per period key). With
    `interval_setting`, the interval is that setting of the Config (in seconds)."""

    name: str
    interval_s: float
    handler: JobHandler
    timeout_s: float = 60.0
    interval_setting: str | None = None

    def interval_for(self, config: Config) -> float:
        if self.interval_setting is None:
            return self.interval_s
        return float(getattr(config, self.interval_setting))


JOB_KINDS: dict[str, JobKind] = {}
PERIODIC: dict[str, Periodic] = {}

FINISHED_JOBS_KEPT_MS = 24 * 3600 * 1000


def register_job(
    kind: str,
    handler: JobHandler,
    timeout_s: float = 60.0,
    attempts: int = 3,
    timeout_from: Callable[[Config], float] | None = None,
) -> None:
    JOB_KINDS[kind] = JobKind(handler, timeout_s, attempts, timeout_from)


def register_periodic(
    name: str,
    interval_s: float,
    handler: JobHandler,
    timeout_s: float = 60.0,
    interval_setting: str | None = None,
) -> None:
    PERIODIC[name] = Periodic(name, interval_s, handler, timeout_s, interval_setting)


def periodic_kind(name: str) -> str:
    return f"periodic:{name}"


async def _prune_finished_jobs(ctx: Context, job: Job) -> None:
    await ctx.store.prune_jobs(clock.now_ms() - FINISHED_JOBS_KEPT_MS)


register_periodic("prune-jobs", 3600.0, _prune_finished_jobs)
