"""DescribeTrustedAdvisorChecks, DescribeTrustedAdvisorCheckResult,
DescribeTrustedAdvisorCheckSummaries, DescribeTrustedAdvisorCheckRefreshStatuses and
RefreshTrustedAdvisorCheck, and the background job that carries out a refresh.

A refresh is a row (its status) plus a job, written in one transaction. The job runs
once across all nodes (the job queue's leases); it marks the refresh processing, runs
the check's provider with a timeout, and stores the result and `success` together, or
`abandoned`. A job whose node died is claimed again once its lease runs out and runs the
provider again; the third claim abandons the refresh. Reads only read.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

from supportd import api_errors
from supportd.config import Config
from supportd.domain import advisor, clock
from supportd.domain.accounts import is_account_id
from supportd.domain.advisor import CheckResult, InvalidResult, RefreshRecord
from supportd.domain.jobs import Job
from supportd.domain.records import Principal
from supportd.operations.advisor_providers import CheckRequest, Provider
from supportd.operations.background import register_job
from supportd.operations.context import Context
from supportd.operations.refusal import Refused
from supportd.reference.advisor import Check, CheckCatalogue

log = logging.getLogger("supportd.advisor")

REFRESH_JOB = "advisor-refresh"
# What a refresh job may take beyond its provider (domain.advisor.JOB_MARGIN_MS).
JOB_MARGIN_S = advisor.JOB_MARGIN_MS / 1000
# checkIds of one request: more than every check of the catalogue, less than a body
# that takes noticeable time to answer.
MAX_CHECK_IDS = 500
NEVER = clock.format_advisor_time(0)


def stale_ms(config: Config) -> int:
    return advisor.stale_ms(config.advisor_refresh_timeout_ms)


# --- input checks -----------------------------------------------------------------


def _unknown(check_id: str) -> api_errors.ApiError:
    return api_errors.InvalidParameterValueException(f"Unknown ID: {check_id}")


def _check(ctx: Context, check_id: str) -> Check:
    check = ctx.advisor_checks.get(check_id)
    if check is None:
        raise _unknown(check_id)
    return check


def _checks(ctx: Context, params: dict[str, Any]) -> list[Check]:
    """The checks of `checkIds`, in order, each once; the first unknown one refused."""
    ids: list[str] = params["checkIds"]
    if not ids:
        raise api_errors.InvalidParameterValueException("checkIds must name at least one check")
    if len(ids) > MAX_CHECK_IDS:
        raise api_errors.InvalidParameterValueException(
            f"checkIds names {len(ids)} checks; at most {MAX_CHECK_IDS} are allowed"
        )
    return [_check(ctx, check_id) for check_id in dict.fromkeys(ids)]


def _language(ctx: Context, language: str | None) -> str:
    if language is None:
        return "en"
    if language not in ctx.advisor_checks.languages:
        raise api_errors.InvalidParameterValueException(
            f"Unsupported language code: {language}. Trusted Advisor supports "
            + ", ".join(ctx.advisor_checks.languages)
        )
    return language


def _refreshable(check: Check) -> None:
    try:
        advisor.check_refreshable(check.id, check.auto_refresh)
    except advisor.NotRefreshable as exc:
        raise api_errors.InvalidParameterValueException(str(exc)) from None


# --- wire shapes --------------------------------------------------------------------


def _description(check: Check, language: str) -> dict[str, Any]:
    text = check.in_language(language)
    return {
        "id": check.id,
        "name": text.name,
        "description": text.description,
        "category": check.category,
        "metadata": list(text.metadata),
    }


def _resources_summary(result: CheckResult | None) -> dict[str, int]:
    if result is None:
        return {
            "resourcesProcessed": 0,
            "resourcesFlagged": 0,
            "resourcesIgnored": 0,
            "resourcesSuppressed": 0,
        }
    return {
        "resourcesProcessed": result.resources_processed,
        "resourcesFlagged": result.resources_flagged,
        "resourcesIgnored": result.resources_ignored,
        "resourcesSuppressed": result.resources_suppressed,
    }


def _category_summary(check: Check, result: CheckResult | None) -> dict[str, Any]:
    """Cost optimizing is the only category with a summary; its amounts are doubles,
    written as floats (`0.0`) because some SDKs cast strictly."""
    if not check.cost_optimizing:
        return {}
    monthly = result.monthly_savings if result is not None else None
    percent = result.percent_savings if result is not None else None
    return {
        "costOptimizing": {
            "estimatedMonthlySavings": float(monthly or 0.0),
            "estimatedPercentMonthlySavings": float(percent or 0.0),
        }
    }


def summary_shape(check: Check, result: CheckResult | None) -> dict[str, Any]:
    """A check's summary; `not_available` (never refreshed) until it has a result."""
    return {
        "checkId": check.id,
        "timestamp": clock.format_advisor_time(result.timestamp_ms) if result else NEVER,
        "status": result.status if result else advisor.NOT_AVAILABLE,
        "hasFlaggedResources": bool(result and result.flagged_count),
        "resourcesSummary": _resources_summary(result),
        "categorySpecificSummary": _category_summary(check, result),
    }


