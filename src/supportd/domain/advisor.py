"""Trusted Advisor results and refreshes: records and pure rules.

A result belongs to one account and one check. It is seeded (an operator or a test
suite writes it) or computed (a check provider returns it at refresh time); both arrive
in one JSON format, the `result` member of DescribeTrustedAdvisorCheckResult without the
check id, and `parse_result` turns either into a CheckResult or says what is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from supportd.domain import clock
from supportd.domain.errors import DomainError, InvalidTime

# Alert statuses of a check, and of a flagged resource.
OK = "ok"
WARNING = "warning"
ERROR = "error"
NOT_AVAILABLE = "not_available"
CHECK_STATUSES = (OK, WARNING, ERROR, NOT_AVAILABLE)
RESOURCE_STATUSES = (OK, WARNING, ERROR)
_SEVERITY = {OK: 0, WARNING: 1, ERROR: 2}

# Where a result came from.
SEEDED = "seeded"
COMPUTED = "computed"

# Refresh statuses, as DescribeTrustedAdvisorCheckRefreshStatuses reports them.
NONE = "none"
ENQUEUED = "enqueued"
PROCESSING = "processing"
SUCCESS = "success"
ABANDONED = "abandoned"
UNFINISHED = (ENQUEUED, PROCESSING)


class InvalidResult(DomainError):
    """A seeded or computed result that does not fit the format or the check."""


@dataclass(frozen=True, slots=True)
class FlaggedResource:
    status: str
    resource_id: str
    metadata: tuple[str, ...]
    region: str | None = None
    is_suppressed: bool = False


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One account's result of one check. Summaries are read without `flagged` (it can
    be long); `flagged_count` says whether there are any."""

    account_id: str
    check_id: str
    status: str
    timestamp_ms: int  # whole seconds: AWS's Trusted Advisor times have no milliseconds
    resources_processed: int
    resources_flagged: int
    resources_ignored: int
    resources_suppressed: int
    monthly_savings: float | None  # cost-optimizing checks only
    percent_savings: float | None
    flagged_count: int
    source: str
    flagged: tuple[FlaggedResource, ...] = ()


@dataclass(frozen=True, slots=True)
class RefreshRecord:
    """The latest refresh of one check for one account. `requested_ms` is when it was
    accepted (the minimum interval counts from there); `updated_ms` its last change."""

    account_id: str
    check_id: str
    status: str
    requested_ms: int
    updated_ms: int


# --- refreshes ----------------------------------------------------------------------

# Claims of one refresh's job: the first, one more after its node died; the third
# abandons the refresh instead of running the provider again.
REFRESH_CLAIMS = 3
# What a refresh job may take beyond its provider: reading and writing the store.
JOB_MARGIN_MS = 15_000
# Time an unfinished refresh may take before it reads as abandoned (its job lost beyond
# every retry): generous, since it includes waiting in the queue behind other work.
STALE_BASE_MS = 600_000


class NotRefreshable(DomainError):
    """A check refreshed automatically: it cannot be refreshed on request and has no
    refresh status."""


def check_refreshable(check_id: str, auto_refresh: bool) -> None:
    """NotRefreshable for a check that Trusted Advisor refreshes automatically."""
    if auto_refresh:
        raise NotRefreshable(
            f"The check {check_id} is refreshed automatically; it cannot be refreshed "
            "on request and has no refresh status."
        )


def stale_ms(provider_timeout_ms: int) -> int:
    """How long a refresh may stay unfinished before it reads as abandoned: longer than
    every claim of its job could take, each running the provider to its timeout."""
    return STALE_BASE_MS + REFRESH_CLAIMS * (provider_timeout_ms + JOB_MARGIN_MS)


def claims_exhausted(attempts: int) -> bool:
    """Whether the refresh job's claim number `attempts` abandons the refresh instead of
    running the provider again (its node died on every earlier claim)."""
    return attempts >= REFRESH_CLAIMS


def refresh_view(
    record: RefreshRecord | None, now_ms: int, interval_ms: int, stale_ms: int
) -> tuple[str, int]:
    """The status and millisUntilNextRefreshable a client sees. A refresh left unfinished
    for longer than `stale_ms` (its job lost beyond every retry) reads as abandoned: never
    a `processing` that lasts for ever. Reading computes; it writes nothing."""
    if record is None:
        return NONE, 0
    status = record.status
    if status in UNFINISHED and now_ms - record.updated_ms > stale_ms:
        status = ABANDONED
    return status, max(0, record.requested_ms + interval_ms - now_ms)


