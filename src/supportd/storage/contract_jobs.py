"""The job queue every background task goes through (one worker per process claims
jobs; a job whose worker died is claimed again once its lease runs out)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from supportd.domain.jobs import Job


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

    async def finish_jobs(self, claimed: Sequence[Job], error: str | None, now_ms: int) -> int:
        """finish_job for several claimed jobs at once (one transaction); how many of
        them were still this worker's."""

    async def prune_jobs(self, finished_before_ms: int) -> int:
        """Delete finished jobs older than the given time; how many."""
