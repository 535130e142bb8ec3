"""CreateCase, DescribeCases, DescribeCommunications, AddCommunicationToCase, ResolveCase."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import msgspec

from supportd import api_errors
from supportd.config import sla_policy
from supportd.domain import clock, ids, lifecycle, pagination
from supportd.domain.accounts import CaseQuotaExceeded
from supportd.domain.addresses import is_valid_email
from supportd.domain.attachments import AttachmentClaim
from supportd.domain.errors import InvalidTime, InvalidToken, ReopenWindowClosed
from supportd.domain.records import (
    CUSTOMER,
    CaseQuery,
    CaseRecord,
    CommunicationQuery,
    CommunicationRecord,
    NewCase,
    NewCommunication,
    Principal,
)
from supportd.domain.redaction import redact
from supportd.domain.sla import ResponseTarget
from supportd.operations import access, attachments
from supportd.operations.context import Context, dry_run_check
from supportd.operations.reference import (
    check_issue_type,
    check_language,
    check_service_and_category,
)

DEFAULT_PAGE_SIZE = 100
RECENT_COMMUNICATIONS = 5
DEFAULT_SEVERITY = "low"
DEFAULT_LANGUAGE = "en"
DEFAULT_ISSUE_TYPE = "technical"


# --- wire shapes ------------------------------------------------------------------


Files = tuple[Sequence[dict[str, Any]], Sequence[dict[str, Any]]]
# Shared by every communication without files: immutable, so no answer can change another.
_NO_FILES: Files = ((), ())


class CommunicationShape(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """A communication as the API answers it (CommunicationDetail, and `attachments`:
    every file, the large ones too). A Struct, not a dict: a page of 100 is made and
    encoded in about half the time (bench/README.md)."""

    case_id: str
    body: str
    submitted_by: str
    time_created: str
    attachment_set: Sequence[dict[str, Any]]
    attachments: Sequence[dict[str, Any]]


def communication_shape(
    comm: CommunicationRecord, files: Files | None = None
) -> CommunicationShape:
    """`files`: the communication's (attachmentSet, attachments), see
    attachments.communication_files."""
    attachment_set, all_files = files or _NO_FILES
    return CommunicationShape(
        comm.case_id,
        comm.body,
        comm.submitted_by,
        clock.format_case_time(comm.created_ms),
        attachment_set,
        all_files,
    )


def case_shape(case: CaseRecord) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "caseId": case.case_id,
        "displayId": ids.display_id(case.seq),
        "subject": case.subject,
        "status": case.status,
    }
    if case.service_code is not None:
        shape["serviceCode"] = case.service_code
    if case.category_code is not None:
        shape["categoryCode"] = case.category_code
    shape["severityCode"] = case.severity_code
    shape["submittedBy"] = case.submitted_by
    shape["timeCreated"] = clock.format_case_time(case.created_ms)
    shape["ccEmailAddresses"] = list(case.cc_emails)
    shape["language"] = case.language
    return shape


# --- input checks -----------------------------------------------------------------


def _text(params: dict[str, Any], member: str) -> str:
    """Text that is stored: redacted, and without NUL (which PostgreSQL cannot hold)."""
    value: str = params[member]
    if "\x00" in value:
        raise api_errors.InvalidParameterValueException(
            f"{member} must not contain the NUL character (U+0000)"
        )
    return redact(value)


def _cc_emails(params: dict[str, Any]) -> tuple[str, ...]:
    addresses = tuple(params.get("ccEmailAddresses") or ())
    for address in addresses:
        if not is_valid_email(address):
            raise api_errors.InvalidParameterValueException(f"Invalid email address: {address}")
    return addresses


def _time(params: dict[str, Any], member: str) -> int | None:
    value = params.get(member)
    if value is None:
        return None
    try:
        return clock.parse_time_filter(value)
    except InvalidTime:
        raise api_errors.InvalidParameterValueException(f"Invalid {member}: {value}") from None


def _page_size(params: dict[str, Any]) -> int:
    return int(params.get("maxResults") or DEFAULT_PAGE_SIZE)


def _scope(*parts: object) -> str:
    return hashlib.blake2s(repr(parts).encode(), digest_size=8).hexdigest()


def _cursor(token: str | None, kind: str, scope: str) -> int | None:
    if token is None:
        return None
    try:
        return pagination.decode(token, kind, scope)
    except InvalidToken:
        raise api_errors.InvalidParameterValueException("Invalid pagination token") from None


def _from_customer(
    principal: Principal,
    body: str,
    cc: tuple[str, ...],
    now: int,
    claim: AttachmentClaim | None,
    response_target: ResponseTarget | None = None,
    source_message_id: str | None = None,
) -> NewCommunication:
    """A communication the customer writes: a case's first, or a reply."""
    return NewCommunication(
        body=body,
        submitted_by=f"{principal.name} <{principal.email}>",
        author_kind=CUSTOMER,
        cc_emails=cc,
        created_ms=now,
        response_target=response_target,
        attachments=claim,
        source_message_id=source_message_id,
    )