def may_refresh(record: RefreshRecord | None, now_ms: int, interval_ms: int, stale_ms: int) -> bool:
    """Whether a refresh request now starts a new refresh: not while the latest one is
    unfinished (unless it reads as abandoned), nor within interval_ms of its request."""
    status, wait_ms = refresh_view(record, now_ms, interval_ms, stale_ms)
    return status not in UNFINISHED and wait_ms == 0


def requested_refresh(
    latest: RefreshRecord | None,
    account_id: str,
    check_id: str,
    now_ms: int,
    interval_ms: int,
    stale_ms: int,
) -> tuple[RefreshRecord, bool]:
    """What a refresh request made now leads to, given the latest refresh: a new one
    (enqueued, requested now) and True if may_refresh allows it, else the latest as it
    is and False. The store asks this with the latest refresh locked and writes a new
    one."""
    if latest is not None and not may_refresh(latest, now_ms, interval_ms, stale_ms):
        return latest, False
    return RefreshRecord(account_id, check_id, ENQUEUED, now_ms, now_ms), True


# --- the result format --------------------------------------------------------------

_TOP = {"checkId", "status", "timestamp", "resourcesSummary", "categorySpecificSummary",
        "flaggedResources"}  # fmt: skip
_COUNTS = ("resourcesProcessed", "resourcesFlagged", "resourcesIgnored", "resourcesSuppressed")
_RESOURCE = {"status", "region", "resourceId", "isSuppressed", "metadata"}
_YEAR_10000_MS = 253_402_300_800_000


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InvalidResult(f"{where} must be a JSON object")
    return value


def _no_unknown(value: Mapping[str, Any], allowed: set[str] | tuple[str, ...], where: str) -> None:
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise InvalidResult(f"{where}: unknown member {unknown[0]!r}")


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise InvalidResult(f"{where} must be a whole number of at least 0")
    return value


