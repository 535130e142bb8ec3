"""Domain rule violations. Operations translate them into API errors."""


class DomainError(Exception):
    """A request that breaks a rule of the support domain."""


class ReopenWindowClosed(DomainError):
    """A customer replied to a case resolved longer ago than the reopen window."""


class InvalidToken(DomainError):
    """A pagination token that supportd did not issue for this request."""


class InvalidTime(DomainError):
    """A time filter that is neither a date nor an ISO-8601 instant."""


class IllegalTransition(DomainError):
    """A status change the lifecycle does not allow (see lifecycle.TRANSITIONS)."""
