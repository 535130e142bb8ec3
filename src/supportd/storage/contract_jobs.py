"""The job queue every background task goes through (one worker per process claims
jobs; a job whose worker died is claimed again once its lease runs out)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from supportd.domain.jobs import Job, JobProgress


class JobStore(Protocol):
    async def enqueue_job(
        self, kind: str, payload: dict[str, Any], run_at_ms: int, key: str | None = None
    ) -> bool:
        """Queue a job; False (and nothing queued) if a job with this key exists."""

    async def claim_jobs(
        self, kinds: Sequence[str], now_ms: int, lease_ms: int, limit: int
    ) -> list[Job]:
        """Take up to `limit` jobs that are due (or whose lease ran out) for this worker."""

    async def finish_job(self, job: Job, error: str | None, now_ms: int) -> bool:
        """Mark a claimed job done (error None) or failed; False if the lease was lost
        (another worker took the job over) and nothing changed."""

    async def prune_jobs(self, finished_before_ms: int) -> int:
        """Delete finished jobs older than the given time; how many."""

    async def job_progress(self, kinds: Sequence[str], due_by_ms: int) -> JobProgress:
        """The latest finished run of each kind, and the jobs of the kinds due by
        `due_by_ms` still queued or running (the testing kit waits on it after moving
        the fake clock: domain.jobs.caught_up)."""
