"""What an account may do, checked for every operation (the pipeline in http/app.py calls
`Gate.check` after authentication) and by the operations that need more (severity)."""

from __future__ import annotations

import time

from supportd import api_errors
from supportd.config import Config
from supportd.domain import accounts, plans
from supportd.domain.accounts import NO_LIMITS, CaseQuotaExceeded, Limits, api_family, tps_limit
from supportd.domain.ratelimit import RateLimiter
from supportd.domain.records import Principal
from supportd.storage.base import Store

SUBSCRIPTION_REQUIRED = (
    "Amazon Web Services Premium Support Subscription is required to use this service."
)
THROTTLED = "Rate exceeded"
THROTTLING_REASON = "TransactionsPerSecondExceeded"


def limits_profile(config: Config) -> Limits:
    """The deployment's limits: AWS's quotas (as configured) or none."""
    if not config.aws_limits:
        return NO_LIMITS
    return Limits(
        cases_per_hour=config.case_creation_limit,
        case_api_tps=float(config.case_api_tps),
        advisor_tps=float(config.advisor_api_tps),
    )


def require_api_access(principal: Principal) -> None:
    """Basic and Developer plans have no API access at all, Trusted Advisor included."""
    if not plans.has_api_access(principal.plan):
        raise api_errors.SubscriptionRequiredException(SUBSCRIPTION_REQUIRED)


def check_severity(principal: Principal, severity: str) -> None:
    """`critical` (business-critical system down) is for the enterprise plan only (see
    domain.plans for the lower plans); AWS answers an unavailable severity as an invalid
    value."""
    if not plans.may_use_severity(principal.plan, severity):
        raise api_errors.InvalidParameterValueException(
            f"Severity level '{severity}' is not available with your AWS Support plan."
        )


def check_issue_type(principal: Principal, issue_type: str) -> None:
    """Technical cases need the Developer plan or higher (only the Support Center serves
    Basic accounts: the API refuses them before this)."""
    if not plans.may_use_issue_type(principal.plan, issue_type):
        raise api_errors.InvalidParameterValueException(
            f"Issue type '{issue_type}' is not available with your AWS Support plan."
        )


def case_limit_exceeded(limit: int) -> api_errors.ApiError:
    return api_errors.CaseCreationLimitExceeded(
        f"You have exceeded the limit of {limit} cases created per hour for this account."
    )


async def check_case_quota(store: Store, principal: Principal, now_ms: int) -> None:
    """For a dry run: would the case-creation quota let this case through? (A read: a
    real CreateCase checks it exactly, in the transaction of its insert.)"""
    limit = principal.limits.cases_per_hour
    if limit is None:
        return
    since = accounts.quota_window_start(now_ms)
    try:
        accounts.check_case_quota(await store.recent_case_count(principal.account_id, since), limit)
    except CaseQuotaExceeded:
        raise case_limit_exceeded(limit) from None


class Gate:
    """The plan check and the per-account TPS limits, per process."""

    def __init__(self) -> None:
        self._limiter = RateLimiter()

    def check(self, principal: Principal, operation: str, now: float | None = None) -> None:
        require_api_access(principal)
        family = api_family(operation)
        rate = tps_limit(principal.limits, family)
        if rate is None:
            return
        key = f"{principal.account_id}/{family}"
        if not self._limiter.allow(key, rate, time.monotonic() if now is None else now):
            raise api_errors.ThrottlingException(
                THROTTLED,
                throttlingReasons=[{"reason": THROTTLING_REASON, "resource": family}],
            )
