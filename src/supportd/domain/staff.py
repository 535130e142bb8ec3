"""The support side: staff members and their tokens, the support-side state of a case
(assignee, SLA clock), and what each staff action does to a case.

`decide` is the one place that says what a reply, a note, an assignment, a status
change or a resolution does; the stores call it with the case row locked and write
what it returns.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from supportd.domain import lifecycle, pagination, sla
from supportd.domain.errors import DomainError, IllegalTransition, InvalidToken
from supportd.domain.records import SUPPORT, CaseRecord, NewCommunication

AGENT = "agent"
ADMIN = "admin"
ROLES = (AGENT, ADMIN)

# Lower case, so that names are unambiguous in URLs, history and the CLI. "none" and
# "me" mean something in filters.
NAME_PATTERN = re.compile(r"\A[a-z0-9][a-z0-9._-]{0,62}\Z")
RESERVED_NAMES = frozenset({"none", "me"})
MAX_BODY_CHARS = 8000  # as communicationBody in the AWS model
# What counts as blank in a reply or note: the ASCII whitespace that Python's `re`, JSON
# Schema's ECMA-262 patterns and str.strip agree on (the staff API's schema says so).
BLANK = " \t\n\r\x0b\x0c"

STAFF_ACTOR_PREFIX = "staff:"
AUTO_RESOLVE_ACTOR = "system:auto-resolve"


class StaffExists(DomainError):
    """A staff member of that name exists already."""


def staff_actor(name: str) -> str:
    """How a staff member appears as the actor of a case event."""
    return STAFF_ACTOR_PREFIX + name


def valid_name(name: str) -> bool:
    return bool(NAME_PATTERN.match(name)) and name not in RESERVED_NAMES


@dataclass(frozen=True, slots=True)
class StaffMember:
    name: str
    email: str
    role: str
    created_ms: int
    disabled_ms: int | None = None

    @property
    def active(self) -> bool:
        return self.disabled_ms is None

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


# --- tokens -------------------------------------------------------------------------
#
# `sdst_<12 hex id>_<43 characters of secret>`. The id finds the row; only a SHA-256 of
# the secret is stored, compared in constant time. The secret has 256 random bits, so a
# fast hash is enough (there is nothing to brute-force).

TOKEN_PREFIX = "sdst"  # noqa: S105 (not a secret)
_TOKEN = re.compile(rf"\A{TOKEN_PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})\Z")


@dataclass(frozen=True, slots=True)
class StaffToken:
    token_id: str
    staff_name: str
    secret_hash: str
    created_ms: int
    revoked_ms: int | None = None

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_secret(secret))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token(staff_name: str, now_ms: int) -> tuple[str, StaffToken]:
    """(the token to hand out once, the record to store)."""
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return (
        f"{TOKEN_PREFIX}_{token_id}_{secret}",
        StaffToken(token_id, staff_name, hash_secret(secret), now_ms),
    )


def tokens_ended_by(
    was_active: bool, now_active: bool, tokens: Sequence[StaffToken]
) -> list[StaffToken]:
    """The tokens a change of a member's state revokes. Disabling ends every live token
    for good; re-enabling revokes any still live (made before the member was disabled,
    e.g. by a version that did not revoke them), so no old token comes back: the member
    needs new ones. Enabling an active member revokes nothing."""
    if was_active and now_active:
        return []
    return [token for token in tokens if token.revoked_ms is None]


def parse_token(text: str) -> tuple[str, str] | None:
    """(token id, secret), or None if the text is not shaped like a staff token."""
    match = _TOKEN.match(text)
    return (match.group(1), match.group(2)) if match else None


# --- the support-side state of a case --------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseWork:
    """What support keeps about a case besides its status: who works on it, its SLA
    clock, and since when it waits on the customer (the auto-resolve timer)."""

    assignee: str | None = None
    clock: sla.SlaClock = sla.STOPPED
    pending_since_ms: int | None = None


NO_WORK = CaseWork()


@dataclass(frozen=True, slots=True)
class StaffCase:
    case: CaseRecord
    work: CaseWork


@dataclass(frozen=True, slots=True)
class ThreadEntry:
    """A communication as staff see it: with the staff member who wrote a reply."""

    seq: int
    created_ms: int
    body: str
    submitted_by: str
    author_kind: str
    staff_name: str | None


@dataclass(frozen=True, slots=True)
class Note:
    seq: int
    created_ms: int
    staff_name: str
    body: str


STATUS_EVENT = "status"
ASSIGNMENT_EVENT = "assignment"


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    at_ms: int
    actor: str
    kind: str  # STATUS_EVENT or ASSIGNMENT_EVENT
    from_value: str | None
    to_value: str | None


def work_after_customer_reply(
    work: CaseWork,
    new_status: str,
    now_ms: int,
    target: sla.ResponseTarget | None,
) -> CaseWork:
    """A customer's message: the SLA clock resumes or a next-response target starts (if
    a target is given), and the auto-resolve timer stops once the case no longer waits
    on the customer."""
    clock = work.clock if target is None else sla.after_customer_reply(work.clock, now_ms, target)
    pending = work.pending_since_ms if new_status == lifecycle.PENDING_CUSTOMER_ACTION else None
    return dataclasses.replace(work, clock=clock, pending_since_ms=pending)


def work_after_resolution(work: CaseWork) -> CaseWork:
    return dataclasses.replace(work, clock=sla.STOPPED, pending_since_ms=None)


# --- staff actions ------------------------------------------------------------------------

REPLY = "reply"
NOTE = "note"
ASSIGN = "assign"
SET_STATUS = "set-status"
RESOLVE = "resolve"


@dataclass(frozen=True, slots=True)
class StaffAction:
    kind: str
    staff_name: str
    now_ms: int
    body: str = ""  # reply, note
    status: str | None = None  # reply (None: pending-customer-action), set-status
    assignee: str | None = None  # assign (None: unassign)
    display_name: str = "Amazon Web Services"  # reply: the author customers see
    calendar: sla.Calendar = sla.ALWAYS


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to write: the case's new status and support-side state, and the rows to add."""

    status: str
    resolved_ms: int | None
    work: CaseWork
    status_change: tuple[str, str] | None = None
    assignment: tuple[str | None, str | None] | None = None
    reply: NewCommunication | None = None
    note: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.status_change or self.assignment or self.reply or self.note)