def result_shape(check: Check, result: CheckResult | None) -> dict[str, Any]:
    shape = summary_shape(check, result)
    del shape["hasFlaggedResources"]
    shape["flaggedResources"] = advisor.flagged_to_json(result.flagged) if result else []
    return shape


def refresh_shape(ctx: Context, check_id: str, record: RefreshRecord | None) -> dict[str, Any]:
    config = ctx.config
    status, wait_ms = advisor.refresh_view(
        record, ctx.clock.now_ms(), config.advisor_refresh_interval_ms, stale_ms(config)
    )
    return {"checkId": check_id, "status": status, "millisUntilNextRefreshable": wait_ms}


# --- seeded results (supportd advisor set-result, the staff API) -------------------


class SeedRefused(Refused):
    """A seed that cannot be stored: an HTTP status, a stable code and a message."""


def seed_target(checks: CheckCatalogue, account_id: str, check_id: str) -> Check:
    if not is_account_id(account_id):
        raise SeedRefused(400, "invalid_parameter", f"{account_id!r} is not a 12-digit account id")
    check = checks.get(check_id)
    if check is None:
        raise SeedRefused(404, "check_not_found", f"Unknown ID: {check_id}")
    return check


def seeded_result(
    checks: CheckCatalogue, account_id: str, check_id: str, data: Any, now_ms: int
) -> tuple[Check, CheckResult]:
    """The check and the result a seed (the format of domain.advisor.parse_result) makes
    for the account; SeedRefused if the account, the check or the data is wrong."""
    check = seed_target(checks, account_id, check_id)
    try:
        result = advisor.parse_result(
            data,
            account_id=account_id,
            check_id=check.id,
            columns=len(check.metadata),
            cost_optimizing=check.cost_optimizing,
            now_ms=now_ms,
            source=advisor.SEEDED,
        )
    except InvalidResult as exc:
        raise SeedRefused(400, "invalid_result", str(exc)) from None
    return check, result


async def set_result(ctx: Context, account_id: str, check_id: str, data: Any) -> dict[str, Any]:
    """Store a seeded result; what the account's DescribeTrustedAdvisorCheckResult shows."""
    check, result = seeded_result(
        ctx.advisor_checks, account_id, check_id, data, ctx.clock.now_ms()
    )
    await ctx.store.put_advisor_result(result)
    return {"accountId": account_id, "source": result.source, "result": result_shape(check, result)}


async def show_result(ctx: Context, account_id: str, check_id: str) -> dict[str, Any]:
    check = seed_target(ctx.advisor_checks, account_id, check_id)
    result = await ctx.store.get_advisor_result(account_id, check.id)
    shape: dict[str, Any] = {"accountId": account_id, "source": result.source if result else None}
    shape["result"] = result_shape(check, result)
    return shape


async def clear_result(ctx: Context, account_id: str, check_id: str) -> dict[str, Any]:
    check = seed_target(ctx.advisor_checks, account_id, check_id)
    deleted = await ctx.store.delete_advisor_result(account_id, check.id)
    return {"accountId": account_id, "checkId": check.id, "deleted": deleted}


# --- operations ---------------------------------------------------------------------


