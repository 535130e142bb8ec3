"""The records the store keeps and the queries it answers, independent of the wire."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from supportd.domain.accounts import NO_LIMITS, Limits
from supportd.domain.attachments import AttachmentClaim
from supportd.domain.plans import ENTERPRISE
from supportd.domain.sla import ResponseTarget

CUSTOMER = "customer"
SUPPORT = "support"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the account, its e-mail, the caller's identity (as shown in
    submittedBy, e.g. `jane (User)`), the account's support plan and the limits that
    apply to it."""

    account_id: str
    email: str
    name: str
    access_key_id: str
    plan: str = ENTERPRISE
    limits: Limits = NO_LIMITS


@dataclass(frozen=True, slots=True)
class NewCase:
    case_id: str
    account_id: str
    subject: str
    service_code: str | None
    category_code: str | None
    severity_code: str
    language: str
    issue_type: str
    submitted_by: str
    cc_emails: tuple[str, ...]
    created_ms: int
    # When support's first response is due (the SLA clock starts with the case).
    first_response_due_ms: int | None = None


@dataclass(frozen=True, slots=True)
class NewCommunication:
    body: str
    submitted_by: str
    author_kind: str
    cc_emails: tuple[str, ...]
    created_ms: int
    # A customer's message: the next-response target it starts if none is outstanding.
    response_target: ResponseTarget | None = None
    # Files the communication takes over (an attachment set, ready uploads), in the
    # transaction that inserts it.
    attachments: AttachmentClaim | None = None
    # A reply by e-mail: its Message-ID, recorded in the same transaction, so that the
    # same message delivered twice is added once (DuplicateMessage the second time).
    source_message_id: str | None = None


# The two records read by the hundred per page are msgspec Structs: one costs about a
# tenth of a frozen dataclass to make (no object.__setattr__ per field), and holding only
# strings, numbers and tuples of strings they need no cycle collection (gc=False).
class CaseRecord(msgspec.Struct, frozen=True, gc=False):
    seq: int
    case_id: str
    account_id: str
    subject: str
    service_code: str | None
    category_code: str | None
    severity_code: str
    status: str
    language: str
    issue_type: str
    submitted_by: str
    cc_emails: tuple[str, ...]
    created_ms: int
    resolved_ms: int | None


class CommunicationRecord(msgspec.Struct, frozen=True, gc=False):
    seq: int
    case_seq: int
    body: str
    submitted_by: str
    author_kind: str
    created_ms: int
    # Last: a page of one case's communications is read without the cases table and
    # made with the case id its caller already has (`CommunicationRecord(*row, case_id)`).
    case_id: str


@dataclass(frozen=True, slots=True)
class CaseQuery:
    """One page of an account's cases, newest first."""

    account_id: str
    include_resolved: bool
    limit: int
    language: str | None = None
    after_ms: int | None = None
    before_ms: int | None = None
    before_seq: int | None = None  # keyset: only cases older than this one
    seqs: tuple[int, ...] | None = None  # restrict to these cases (caseIdList/displayId)
    resolved_only: bool = False  # the Support Center's "resolved" filter
    # The Support Center's subject search: a LIKE pattern (see domain.case_search).
    subject_like: str | None = None


@dataclass(frozen=True, slots=True)
class CommunicationQuery:
    """One page of a case's communications, newest first."""

    case_seq: int
    case_id: str
    limit: int
    after_ms: int | None = None
    before_ms: int | None = None
    before_seq: int | None = None


@dataclass(frozen=True, slots=True)
class ResolveOutcome:
    initial_status: str
    final_status: str