def decide(current: StaffCase, action: StaffAction) -> Outcome:
    """What `action` does to the case; IllegalTransition if the lifecycle forbids it."""
    case, work = current.case, current.work
    now = action.now_ms
    status, resolved_ms = case.status, case.resolved_ms
    assignment: tuple[str | None, str | None] | None = None
    reply: NewCommunication | None = None
    note: str | None = None
    target = status

    if action.kind == NOTE:
        note = action.body
    elif action.kind == REPLY:
        if status == lifecycle.RESOLVED:
            raise IllegalTransition(
                "the case is resolved: support cannot reply to it; it reopens when the"
                " customer replies"
            )
        target = action.status or lifecycle.PENDING_CUSTOMER_ACTION
        lifecycle.check_staff_transition(status, target)
        reply = NewCommunication(
            body=action.body,
            submitted_by=action.display_name,
            author_kind=SUPPORT,
            cc_emails=(),
            created_ms=now,
        )
        # Support answered: the outstanding response target is met.
        work = dataclasses.replace(work, clock=sla.STOPPED)
        if work.assignee is None:
            # Whoever answers an unassigned case has picked it up.
            assignment = (None, action.staff_name)
            work = dataclasses.replace(work, assignee=action.staff_name)
    elif action.kind == ASSIGN:
        if action.assignee != work.assignee:
            assignment = (work.assignee, action.assignee)
            work = dataclasses.replace(work, assignee=action.assignee)
            if action.assignee is not None and status == lifecycle.UNASSIGNED:
                target = lifecycle.WORK_IN_PROGRESS
    elif action.kind == SET_STATUS:
        if action.status is None:
            raise IllegalTransition("no status given")
        lifecycle.check_staff_transition(status, action.status)
        target = action.status
    elif action.kind == RESOLVE:
        if status != lifecycle.RESOLVED:
            lifecycle.check_staff_transition(status, lifecycle.RESOLVED)
            target = lifecycle.RESOLVED
    else:
        raise IllegalTransition(f"unknown action {action.kind!r}")

    status_change = (status, target) if target != status else None
    if status_change is not None:
        work = dataclasses.replace(
            work, clock=sla.after_status_change(work.clock, target, now, action.calendar)
        )
        resolved_ms = now if target == lifecycle.RESOLVED else None
    if target == lifecycle.RESOLVED:
        work = work_after_resolution(work)
    elif target == lifecycle.PENDING_CUSTOMER_ACTION:
        if status_change is not None or reply is not None:
            # Asked (again): the auto-resolve timer starts over.
            work = dataclasses.replace(work, pending_since_ms=now)
    else:
        work = dataclasses.replace(work, pending_since_ms=None)
    return Outcome(target, resolved_ms, work, status_change, assignment, reply, note)