async def describe_trusted_advisor_checks(
    ctx: Context, _: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    language = _language(ctx, params["language"])
    catalogue = ctx.advisor_checks
    checks = catalogue.cache.get(language)
    if checks is None:
        checks = catalogue.cache[language] = [
            _description(check, language) for check in catalogue.checks
        ]
    return {"checks": checks}


async def describe_trusted_advisor_check_result(
    ctx: Context, principal: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    check = _check(ctx, params["checkId"])
    _language(ctx, params.get("language"))
    result = await ctx.store.get_advisor_result(principal.account_id, check.id)
    return {"result": result_shape(check, result)}


async def describe_trusted_advisor_check_summaries(
    ctx: Context, principal: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    checks = _checks(ctx, params)
    found = await ctx.store.advisor_summaries(principal.account_id, [c.id for c in checks])
    return {"summaries": [summary_shape(check, found.get(check.id)) for check in checks]}


async def describe_trusted_advisor_check_refresh_statuses(
    ctx: Context, principal: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    checks = _checks(ctx, params)
    for check in checks:
        _refreshable(check)
    records = await ctx.store.advisor_refreshes(principal.account_id, [c.id for c in checks])
    return {"statuses": [refresh_shape(ctx, check.id, records.get(check.id)) for check in checks]}


async def refresh_trusted_advisor_check(
    ctx: Context, principal: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    check = _check(ctx, params["checkId"])
    _refreshable(check)
    config = ctx.config
    record, _ = await ctx.store.request_advisor_refresh(
        principal.account_id,
        check.id,
        ctx.clock.now_ms(),
        config.advisor_refresh_interval_ms,
        stale_ms(config),
        REFRESH_JOB,
    )
    return {"status": refresh_shape(ctx, check.id, record)}


# --- the refresh job ----------------------------------------------------------------


class ProviderFailed(Exception):
    """Why a refresh is abandoned."""


def _is_async(provider: Provider) -> bool:
    method = getattr(provider, "__call__", None)  # noqa: B004 (a callable object's method)
    return inspect.iscoroutinefunction(provider) or inspect.iscoroutinefunction(method)


async def _invoke(provider: Provider, request: CheckRequest) -> Any:
    """An `async def` provider runs on this loop; a plain function runs in a thread (one
    that hangs keeps its thread until it returns, though its refresh is abandoned at the
    timeout all the same)."""
    if _is_async(provider):
        return await cast(Awaitable[Any], provider(request))
    outcome = await asyncio.to_thread(cast(Callable[[CheckRequest], Any], provider), request)
    if inspect.isawaitable(outcome):
        outcome = await outcome
    return outcome


async def _compute(ctx: Context, check: Check, account_id: str) -> CheckResult | None:
    """The provider's result (None if the check has no provider: the refresh succeeds
    and leaves the seeded result, if any, as it is); ProviderFailed otherwise."""
    loaded = ctx.advisor_providers.get(check.id)
    if loaded is None:
        return None
    now = ctx.clock.now_ms()
    request = CheckRequest(account_id=account_id, check=check, now_ms=now, store=ctx.store)
    timeout_s = ctx.config.advisor_refresh_timeout_ms / 1000
    try:
        outcome = await asyncio.wait_for(_invoke(loaded.provider, request), timeout_s)
    except TimeoutError:
        raise ProviderFailed(
            f"the provider {loaded.origin} timed out after {timeout_s:g} s"
        ) from None
    except Exception as exc:  # whatever a plug-in raises abandons only its refresh
        log.warning("check provider %s failed for %s", loaded.origin, account_id, exc_info=True)
        raise ProviderFailed(
            f"the provider {loaded.origin} failed: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(outcome, Mapping):
        raise ProviderFailed(
            f"the provider {loaded.origin} returned {type(outcome).__name__}, not a result"
        )
    try:
        return advisor.parse_result(
            dict(outcome),
            account_id=account_id,
            check_id=check.id,
            columns=len(check.metadata),
            cost_optimizing=check.cost_optimizing,
            now_ms=ctx.clock.now_ms(),
            source=advisor.COMPUTED,
        )
    except InvalidResult as exc:
        raise ProviderFailed(
            f"the provider {loaded.origin} returned an invalid result: {exc}"
        ) from None


async def run_refresh(ctx: Context, job: Job) -> None:
    store = ctx.store
    account_id = str(job.payload["account_id"])
    check_id = str(job.payload["check_id"])
    requested_ms = int(job.payload["requested_ms"])

    async def finish(
        status: str, result: CheckResult | None = None, error: str | None = None
    ) -> None:
        await store.finish_advisor_refresh(
            account_id,
            check_id,
            requested_ms,
            ctx.clock.now_ms(),
            status,
            result,
            error[:1000] if error else None,
        )

    check = ctx.advisor_checks.get(check_id)
    if check is None:
        await finish(advisor.ABANDONED, error=f"the check {check_id} is no longer in the catalogue")
        return
    if advisor.claims_exhausted(job.attempts):
        await finish(advisor.ABANDONED, error=f"interrupted {job.attempts - 1} times")
        return
    if not await store.start_advisor_refresh(
        account_id, check_id, requested_ms, ctx.clock.now_ms()
    ):
        return  # finished already, or replaced by a newer refresh
    try:
        result = await _compute(ctx, check, account_id)
    except ProviderFailed as failure:
        await finish(advisor.ABANDONED, error=str(failure))
        return
    await finish(advisor.SUCCESS, result)


def _job_timeout_s(config: Config) -> float:
    """The provider's timeout (applied inside run_refresh) plus time for the store."""
    return config.advisor_refresh_timeout_ms / 1000 + JOB_MARGIN_S


register_job(REFRESH_JOB, run_refresh, attempts=advisor.REFRESH_CLAIMS, timeout_from=_job_timeout_s)