async def _find_case(ctx: Context, principal: Principal, case_id: str | None) -> CaseRecord:
    """The caller's case, or CaseIdNotFound. A value without the form of a case id names
    no case and never reaches the store (PostgreSQL refuses some, such as NUL)."""
    case = (
        await ctx.store.get_case(principal.account_id, case_id)
        if case_id and ids.is_case_id(case_id)
        else None
    )
    if case is None:
        raise _case_not_found(case_id)
    return case


def _case_not_found(case_id: str | None) -> api_errors.ApiError:
    return api_errors.CaseIdNotFound(f"Case {case_id} not found" if case_id else "Case not found")


# --- operations ---------------------------------------------------------------------


async def create_case(ctx: Context, principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    catalogue = ctx.catalogue
    if not params["subject"].strip():
        raise api_errors.InvalidParameterValueException("Subject must not be empty")
    subject = _text(params, "subject")
    body = _text(params, "communicationBody")
    issue_type = params.get("issueType", DEFAULT_ISSUE_TYPE)
    language = params.get("language", DEFAULT_LANGUAGE)
    severity = params.get("severityCode", DEFAULT_SEVERITY)
    check_issue_type(catalogue, issue_type)
    check_language(catalogue, language)
    if severity not in catalogue.severity_codes:
        raise api_errors.InvalidParameterValueException("Invalid severity code")
    access.check_severity(principal, severity)
    access.check_issue_type(principal, issue_type)
    check_service_and_category(catalogue, params.get("serviceCode"), params.get("categoryCode"))
    cc = _cc_emails(params)
    claim = await attachments.attachment_claim(ctx, principal, params)
    if params.get("dryRun"):
        await access.check_case_quota(ctx.store, principal, ctx.clock.now_ms())
    dry_run_check(params)

    now = ctx.clock.now_ms()
    case = NewCase(
        case_id=ids.new_case_id(principal.account_id, now),
        account_id=principal.account_id,
        subject=subject,
        service_code=params.get("serviceCode"),
        category_code=params.get("categoryCode"),
        severity_code=severity,
        language=language,
        issue_type=issue_type,
        submitted_by=principal.email,
        cc_emails=cc,
        created_ms=now,
        first_response_due_ms=sla_policy(ctx.config).first_response_due(
            now, severity, principal.plan
        ),
    )
    first = _from_customer(principal, body, cc, now, claim)
    try:
        created = await ctx.store.create_case(
            case, first, max_cases_per_hour=principal.limits.cases_per_hour
        )
    except CaseQuotaExceeded as exc:
        raise access.case_limit_exceeded(exc.limit) from None
    except attachments.ATTACHMENT_ERRORS as exc:
        raise attachments.api_error(ctx.config, exc) from None
    return {"caseId": created.case_id}


async def describe_cases(
    ctx: Context, principal: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    store = ctx.store
    account = principal.account_id
    language = params.get("language")
    check_language(ctx.catalogue, language)
    after, before = _time(params, "afterTime"), _time(params, "beforeTime")
    include_resolved = bool(params.get("includeResolvedCases", False))
    include_comms = bool(params.get("includeCommunications", True))
    limit = _page_size(params)

    seqs: list[int] | None = None
    case_ids = params.get("caseIdList") or []
    if case_ids:
        named = list(dict.fromkeys(case_ids))
        found = await store.case_seqs(account, [c for c in named if ids.is_case_id(c)])
        for case_id in named:
            if case_id not in found:
                raise _case_not_found(case_id)
        seqs = [found[case_id] for case_id in named]
    display_id = params.get("displayId")
    if display_id is not None:
        seq = ids.seq_from_display_id(display_id)
        wanted = {seq} if seq is not None else set()
        seqs = sorted(wanted if seqs is None else wanted & set(seqs))

    scope = _scope(account, language, after, before, include_resolved, seqs)
    before_seq = _cursor(params.get("nextToken"), "cases", scope)
    dry_run_check(params)

    if seqs is not None and not seqs:
        return {"cases": []}
    rows = await store.list_cases(
        CaseQuery(
            account_id=account,
            include_resolved=include_resolved,
            limit=limit + 1,
            language=language,
            after_ms=after,
            before_ms=before,
            before_seq=before_seq,
            seqs=tuple(seqs) if seqs is not None else None,
        )
    )
    page, more = rows[:limit], len(rows) > limit
    shapes = [case_shape(case) for case in page]
    if include_comms and page:
        recent = await store.recent_communications(
            [case.seq for case in page], RECENT_COMMUNICATIONS + 1
        )
        shown = [c for case in page for c in recent[case.seq][:RECENT_COMMUNICATIONS]]
        files = await attachments.communication_files(ctx, shown)
        for case, shape in zip(page, shapes, strict=True):
            comms = recent[case.seq]
            block: dict[str, Any] = {
                "communications": [
                    communication_shape(c, files.get(c.seq)) for c in comms[:RECENT_COMMUNICATIONS]
                ]
            }
            if len(comms) > RECENT_COMMUNICATIONS:
                block["nextToken"] = _communications_token(
                    case.seq, comms[RECENT_COMMUNICATIONS - 1].seq, None, None
                )
            shape["recentCommunications"] = block
    result: dict[str, Any] = {"cases": shapes}
    if more:
        result["nextToken"] = pagination.encode(pagination.Cursor("cases", scope, page[-1].seq))
    return result


def _communications_token(
    case_seq: int, last_seq: int, after: int | None, before: int | None
) -> str:
    scope = _scope(case_seq, after, before)
    return pagination.encode(pagination.Cursor("communications", scope, last_seq))


async def describe_communications(
    ctx: Context, principal: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    case_id = params["caseId"]
    after, before = _time(params, "afterTime"), _time(params, "beforeTime")
    limit = _page_size(params)
    case = await _find_case(ctx, principal, case_id)
    before_seq = _cursor(params.get("nextToken"), "communications", _scope(case.seq, after, before))
    dry_run_check(params)
    rows = await ctx.store.list_communications(
        CommunicationQuery(
            case_seq=case.seq,
            case_id=case.case_id,
            limit=limit + 1,
            after_ms=after,
            before_ms=before,
            before_seq=before_seq,
        )
    )
    page = rows[:limit]
    files = await attachments.communication_files(ctx, page)
    result: dict[str, Any] = {
        "communications": [communication_shape(c, files.get(c.seq)) for c in page]
    }
    if len(rows) > limit:
        result["nextToken"] = _communications_token(case.seq, page[-1].seq, after, before)
    return result


async def add_communication_to_case(
    ctx: Context, principal: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    case_id = params.get("caseId")
    body = _text(params, "communicationBody")
    cc = _cc_emails(params)
    case = await _find_case(ctx, principal, case_id)
    claim = await attachments.attachment_claim(ctx, principal, params)
    await add_customer_communication(
        ctx, principal, case, body, cc, claim, dry_run=bool(params.get("dryRun"))
    )
    return {"result": True}


async def add_customer_communication(
    ctx: Context,
    principal: Principal,
    case: CaseRecord,
    body: str,
    cc: tuple[str, ...],
    claim: AttachmentClaim | None,
    *,
    dry_run: bool = False,
    source_message_id: str | None = None,
) -> None:
    """A customer's communication on their case (AddCommunicationToCase, or a reply by
    e-mail: `source_message_id`, DuplicateMessage if it was added before)."""
    now = ctx.clock.now_ms()
    if case.status == lifecycle.RESOLVED:
        # Checked before a dry run answers, so a dry run tells the truth.
        try:
            lifecycle.status_after_customer_reply(case.status, case.resolved_ms, now)
        except ReopenWindowClosed:
            raise _reopen_refused() from None
    dry_run_check({"dryRun": dry_run})
    # Unless one is outstanding already, support owes a next response.
    target = sla_policy(ctx.config).next_response(case.severity_code, principal.plan)
    comm = _from_customer(principal, body, cc, now, claim, target, source_message_id)
    try:
        updated = await ctx.store.add_communication(principal.account_id, case.case_id, comm)
    except ReopenWindowClosed:
        raise _reopen_refused() from None
    except attachments.ATTACHMENT_ERRORS as exc:
        raise attachments.api_error(ctx.config, exc) from None
    if updated is None:
        raise _case_not_found(case.case_id)


def _reopen_refused() -> api_errors.ApiError:
    return api_errors.InvalidParameterValueException(
        "This case was resolved more than 14 days ago and cannot be reopened. "
        "Create a new case instead."
    )


async def resolve_case(
    ctx: Context, principal: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    case_id = params.get("caseId")
    if params.get("dryRun"):
        await _find_case(ctx, principal, case_id)
        dry_run_check(params)
    if not (case_id and ids.is_case_id(case_id)):
        raise _case_not_found(case_id)
    # The store finds the case in its transaction: no read ahead of it.
    outcome = await ctx.store.resolve_case(principal.account_id, case_id, ctx.clock.now_ms())
    if outcome is None:
        raise _case_not_found(case_id)
    return {"initialCaseStatus": outcome.initial_status, "finalCaseStatus": outcome.final_status}
