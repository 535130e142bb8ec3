"""Support plans and what each one may do, as AWS gates them."""

from __future__ import annotations

BASIC = "basic"
DEVELOPER = "developer"
BUSINESS = "business"
ENTERPRISE = "enterprise"
PLANS = (BASIC, DEVELOPER, BUSINESS, ENTERPRISE)

# Basic and Developer plans get no API access at all.
API_PLANS = frozenset({BUSINESS, ENTERPRISE})
# Business-critical system down ("critical") is for the highest plan only.
CRITICAL_SEVERITY_PLANS = frozenset({ENTERPRISE})


def has_api_access(plan: str) -> bool:
    return plan in API_PLANS


def may_use_severity(plan: str, severity: str) -> bool:
    return severity != "critical" or plan in CRITICAL_SEVERITY_PLANS
