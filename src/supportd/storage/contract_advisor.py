"""The Trusted Advisor area of the Store protocol: results per account and check, and
the latest refresh of each (whose work goes through the job queue)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

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
        """Start a refresh, atomically with every other node: with the latest one locked
        (or, before the first, the account and check), write the refresh that
        domain.advisor.requested_refresh decides on, if any, and queue a job of
        `job_kind` with payload {account_id, check_id, requested_ms} in the same
        transaction. The record afterwards, and whether a refresh started."""

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
