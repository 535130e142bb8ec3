"""The embedded store's Trusted Advisor results and refreshes."""

from __future__ import annotations

import sqlite3
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
from supportd.storage.sql import drive
from supportd.storage.sqlite_core import SQLiteCore, SQLiteTx

UPSERT_RESULT_SQL = f"""
INSERT INTO advisor_results ({SUMMARY_COLUMNS}, flagged_resources)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
# The rule of domain.advisor.may_refresh, applied under the row's write lock.
REQUEST_REFRESH_SQL = f"""
INSERT INTO advisor_refreshes ({REFRESH_COLUMNS}) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (account_id, check_id) DO UPDATE SET
    status = excluded.status, requested_ms = excluded.requested_ms,
    updated_ms = excluded.updated_ms, last_error = NULL
WHERE (advisor_refreshes.status NOT IN (?, ?) OR advisor_refreshes.updated_ms < ?)
  AND advisor_refreshes.requested_ms <= ?
RETURNING {REFRESH_COLUMNS}
"""


class SQLiteAdvisor(SQLiteCore):
    # --- results --------------------------------------------------------------------

    async def put_advisor_result(self, result: CheckResult) -> None:
        row = result_row(result)

        def job(conn: sqlite3.Connection) -> None:
            conn.execute(UPSERT_RESULT_SQL, row)

        await self._writer.submit(job)

    async def delete_advisor_result(self, account_id: str, check_id: str) -> bool:
        def job(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "DELETE FROM advisor_results WHERE account_id = ? AND check_id = ?",
                (account_id, check_id),
            )
            return cursor.rowcount == 1

        return await self._writer.submit(job)

    async def get_advisor_result(self, account_id: str, check_id: str) -> CheckResult | None:
        row = self._db.execute(
            f"SELECT {SUMMARY_COLUMNS}, flagged_resources FROM advisor_results"
            " WHERE account_id = ? AND check_id = ?",
            (account_id, check_id),
        ).fetchone()
        if row is None:
            return None
        return result_record(row)

    async def advisor_summaries(
        self, account_id: str, check_ids: Sequence[str]
    ) -> dict[str, CheckResult]:
        rows = self._by_check(
            f"SELECT {SUMMARY_COLUMNS} FROM advisor_results", account_id, check_ids
        )
        return {row[1]: summary_record(row) for row in rows}

    # --- refreshes ------------------------------------------------------------------

    async def advisor_refreshes(
        self, account_id: str, check_ids: Sequence[str]
    ) -> dict[str, RefreshRecord]:
        rows = self._by_check(
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
        def job(conn: sqlite3.Connection) -> tuple[RefreshRecord, bool]:
            row = conn.execute(
                REQUEST_REFRESH_SQL,
                (
                    account_id,
                    check_id,
                    advisor.ENQUEUED,
                    now_ms,
                    now_ms,
                    *advisor.UNFINISHED,
                    now_ms - stale_ms,
                    now_ms - interval_ms,
                ),
            ).fetchone()
            if row is None:
                current = conn.execute(
                    f"SELECT {REFRESH_COLUMNS} FROM advisor_refreshes"
                    " WHERE account_id = ? AND check_id = ?",
                    (account_id, check_id),
                ).fetchone()
                return refresh_record(current), False
            record = refresh_record(row)
            drive(
                insert_job(
                    SQLiteTx(conn),
                    job_kind,
                    refresh_job_payload(record),
                    now_ms,
                    refresh_job_key(record),
                )
            )
            return record, True

        return await self._writer.submit(job)

    async def start_advisor_refresh(
        self, account_id: str, check_id: str, requested_ms: int, now_ms: int
    ) -> bool:
        def job(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE advisor_refreshes SET status = ?, updated_ms = ?"
                " WHERE account_id = ? AND check_id = ? AND requested_ms = ?"
                " AND status IN (?, ?)",
                (advisor.PROCESSING, now_ms, account_id, check_id, requested_ms,
                 *advisor.UNFINISHED),
            )  # fmt: skip
            return cursor.rowcount == 1

        return await self._writer.submit(job)

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

        def job(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE advisor_refreshes SET status = ?, updated_ms = ?, last_error = ?"
                " WHERE account_id = ? AND check_id = ? AND requested_ms = ?"
                " AND status IN (?, ?)",
                (status, now_ms, error, account_id, check_id, requested_ms,
                 *advisor.UNFINISHED),
            )  # fmt: skip
            if cursor.rowcount != 1:
                return False
            if row is not None:
                conn.execute(UPSERT_RESULT_SQL, row)
            return True

        return await self._writer.submit(job)

    def _by_check(self, select: str, account_id: str, check_ids: Sequence[str]) -> list[Any]:
        """The rows of `select` (whose second column is check_id) for these checks."""
        if not check_ids:
            return []
        marks = ", ".join("?" * len(check_ids))
        return self._db.execute(
            f"{select} WHERE account_id = ? AND check_id IN ({marks})", (account_id, *check_ids)
        ).fetchall()
