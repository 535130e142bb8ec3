"""The embedded store's job queue. Claims go through the single writer, so two
workers of one process never take the same job, and BEGIN IMMEDIATE serialises the
workers of several processes."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Sequence
from typing import Any

from supportd.domain import jobs
from supportd.domain.jobs import Job
from supportd.storage.sqlite_core import SQLiteCore


def insert_job(
    conn: sqlite3.Connection, kind: str, payload: dict[str, Any], run_at_ms: int, key: str | None
) -> bool:
    """Queue a job inside the caller's transaction (an area that must queue work
    atomically with its own writes); False if a job with this key exists."""
    cursor = conn.execute(
        "INSERT INTO jobs (kind, key, payload, state, run_at_ms, created_ms, updated_ms)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
        (kind, key, json.dumps(payload), jobs.QUEUED, run_at_ms, run_at_ms, run_at_ms),
    )
    return cursor.rowcount == 1


class SQLiteJobs(SQLiteCore):
    async def enqueue_job(
        self, kind: str, payload: dict[str, Any], run_at_ms: int, key: str | None = None
    ) -> bool:
        def job(conn: sqlite3.Connection) -> bool:
            return insert_job(conn, kind, payload, run_at_ms, key)

        return await self._writer.submit(job)

    async def claim_jobs(
        self, kinds: Sequence[str], now_ms: int, lease_ms: int, limit: int
    ) -> list[Job]:
        if not kinds or limit < 1:
            return []
        lease = secrets.token_hex(8)
        until = now_ms + lease_ms
        marks = ", ".join("?" * len(kinds))

        def job(conn: sqlite3.Connection) -> list[Job]:
            rows = conn.execute(
                f"SELECT seq, kind, key, payload, attempts FROM jobs WHERE kind IN ({marks})"
                " AND ((state = ? AND run_at_ms <= ?) OR (state = ? AND lease_until_ms < ?))"
                " ORDER BY run_at_ms, seq LIMIT ?",
                (*kinds, jobs.QUEUED, now_ms, jobs.RUNNING, now_ms, limit),
            ).fetchall()
            claimed = []
            for seq, kind, key, payload, attempts in rows:
                conn.execute(
                    "UPDATE jobs SET state = ?, lease = ?, lease_until_ms = ?,"
                    " attempts = attempts + 1, updated_ms = ? WHERE seq = ?",
                    (jobs.RUNNING, lease, until, now_ms, seq),
                )
                claimed.append(Job(seq, kind, key, json.loads(payload), attempts + 1, lease, until))
            return claimed

        return await self._writer.submit(job)

    async def finish_job(self, job: Job, error: str | None, now_ms: int) -> bool:
        state = jobs.DONE if error is None else jobs.FAILED

        def write(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE jobs SET state = ?, last_error = ?, lease = NULL, lease_until_ms = NULL,"
                " updated_ms = ? WHERE seq = ? AND state = ? AND lease = ?",
                (state, error, now_ms, job.seq, jobs.RUNNING, job.lease),
            )
            return cursor.rowcount == 1

        return await self._writer.submit(write)

    async def prune_jobs(self, finished_before_ms: int) -> int:
        def job(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "DELETE FROM jobs WHERE state IN (?, ?) AND updated_ms < ?",
                (jobs.DONE, jobs.FAILED, finished_before_ms),
            )
            return cursor.rowcount

        return await self._writer.submit(job)
