"""The scale-out store's Trusted Advisor results and refreshes. A refresh request is one
upsert whose conflict branch locks the row, so nodes asking at once start one refresh."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from supportd.domain import advisor
from supportd.domain.advisor import CheckResult, RefreshRecord
from supportd.storage.contract_advisor import (
    REFRESH_COLUMNS,
    SUMMARY_COLUMNS,
    refresh_job_key,
    refresh_job_payload,
    refresh_record,
    result_record,
    result_row,
    summary_record,
)
from supportd.storage.jobs import insert_job
from supportd.storage.postgres_core import Connection, PostgresCore, PostgresTx

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
# The rule of domain.advisor.may_refresh, applied under the row's lock.
REQUEST_REFRESH_SQL = f"""
INSERT INTO advisor_refreshes ({REFRESH_COLUMNS}) VALUES ($1, $2, $3, $4, $4)
ON CONFLICT (account_id, check_id) DO UPDATE SET
    status = excluded.status, requested_ms = excluded.requested_ms,
    updated_ms = excluded.updated_ms, last_error = NULL
WHERE (advisor_refreshes.status <> ALL($5::text[]) OR advisor_refreshes.updated_ms < $6)
  AND advisor_refreshes.requested_ms <= $7
RETURNING {REFRESH_COLUMNS}
"""


class PostgresAdvisor(PostgresCore):
    # --- results --------------------------------------------------------------------

    async def put_advisor_result(self, result: CheckResult) -> None:
        row = result_row(result)

        async def job(conn: Connection) -> None:
            await conn.execute(UPSERT_RESULT_SQL, *row)

        await self._write_conn(job, idempotent=True, single_statement=True)

    async def delete_advisor_result(self, account_id: str, check_id: str) -> bool:
        async def job(conn: Connection) -> bool:
            status: str = await conn.execute(
                "DELETE FROM advisor_results WHERE account_id = $1 AND check_id = $2",
                account_id,
                check_id,
            )
            return status.endswith(" 1")

        return await self._write_conn(job, idempotent=True, single_statement=True)

    async def get_advisor_result(self, account_id: str, check_id: str) -> CheckResult | None:
        async def job(conn: Connection) -> CheckResult | None:
            row = await conn.fetchrow(
                f"SELECT {SUMMARY_COLUMNS}, flagged_resources FROM advisor_results"
                " WHERE account_id = $1 AND check_id = $2",
                account_id,
                check_id,
            )
            if row is None:
                return None
            return result_record(row)

        return await self._read_conn(job)

    async def advisor_summaries(
        self, account_id: str, check_ids: Sequence[str]
    ) -> dict[str, CheckResult]:
        rows = await self._by_check(
            f"SELECT {SUMMARY_COLUMNS} FROM advisor_results", account_id, check_ids
        )
        return {row[1]: summary_record(row) for row in rows}

    # --- refreshes ------------------------------------------------------------------

    async def advisor_refreshes(
        self, account_id: str, check_ids: Sequence[str]
    ) -> dict[str, RefreshRecord]:
        rows = await self._by_check(
            f"SELECT {REFRESH_COLUMNS} FROM advisor_refreshes", account_id, check_ids
        )
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
        async def job(conn: Connection) -> tuple[RefreshRecord, bool]:
            row = await conn.fetchrow(
                REQUEST_REFRESH_SQL,
                account_id,
                check_id,
                advisor.ENQUEUED,
                now_ms,
                list(advisor.UNFINISHED),
                now_ms - stale_ms,
                now_ms - interval_ms,
            )
            if row is None:
                current = await conn.fetchrow(
                    f"SELECT {REFRESH_COLUMNS} FROM advisor_refreshes"
                    " WHERE account_id = $1 AND check_id = $2",
                    account_id,
                    check_id,
                )
                return refresh_record(current), False
            record = refresh_record(row)
            await insert_job(
                PostgresTx(conn),
                job_kind,
                refresh_job_payload(record),
                now_ms,
                refresh_job_key(record),
            )
            return record, True

        # Idempotent in effect: if a lost COMMIT did start the refresh, the retry finds it
        # unfinished and reports it as it is.
        return await self._write_conn(job, idempotent=True)

    async def start_advisor_refresh(
        self, account_id: str, check_id: str, requested_ms: int, now_ms: int
    ) -> bool:
        async def job(conn: Connection) -> bool:
            status: str = await conn.execute(
                "UPDATE advisor_refreshes SET status = $1, updated_ms = $2"
                " WHERE account_id = $3 AND check_id = $4 AND requested_ms = $5"
                " AND status = ANY($6::text[])",
                advisor.PROCESSING,
                now_ms,
                account_id,
                check_id,
                requested_ms,
                list(advisor.UNFINISHED),
            )
            return status.endswith(" 1")

        return await self._write_conn(job, idempotent=True, single_statement=True)

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
        row = result_row(result) if result is not None else None

        async def job(conn: Connection) -> bool:
            updated: str = await conn.execute(
                "UPDATE advisor_refreshes SET status = $1, updated_ms = $2, last_error = $3"
                " WHERE account_id = $4 AND check_id = $5 AND requested_ms = $6"
                " AND status = ANY($7::text[])",
                status,
                now_ms,
                error,
                account_id,
                check_id,
                requested_ms,
                list(advisor.UNFINISHED),
            )
            if not updated.endswith(" 1"):
                return False
            if row is not None:
                await conn.execute(UPSERT_RESULT_SQL, *row)
            return True

        # A retry after a lost COMMIT that did commit finds the refresh finished: False,
        # and the result stored once.
        return await self._write_conn(job, idempotent=True)

    async def _by_check(self, select: str, account_id: str, check_ids: Sequence[str]) -> list[Any]:
        """The rows of `select` (whose second column is check_id) for these checks."""
        if not check_ids:
            return []

        async def job(conn: Connection) -> list[Any]:
            return list(
                await conn.fetch(
                    f"{select} WHERE account_id = $1 AND check_id = ANY($2::text[])",
                    account_id,
                    list(check_ids),
                )
            )

        return await self._read_conn(job)
