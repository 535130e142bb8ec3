"""Trusted Advisor results per account and check, and the latest refresh of each (whose
work goes through the job queue), on both stores.

A refresh request is one transaction: it takes the (account, check) lock (an advisory
lock on PostgreSQL, so two nodes asked at once take turns even before the row exists;
SQLite's single writer already serialises), reads the latest refresh with its row
locked, lets domain.advisor decide whether a new one starts, and writes that refresh
and queues its job together. The job's own writes name the refresh they belong to (its
request time) and change it only while it is unfinished.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from supportd.domain import advisor
from supportd.domain.advisor import CheckResult, RefreshRecord
from supportd.storage import schema
from supportd.storage.jobs import insert_job
from supportd.storage.rows import values_of
from supportd.storage.sql import Row, SqlStore, Tx

# CheckResult's fields in order, all but `flagged` (stored as flagged_resources).
SUMMARY_COLUMNS = schema.ADVISOR_RESULTS.select(omit=("seq", "flagged_resources"))
REFRESH_COLUMNS = "account_id, check_id, status, requested_ms, updated_ms"

UPSERT_RESULT_SQL = f"""
INSERT INTO advisor_results ({SUMMARY_COLUMNS}, flagged_resources)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (account_id, check_id) DO UPDATE SET
    status = excluded.status, timestamp_ms = excluded.timestamp_ms,
    resources_processed = excluded.resources_processed,
    resources_flagged = excluded.resources_flagged,
    resources_ignored = excluded.resources_ignored,
    resources_suppressed = excluded.resources_suppressed,
    monthly_savings = excluded.monthly_savings, percent_savings = excluded.percent_savings,
    flagged_count = excluded.flagged_count, source = excluded.source,
    flagged_resources = excluded.flagged_resources
"""
DELETE_RESULT_SQL = "DELETE FROM advisor_results WHERE account_id = $1 AND check_id = $2"
SELECT_RESULT_SQL = (
    f"SELECT {SUMMARY_COLUMNS}, flagged_resources FROM advisor_results"
    " WHERE account_id = $1 AND check_id = $2"
)
SUMMARIES_SQL = (
    f"SELECT {SUMMARY_COLUMNS} FROM advisor_results"
    " WHERE account_id = $1 AND check_id = ANY($2::text[])"
)
REFRESHES_SQL = (
    f"SELECT {REFRESH_COLUMNS} FROM advisor_refreshes"
    " WHERE account_id = $1 AND check_id = ANY($2::text[])"
)
LOCK_REFRESH_SQL = (
    f"SELECT {REFRESH_COLUMNS} FROM advisor_refreshes"
    " WHERE account_id = $1 AND check_id = $2 FOR UPDATE"
)
PUT_REFRESH_SQL = f"""
INSERT INTO advisor_refreshes ({REFRESH_COLUMNS}) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (account_id, check_id) DO UPDATE SET
    status = excluded.status, requested_ms = excluded.requested_ms,
    updated_ms = excluded.updated_ms, last_error = NULL