def _amount(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidResult(f"{where} must be a number")
    if value < 0:
        raise InvalidResult(f"{where} must not be negative")
    return float(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or "\x00" in value:
        raise InvalidResult(f"{where} must be a non-empty string without NUL characters")
    return value


def _resource(value: Any, where: str, columns: int) -> FlaggedResource:
    item = _object(value, where)
    _no_unknown(item, _RESOURCE, where)
    status = item.get("status")
    if status not in RESOURCE_STATUSES:
        raise InvalidResult(f"{where}.status must be one of {', '.join(RESOURCE_STATUSES)}")
    metadata = item.get("metadata")
    if not isinstance(metadata, list) or not all(
        isinstance(cell, str) and "\x00" not in cell for cell in metadata
    ):
        raise InvalidResult(
            f"{where}.metadata must be a list of strings (an empty string for a missing value)"
        )
    if len(metadata) != columns:
        raise InvalidResult(
            f"{where}.metadata has {len(metadata)} values; the check has {columns} columns"
        )
    region = item.get("region")
    suppressed = item.get("isSuppressed", False)
    if not isinstance(suppressed, bool):
        raise InvalidResult(f"{where}.isSuppressed must be true or false")
    return FlaggedResource(
        status=str(status),
        resource_id=_text(item.get("resourceId"), f"{where}.resourceId"),
        metadata=tuple(metadata),
        region=None if region is None else _text(region, f"{where}.region"),
        is_suppressed=suppressed,
    )


def _worst(resources: tuple[FlaggedResource, ...]) -> str:
    statuses = [r.status for r in resources if not r.is_suppressed]
    return max(statuses, key=_SEVERITY.__getitem__, default=OK)


def parse_result(
    data: Any,
    *,
    account_id: str,
    check_id: str,
    columns: int,
    cost_optimizing: bool,
    now_ms: int,
    source: str,
) -> CheckResult:
    """A CheckResult from the JSON format (optionally wrapped as {"result": ...}, as
    the AWS CLI prints it). Only `flaggedResources` is needed: the status defaults to the
    worst unsuppressed resource's (`ok` if none), the timestamp to now, the counts to
    what the list holds, the savings to 0.0."""
    body = _object(data, "the result")
    if set(body) == {"result"}:
        body = _object(body["result"], "result")
    _no_unknown(body, _TOP, "the result")
    if "checkId" in body and body["checkId"] != check_id:
        raise InvalidResult(f"checkId {body['checkId']!r} is not the check {check_id}")

    raw_resources = body.get("flaggedResources", [])
    if not isinstance(raw_resources, list):
        raise InvalidResult("flaggedResources must be a list")
    flagged = tuple(
        _resource(item, f"flaggedResources[{index}]", columns)
        for index, item in enumerate(raw_resources)
    )

    status = body.get("status", _worst(flagged))
    if status not in CHECK_STATUSES:
        raise InvalidResult(f"status must be one of {', '.join(CHECK_STATUSES)}")

    timestamp_ms = now_ms
    if "timestamp" in body:
        if not isinstance(body["timestamp"], str):
            raise InvalidResult("timestamp must be a string such as 2024-05-13T21:38:05Z")
        try:
            timestamp_ms = clock.parse_time_filter(body["timestamp"])
        except InvalidTime:
            raise InvalidResult(
                f"timestamp {body['timestamp']!r} is not a time such as 2024-05-13T21:38:05Z"
            ) from None
        if not 0 <= timestamp_ms < _YEAR_10000_MS:
            raise InvalidResult("timestamp must lie between 1970 and 9999")

    summary = _object(body.get("resourcesSummary", {}), "resourcesSummary")
    _no_unknown(summary, _COUNTS, "resourcesSummary")
    suppressed = sum(1 for r in flagged if r.is_suppressed)
    defaults = {
        "resourcesProcessed": len(flagged),
        "resourcesFlagged": len(flagged) - suppressed,
        "resourcesIgnored": 0,
        "resourcesSuppressed": suppressed,
    }
    counts = {
        name: _count(summary[name], f"resourcesSummary.{name}") if name in summary else default
        for name, default in defaults.items()
    }

    specific = _object(body.get("categorySpecificSummary", {}), "categorySpecificSummary")
    _no_unknown(specific, {"costOptimizing"}, "categorySpecificSummary")
    monthly: float | None = None
    percent: float | None = None
    if "costOptimizing" in specific:
        if not cost_optimizing:
            raise InvalidResult(
                "categorySpecificSummary.costOptimizing is only for cost-optimizing checks"
            )
        cost = _object(specific["costOptimizing"], "costOptimizing")
        _no_unknown(cost, {"estimatedMonthlySavings", "estimatedPercentMonthlySavings"}, "cost")
        monthly = _amount(cost.get("estimatedMonthlySavings", 0.0), "estimatedMonthlySavings")
        percent = _amount(
            cost.get("estimatedPercentMonthlySavings", 0.0), "estimatedPercentMonthlySavings"
        )
    elif cost_optimizing:
        monthly = percent = 0.0

    return CheckResult(
        account_id=account_id,
        check_id=check_id,
        status=str(status),
        timestamp_ms=timestamp_ms - timestamp_ms % 1000,
        resources_processed=counts["resourcesProcessed"],
        resources_flagged=counts["resourcesFlagged"],
        resources_ignored=counts["resourcesIgnored"],
        resources_suppressed=counts["resourcesSuppressed"],
        monthly_savings=monthly,
        percent_savings=percent,
        flagged_count=len(flagged),
        source=source,
        flagged=flagged,
    )


def flagged_to_json(flagged: tuple[FlaggedResource, ...]) -> list[dict[str, Any]]:
    """Flagged resources in the wire format (also how the stores keep them)."""
    items: list[dict[str, Any]] = []
    for resource in flagged:
        item: dict[str, Any] = {"status": resource.status}
        if resource.region is not None:
            item["region"] = resource.region
        item["resourceId"] = resource.resource_id
        item["isSuppressed"] = resource.is_suppressed
        item["metadata"] = list(resource.metadata)
        items.append(item)
    return items


def flagged_from_json(items: list[dict[str, Any]]) -> tuple[FlaggedResource, ...]:
    return tuple(
        FlaggedResource(
            status=item["status"],
            resource_id=item["resourceId"],
            metadata=tuple(item["metadata"]),
            region=item.get("region"),
            is_suppressed=bool(item.get("isSuppressed", False)),
        )
        for item in items
    )
