"""Support plans and what each one may do, as AWS gates them."""

from __future__ import annotations

BASIC = "basic"
DEVELOPER = "developer"
BUSINESS = "business"
ENTERPRISE = "enterprise"
PLANS = (BASIC, DEVELOPER, BUSINESS, ENTERPRISE)

# Basic and Developer plans get no API access at all.
API_PLANS = frozenset({BUSINESS, ENTERPRISE})
# The lowest plan that may open a case of each severity, as AWS's plans list them:
# Developer (and Basic, for account and billing cases) general guidance and system
# impaired; Business adds production system impaired and down; Enterprise adds
# business-critical system down. Only the Support Center shows Basic and Developer
# accounts this: the API refuses them altogether.
SEVERITY_PLANS = {"high": BUSINESS, "urgent": BUSINESS, "critical": ENTERPRISE}
# Basic has no technical support: account and billing cases only.
TECHNICAL = "technical"
TECHNICAL_PLANS = frozenset({DEVELOPER, BUSINESS, ENTERPRISE})


def has_api_access(plan: str) -> bool:
    return plan in API_PLANS


def _rank(plan: str) -> int:
    return PLANS.index(plan) if plan in PLANS else -1


def lowest_plan_for_severity(severity: str) -> str:
    return SEVERITY_PLANS.get(severity, BASIC)


def may_use_severity(plan: str, severity: str) -> bool:
    return _rank(plan) >= _rank(lowest_plan_for_severity(severity))


def may_use_issue_type(plan: str, issue_type: str) -> bool:
    return issue_type != TECHNICAL or plan in TECHNICAL_PLANS


def has_full_trusted_advisor(plan: str) -> bool:
    """Business and Enterprise see every Trusted Advisor check (others only the core ones,
    and not through the API at all)."""
    return plan in API_PLANS
