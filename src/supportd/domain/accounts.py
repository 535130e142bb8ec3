"""Accounts, access keys, quotas and the audit trail: records and pure rules."""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass

from supportd.domain.errors import DomainError

# A per-account limit stored as this value means "no limit", overriding the deployment's.
UNLIMITED = -1

ACCESS_KEY_PREFIX = "AKIA"  # long-term keys, as IAM users' keys
TEMPORARY_KEY_PREFIX = "ASIA"  # keys that need a session token, as STS hands out
_KEY_ALPHABET = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


class AccountExists(DomainError):
    """An account with this id exists already."""


class AccountNotFound(DomainError):
    """No account has this id."""


class CaseQuotaExceeded(DomainError):
    """The account created its quota of cases within the last hour."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"case creation limit of {limit} per hour reached")
        self.limit = limit


QUOTA_WINDOW_MS = 3_600_000


def quota_window_start(created_ms: int) -> int:
    """Cases created after this time count against the quota of a case created at
    created_ms."""
    return created_ms - QUOTA_WINDOW_MS


def check_case_quota(created_in_window: int, limit: int) -> None:
    """CaseQuotaExceeded if the account already created `limit` cases in the window."""
    if created_in_window >= limit:
        raise CaseQuotaExceeded(limit)


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits that apply to one account's requests; None: no limit."""

    cases_per_hour: int | None = None
    case_api_tps: float | None = None
    advisor_tps: float | None = None


NO_LIMITS = Limits()

# AWS's quotas apply per API family: the case API (cases, communications, attachments,
# reference data) and Trusted Advisor.
CASE_API = "case-api"
ADVISOR_API = "trusted-advisor-api"


def api_family(operation: str) -> str:
    return ADVISOR_API if "TrustedAdvisor" in operation else CASE_API


def tps_limit(limits: Limits, family: str) -> float | None:
    return limits.advisor_tps if family == ADVISOR_API else limits.case_api_tps


@dataclass(frozen=True, slots=True)
class LimitOverrides:
    """An account's own limits. None: the deployment's; UNLIMITED: no limit."""

    cases_per_hour: int | None = None
    case_api_tps: float | None = None
    advisor_tps: float | None = None


def effective_limits(profile: Limits, overrides: LimitOverrides) -> Limits:
    def pick(override: float | None, default: float | None) -> float | None:
        if override is None:
            return default
        return None if override < 0 else override

    cases = pick(overrides.cases_per_hour, profile.cases_per_hour)
    return Limits(
        cases_per_hour=None if cases is None else int(cases),
        case_api_tps=pick(overrides.case_api_tps, profile.case_api_tps),
        advisor_tps=pick(overrides.advisor_tps, profile.advisor_tps),
    )


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    email: str
    plan: str
    limits: LimitOverrides
    created_ms: int


@dataclass(frozen=True, slots=True)
class AccessKey:
    """An access key. The secret is stored sealed (see secretbox), the session token of
    a temporary key only as its SHA-256: verifying a signature needs the secret itself,
    checking a token only needs to recognise it."""

    access_key_id: str
    account_id: str
    user_name: str
    secret_sealed: str
    session_token_hash: str | None
    expires_ms: int | None
    created_ms: int
    revoked_ms: int | None = None

    @property
    def temporary(self) -> bool:
        return self.session_token_hash is not None


@dataclass(frozen=True, slots=True)
class Credential:
    """What one look-up by access key id finds: the key and its account."""

    key: AccessKey
    account: Account


def is_account_id(value: str) -> bool:
    return len(value) == 12 and value.isascii() and value.isdigit()


def new_access_key_id(temporary: bool) -> str:
    prefix = TEMPORARY_KEY_PREFIX if temporary else ACCESS_KEY_PREFIX
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def new_secret_access_key() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def new_session_token() -> str:
    return secrets.token_urlsafe(96)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- the audit trail -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One API call, CloudTrail-like: who, what, from where, and how it ended. Never a
    request body, an error message (messages quote input) or a secret."""

    at_ms: int
    request_id: str
    account_id: str | None
    access_key_id: str | None
    caller: str | None
    operation: str
    source_ip: str
    user_agent: str
    http_status: int
    error_code: str | None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Audit entries in recording order, after `after_seq`, matching every filter."""

    limit: int
    after_seq: int = 0
    account_id: str | None = None
    operation: str | None = None
    error_code: str | None = None
    outcome: str | None = None  # "ok" (no error) or "error" (any error)
    since_ms: int | None = None
    until_ms: int | None = None