# --- listing cases ---------------------------------------------------------------------

SORT_SLA = "sla"
SORT_CREATED = "created"
SORTS = (SORT_SLA, SORT_CREATED)

BREACHING = "breaching"
SLA_RUNNING = "running"
SLA_PAUSED = "paused"
SLA_NONE = "none"
SLA_FILTERS = (BREACHING, SLA_RUNNING, SLA_PAUSED, SLA_NONE)

# Cases without a running clock sort after every due time.
NO_DUE = 2**63 - 1

# Statuses in which a case never has a running clock (waiting on the customer pauses
# it, a reply stops it; a resolved case has none): listed by due time, such cases come
# in plain seq order, which a store can read without the due-time index.
CLOCKLESS_STATUSES = frozenset({lifecycle.PENDING_CUSTOMER_ACTION, lifecycle.RESOLVED})


def clockless(statuses: tuple[str, ...] | None) -> bool:
    return statuses is not None and set(statuses) <= CLOCKLESS_STATUSES


def due_key(work: CaseWork) -> int:
    return work.clock.due_ms if work.clock.due_ms is not None else NO_DUE


@dataclass(frozen=True, slots=True)
class StaffCaseQuery:
    """One page of cases across accounts.

    sort SORT_SLA: by due time (cases without a running clock last), then seq;
    `after` = (due key, seq) of the previous page's last case. SORT_CREATED: newest
    first; `after` = (seq,).
    """

    limit: int
    now_ms: int
    statuses: tuple[str, ...] | None = None  # None: every status
    account_id: str | None = None
    severity: str | None = None
    service_code: str | None = None
    category_code: str | None = None
    language: str | None = None
    assignee: str | None = None
    unassigned: bool = False  # only cases nobody is assigned to
    sla_state: str | None = None  # one of SLA_FILTERS
    created_after_ms: int | None = None
    created_before_ms: int | None = None
    sort: str = SORT_SLA
    after: tuple[int, ...] | None = None


# --- page tokens -----------------------------------------------------------------------
#
# Sealed as domain.pagination's (a digest of their own), with a tuple of keys: (due key,
# seq) or (seq,) or (offset,).


class _Cursor(msgspec.Struct, array_like=True, frozen=True):
    kind: str
    scope: str
    keys: tuple[int, ...]


_CURSOR_PERSON = b"staffcur"


def encode_cursor(kind: str, scope: str, keys: tuple[int, ...]) -> str:
    return pagination.seal(_Cursor(kind, scope, keys), _CURSOR_PERSON)


def decode_cursor(token: str, kind: str, scope: str, size: int) -> tuple[int, ...]:
    cursor = pagination.unseal(token, _Cursor, _CURSOR_PERSON)
    if (
        cursor.kind != kind
        or cursor.scope != scope
        or len(cursor.keys) != size
        or not all(0 <= key <= NO_DUE for key in cursor.keys)
    ):
        raise InvalidToken(token)
    return cursor.keys