"""
# A refresh's job moves it on (to processing, or finished) only while it is the latest
# refresh (same request time) and unfinished: a replaced or finished one stays as it is.
ADVANCE_REFRESH_SQL = (
    "UPDATE advisor_refreshes SET status = $1, updated_ms = $2, last_error = $3"
    " WHERE account_id = $4 AND check_id = $5 AND requested_ms = $6"
    " AND status = ANY($7::text[])"
)
REFRESH_LOCK = "advisor-refresh"
REFRESH_JOB_KEY = "advisor-refresh"  # + account, check and request time: one job each


_summary_values = values_of(SUMMARY_COLUMNS)


def result_row(result: CheckResult) -> tuple[Any, ...]:
    """UPSERT_RESULT_SQL's parameters; flagged resources as the wire format's JSON."""
    flagged = json.dumps(advisor.flagged_to_json(result.flagged), separators=(",", ":"))
    return (*_summary_values(result), flagged)


def summary_record(row: Row) -> CheckResult:
    """A SUMMARY_COLUMNS row (CheckResult's fields in order, all but `flagged`)."""
    return CheckResult(*row[:12])


def result_record(row: Row) -> CheckResult:
    """A `SUMMARY_COLUMNS, flagged_resources` row: the JSON text result_row wrote."""
    flagged = advisor.flagged_from_json(json.loads(row[12]))
    return dataclasses.replace(summary_record(row), flagged=flagged)


def refresh_record(row: Row) -> RefreshRecord:
    """A REFRESH_COLUMNS row (RefreshRecord's fields in order)."""
    return RefreshRecord(*row[:5])


async def _advance(
    tx: Tx,
    account_id: str,
    check_id: str,
    requested_ms: int,
    now_ms: int,
    status: str,
    error: str | None = None,
) -> bool:
    changed = await tx.execute(
        ADVANCE_REFRESH_SQL,
        status,
        now_ms,
        error,
        account_id,
        check_id,
        requested_ms,
        list(advisor.UNFINISHED),
    )
    return changed == 1


class Advisor(SqlStore):
    # --- results --------------------------------------------------------------------

    async def put_advisor_result(self, result: CheckResult) -> None:
        """Insert the account's result of the check, or replace the one it has."""
        row = result_row(result)

        async def job(tx: Tx) -> None:
            await tx.execute(UPSERT_RESULT_SQL, *row)

        await self._write(job, idempotent=True, single_statement=True)

    async def delete_advisor_result(self, account_id: str, check_id: str) -> bool:
        """Forget the account's result of the check; False if there was none."""

        async def job(tx: Tx) -> bool:
            return await tx.execute(DELETE_RESULT_SQL, account_id, check_id) == 1

        return await self._write(job, idempotent=True, single_statement=True)

    async def get_advisor_result(self, account_id: str, check_id: str) -> CheckResult | None:
        """The account's result of the check with its flagged resources, or None."""
        return await self._record(result_record, SELECT_RESULT_SQL, account_id, check_id)

    async def advisor_summaries(
        self, account_id: str, check_ids: Sequence[str]
    ) -> dict[str, CheckResult]:
        """The account's results of these checks by check id (those it has), without
        their flagged resources."""
        rows = await self._by_check(SUMMARIES_SQL, account_id, check_ids)
        return {row[1]: summary_record(row) for row in rows}

    # --- refreshes ------------------------------------------------------------------

    async def advisor_refreshes(
        self, account_id: str, check_ids: Sequence[str]
    ) -> dict[str, RefreshRecord]:
        """The latest refresh of each of these checks by check id (those ever refreshed)."""
        rows = await self._by_check(REFRESHES_SQL, account_id, check_ids)
        return {row[1]: refresh_record(row) for row in rows}

    async def request_advisor_refresh(
        self,
        account_id: str,
        check_id: str,
        now_ms: int,
        interval_ms: int,
        stale_ms: int,
        job_kind: str,
    ) -> tuple[RefreshRecord, bool]:
        """Start a refresh, atomically with every other node: with the latest one locked
        (or, before the first, the account and check), write the refresh that
        domain.advisor.requested_refresh decides on, if any, and queue a job of
        `job_kind` with payload {account_id, check_id, requested_ms} in the same
        transaction. The record afterwards, and whether a refresh started."""

        async def job(tx: Tx) -> tuple[RefreshRecord, bool]:
            # The lock, not only the row's: there may be no row yet to lock.
            await tx.lock(REFRESH_LOCK, f"{account_id}/{check_id}")
            row = await tx.fetchrow(LOCK_REFRESH_SQL, account_id, check_id)
            latest = refresh_record(row) if row is not None else None
            record, started = advisor.requested_refresh(
                latest, account_id, check_id, now_ms, interval_ms, stale_ms
            )
            if started:
                await tx.execute(
                    PUT_REFRESH_SQL,
                    account_id,
                    check_id,
                    record.status,
                    record.requested_ms,
                    record.updated_ms,
                )
                requested = record.requested_ms
                payload = {
                    "account_id": account_id,
                    "check_id": check_id,
                    "requested_ms": requested,
                }
                key = f"{REFRESH_JOB_KEY}:{account_id}:{check_id}:{requested}"
                await insert_job(tx, job_kind, payload, now_ms, key)
            return record, started

        # Idempotent in effect: if a lost COMMIT did start the refresh, the retry finds it
        # unfinished and reports it as it is.
        return await self._write(job, idempotent=True)

    async def start_advisor_refresh(
        self, account_id: str, check_id: str, requested_ms: int, now_ms: int
    ) -> bool:
        """Mark the refresh requested at requested_ms as processing (again, when a job
        is retried); False if it is finished or a newer one replaced it."""

        async def job(tx: Tx) -> bool:
            return await _advance(
                tx, account_id, check_id, requested_ms, now_ms, advisor.PROCESSING
            )

        return await self._write(job, idempotent=True, single_statement=True)

    async def finish_advisor_refresh(
        self,
        account_id: str,
        check_id: str,
        requested_ms: int,
        now_ms: int,
        status: str,
        result: CheckResult | None = None,
        error: str | None = None,
    ) -> bool:
        """End the refresh requested at requested_ms as `success` (storing `result`, if
        any, in the same transaction) or `abandoned` (with `error`); False and nothing
        written if it is finished already or a newer one replaced it."""
        row = result_row(result) if result is not None else None

        async def job(tx: Tx) -> bool:
            if not await _advance(tx, account_id, check_id, requested_ms, now_ms, status, error):
                return False
            if row is not None:
                await tx.execute(UPSERT_RESULT_SQL, *row)
            return True

        # A retry after a lost COMMIT that did commit finds the refresh finished: False,
        # and the result stored once.
        return await self._write(job, idempotent=True)

    async def _by_check(self, sql: str, account_id: str, check_ids: Sequence[str]) -> list[Row]:
        """The rows of `sql` (account_id = $1, check_id = ANY($2)) for these checks:
        a scan, since a request may name hundreds of checks."""
        if not check_ids:
            return []

        async def job(tx: Tx) -> list[Row]:
            return await tx.fetch(sql, account_id, list(check_ids))

        return await self._scan(job)
