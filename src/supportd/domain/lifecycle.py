"""Case statuses and who may move a case between them: customers, staff and time."""

from __future__ import annotations

from dataclasses import dataclass

from supportd.domain.errors import IllegalTransition, ReopenWindowClosed

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


# --- the whole lifecycle, as one table ------------------------------------------------
#
# Who may move a case from which status to which. The customer rules above and the
# staff rules below are both read from this table (docs/lifecycle.md prints it, and a
# test checks the two agree). `None` as a source is a case that does not exist yet; as
# a target it means the status stays as it is.

CUSTOMER = "customer"
STAFF = "staff"
SYSTEM = "system"

OPEN_STATUSES = frozenset(
    {
        UNASSIGNED,
        WORK_IN_PROGRESS,
        PENDING_CUSTOMER_ACTION,
        CUSTOMER_ACTION_COMPLETED,
        OPENED,
        REOPENED,
    }
)
STATUSES = frozenset({*OPEN_STATUSES, RESOLVED})


@dataclass(frozen=True, slots=True)
class Transition:
    by: str
    event: str
    sources: frozenset[str | None]
    target: str | None
    note: str = ""


TRANSITIONS: tuple[Transition, ...] = (
    Transition(CUSTOMER, "create", frozenset({None}), UNASSIGNED, "CreateCase"),
    Transition(STAFF, "assign", frozenset({UNASSIGNED}), WORK_IN_PROGRESS, "staff pick it up"),
    Transition(STAFF, "set-status", frozenset(OPEN_STATUSES), WORK_IN_PROGRESS),
    Transition(
        STAFF,
        "set-status",
        frozenset(OPEN_STATUSES),
        PENDING_CUSTOMER_ACTION,
        "staff ask the customer (a staff reply does this unless told otherwise)",
    ),
    Transition(STAFF, "set-status", frozenset(OPEN_STATUSES), OPENED),
    Transition(STAFF, "set-status", frozenset(OPEN_STATUSES), RESOLVED, "staff resolve"),
    Transition(CUSTOMER, "resolve", frozenset(STATUSES), RESOLVED, "ResolveCase"),
    Transition(
        CUSTOMER,
        "reply",
        frozenset({PENDING_CUSTOMER_ACTION}),
        CUSTOMER_ACTION_COMPLETED,
        "AddCommunicationToCase",
    ),
    Transition(
        CUSTOMER,
        "reply",
        frozenset(OPEN_STATUSES - {PENDING_CUSTOMER_ACTION}),
        None,
        "AddCommunicationToCase: the status stays",
    ),
    Transition(
        CUSTOMER,
        "reply",
        frozenset({RESOLVED}),
        REOPENED,
        "within 14 days of the resolution; later the reply is refused",
    ),
    Transition(
        SYSTEM,
        "auto-resolve",
        frozenset({PENDING_CUSTOMER_ACTION}),
        RESOLVED,
        "left waiting on the customer longer than auto_resolve_after_hours",
    ),
)

# Statuses staff may set (everything else is the customer's or nobody's to set).
STAFF_SETTABLE = frozenset(
    t.target for t in TRANSITIONS if t.by == STAFF and t.event == "set-status" and t.target
)


def staff_may_set(current: str, target: str) -> bool:
    """Whether staff may move a case from `current` to `target` (the same status is
    allowed where a move into it is: it changes nothing)."""
    return any(
        t.by == STAFF and t.event == "set-status" and t.target == target and current in t.sources
        for t in TRANSITIONS
    )


def check_staff_transition(current: str, target: str) -> None:
    """IllegalTransition unless staff may move a case from `current` to `target`."""
    if target not in STATUSES:
        raise IllegalTransition(f"unknown status {target!r}")
    if not staff_may_set(current, target):
        if current == RESOLVED:
            raise IllegalTransition(
                f"the case is resolved: staff cannot set it to {target}; it reopens when the"
                " customer replies"
            )
        raise IllegalTransition(
            f"staff cannot move a case from {current} to {target}"
            f" (staff set {', '.join(sorted(STAFF_SETTABLE))})"
        )
