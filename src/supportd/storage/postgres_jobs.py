"""The scale-out store's job queue: `FOR UPDATE SKIP LOCKED` lets the workers of every
node claim jobs at once without waiting on each other or taking the same job."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any

from supportd.domain import jobs
from supportd.domain.jobs import Job
from supportd.storage.postgres_core import Connection, PostgresCore

CLAIM_SQL = """
UPDATE jobs SET state = $1, lease = $2, lease_until_ms = $3, attempts = attempts + 1,
    updated_ms = $4
WHERE seq IN (
    SELECT seq FROM jobs
    WHERE kind = ANY($5::text[])
      AND ((state = $6 AND run_at_ms <= $4) OR (state = $1 AND lease_until_ms < $4))
    ORDER BY run_at_ms, seq
    LIMIT $7
    FOR UPDATE SKIP LOCKED
)
RETURNING seq, kind, key, payload::text, attempts
"""


async def insert_job(
    conn: Connection, kind: str, payload: dict[str, Any], run_at_ms: int, key: str | None
) -> bool:
    """Queue a job on the caller's connection, inside its transaction if it has one (an
    area that must queue work atomically with its own writes); False if a job with this
    key exists."""
    seq = await conn.fetchval(
        "INSERT INTO jobs (kind, key, payload, state, run_at_ms, created_ms, updated_ms)"
        " VALUES ($1, $2, $3::jsonb, $4, $5, $5, $5) ON CONFLICT (key) DO NOTHING"
        " RETURNING seq",
        kind,
        key,
        json.dumps(payload),
        jobs.QUEUED,
        run_at_ms,
    )
    return seq is not None


class PostgresJobs(PostgresCore):
    async def enqueue_job(
        self, kind: str, payload: dict[str, Any], run_at_ms: int, key: str | None = None
    ) -> bool:
        async def job(conn: Connection) -> bool:
            return await insert_job(conn, kind, payload, run_at_ms, key)

        # With a key the insert is idempotent; without one a lost COMMIT is reported.
        return await self._write(job, idempotent=key is not None, single_statement=True)

    async def claim_jobs(
        self, kinds: Sequence[str], now_ms: int, lease_ms: int, limit: int
    ) -> list[Job]:
        if not kinds or limit < 1:
            return []
        lease = secrets.token_hex(8)
        until = now_ms + lease_ms

        async def job(conn: Connection) -> list[Job]:
            rows = await conn.fetch(
                CLAIM_SQL, jobs.RUNNING, lease, until, now_ms, list(kinds), jobs.QUEUED, limit
            )
            return [
                Job(row[0], row[1], row[2], json.loads(row[3]), row[4], lease, until)
                for row in sorted(rows, key=lambda r: r[0])
            ]

        # A claim lost in flight is recovered by its lease running out.
        return await self._write(job, single_statement=True)

    async def finish_job(self, job: Job, error: str | None, now_ms: int) -> bool:
        state = jobs.DONE if error is None else jobs.FAILED

        async def write(conn: Connection) -> bool:
            status: str = await conn.execute(
                "UPDATE jobs SET state = $1, last_error = $2, lease = NULL,"
                " lease_until_ms = NULL, updated_ms = $3"
                " WHERE seq = $4 AND state = $5 AND lease = $6",
                state,
                error,
                now_ms,
                job.seq,
                jobs.RUNNING,
                job.lease,
            )
            return status.endswith(" 1")

        return await self._write(write, idempotent=True, single_statement=True)

    async def prune_jobs(self, finished_before_ms: int) -> int:
        async def job(conn: Connection) -> int:
            status: str = await conn.execute(
                "DELETE FROM jobs WHERE state = ANY($1::text[]) AND updated_ms < $2",
                [jobs.DONE, jobs.FAILED],
                finished_before_ms,
            )
            return int(status.split()[-1])

        return await self._write(job, idempotent=True, single_statement=True)
