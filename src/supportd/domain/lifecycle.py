"""Case statuses and the transitions customers can cause."""

from __future__ import annotations

from supportd.domain.errors import ReopenWindowClosed

UNASSIGNED = "unassigned"
WORK_IN_PROGRESS = "work-in-progress"
PENDING_CUSTOMER_ACTION = "pending-customer-action"
CUSTOMER_ACTION_COMPLETED = "customer-action-completed"
OPENED = "opened"
REOPENED = "reopened"
RESOLVED = "resolved"

REOPEN_WINDOW_MS = 14 * 24 * 3600 * 1000


def status_after_customer_reply(status: str, resolved_at_ms: int | None, now_ms: int) -> str:
    """A customer's reply answers a question, reopens a resolved case, or changes nothing."""
    if status == RESOLVED:
        if resolved_at_ms is not None and now_ms - resolved_at_ms > REOPEN_WINDOW_MS:
            raise ReopenWindowClosed("resolved more than 14 days ago")
        return REOPENED
    if status == PENDING_CUSTOMER_ACTION:
        return CUSTOMER_ACTION_COMPLETED
    return status
