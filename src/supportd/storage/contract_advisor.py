"""The Trusted Advisor area of the Store protocol: results per account and check, and
the latest refresh of each (whose work goes through the job queue)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any, Protocol

from supportd.domain import advisor
from supportd.domain.advisor import CheckResult, RefreshRecord


class AdvisorStore(Protocol):
    async def put_advisor_result(self, result: CheckResult) -> None:
        """Insert the account's result of the check, or replace the one it has."""

    async def delete_advisor_result(self, account_id: str, check_id: str) -> bool:
        """Forget the account's result of the check; False if there was none."""

    async def get_advisor_result(self, account_id: str, check_id: str) -> CheckResult | None:
        """The account's result of the check with its flagged resources, or None."""

    async def advisor_summaries(
        self, account_id: str, check_ids: Sequence[str]
    ) -> dict[str, CheckResult]:
        """The account's results of these checks by check id (those it has), without
        their flagged resources."""

    async def advisor_refreshes(
        self, account_id: str, check_ids: Sequence[str]
    ) -> dict[str, RefreshRecord]:
        """The latest refresh of each of these checks by check id (those ever refreshed)."""

    async def request_advisor_refresh(
        self,
        account_id: str,
        check_id: str,
        now_ms: int,
        interval_ms: int,
        stale_ms: int,
        job_kind: str,
    ) -> tuple[RefreshRecord, bool]:
        """Start a refresh, atomically with every other node: unless the latest one is
        unfinished (and not older than stale_ms) or was requested less than interval_ms
        ago (domain.advisor.may_refresh), record a new one (enqueued, requested now) and
        queue a job of `job_kind` with payload {account_id, check_id, requested_ms} in
        the same transaction. The record afterwards, and whether a refresh started."""

    async def start_advisor_refresh(
        self, account_id: str, check_id: str, requested_ms: int, now_ms: int
    ) -> bool:
        """Mark the refresh requested at requested_ms as processing (again, when a job
        is retried); False if it is finished or a newer one replaced it."""

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


# --- shared by both stores' mixins ----------------------------------------------------

SUMMARY_COLUMNS = (
    "account_id, check_id, status, timestamp_ms, resources_processed, resources_flagged,"
    " resources_ignored, resources_suppressed, monthly_savings, percent_savings,"
    " flagged_count, source"
)
REFRESH_COLUMNS = "account_id, check_id, status, requested_ms, updated_ms"


def result_row(result: CheckResult) -> tuple[Any, ...]:
    return (
        result.account_id,
        result.check_id,
        result.status,
        result.timestamp_ms,
        result.resources_processed,
        result.resources_flagged,
        result.resources_ignored,
        result.resources_suppressed,
        result.monthly_savings,
        result.percent_savings,
        result.flagged_count,
        result.source,
        json.dumps(advisor.flagged_to_json(result.flagged), separators=(",", ":")),
    )


def summary_record(row: Sequence[Any]) -> CheckResult:
    """A SUMMARY_COLUMNS row (both dialects store these columns alike)."""
    return CheckResult(
        account_id=row[0],
        check_id=row[1],
        status=row[2],
        timestamp_ms=row[3],
        resources_processed=row[4],
        resources_flagged=row[5],
        resources_ignored=row[6],
        resources_suppressed=row[7],
        monthly_savings=row[8],
        percent_savings=row[9],
        flagged_count=row[10],
        source=row[11],
    )


def result_record(row: Sequence[Any]) -> CheckResult:
    """A `SUMMARY_COLUMNS, flagged_resources` row: the JSON text result_row wrote."""
    flagged = advisor.flagged_from_json(json.loads(row[12]))
    return dataclasses.replace(summary_record(row), flagged=flagged)


def refresh_record(row: Sequence[Any]) -> RefreshRecord:
    return RefreshRecord(row[0], row[1], row[2], row[3], row[4])


def refresh_job_payload(record: RefreshRecord) -> dict[str, Any]:
    return {
        "account_id": record.account_id,
        "check_id": record.check_id,
        "requested_ms": record.requested_ms,
    }


def refresh_job_key(record: RefreshRecord) -> str:
    return f"advisor-refresh:{record.account_id}:{record.check_id}:{record.requested_ms}"
