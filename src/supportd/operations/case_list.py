"""The Support Center's case list and case lookups: DescribeCases' filters (status,
creation time, display id, keyset paging) plus what a person asks of a list and the API
does not offer: resolved cases only, a search in subjects, and each case's last update.

Reads only the signed-in account's cases, through the same store queries as
DescribeCases; a subject search scans that account's cases newest first and stops
when a page is full.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

from supportd import api_errors
from supportd.domain import case_filters, ids, pagination
from supportd.domain.errors import InvalidToken
from supportd.domain.records import CaseQuery, CaseRecord, CommunicationRecord, Principal
from supportd.operations.context import Context

PAGE_SIZE = 25
CURSOR_KIND = "web-cases"


@dataclass(frozen=True, slots=True)
class CaseListRequest:
    status: str = case_filters.OPEN
    after_ms: int | None = None
    before_ms: int | None = None
    find: str = ""
    token: str | None = None
    limit: int = PAGE_SIZE


@dataclass(frozen=True, slots=True)
class CaseRow:
    case: CaseRecord
    display_id: str
    last_update_ms: int


@dataclass(frozen=True, slots=True)
class CaseListPage:
    rows: list[CaseRow]
    next_token: str | None


def _query(principal: Principal, asked: CaseListRequest) -> CaseQuery:
    if asked.status not in case_filters.STATUS_FILTERS:
        raise api_errors.InvalidParameterValueException(f"Unknown status filter {asked.status!r}")
    find = asked.find.strip()[: case_filters.MAX_FIND_CHARS]
    seqs: tuple[int, ...] | None = None
    subject_like: str | None = None
    if find:
        seq = ids.seq_from_display_id(find)
        if seq is not None:
            seqs = (seq,)
        else:
            subject_like = case_filters.contains_pattern(find)
    return CaseQuery(
        account_id=principal.account_id,
        include_resolved=asked.status != case_filters.OPEN,
        resolved_only=asked.status == case_filters.RESOLVED,
        limit=asked.limit + 1,
        after_ms=asked.after_ms,
        before_ms=asked.before_ms,
        seqs=seqs,
        subject_like=subject_like,
    )


async def list_cases(ctx: Context, principal: Principal, asked: CaseListRequest) -> CaseListPage:
    query = _query(principal, asked)
    scope = _scope(query.account_id, asked.status, query.after_ms, query.before_ms, asked.find)
    before_seq = None
    if asked.token:
        try:
            before_seq = pagination.decode(asked.token, CURSOR_KIND, scope)
        except InvalidToken:
            raise api_errors.InvalidParameterValueException("Invalid pagination token") from None
    found = await ctx.store.list_cases(dataclasses.replace(query, before_seq=before_seq))
    page = found[: asked.limit]
    latest = await ctx.store.recent_communications([case.seq for case in page], 1)
    rows = [
        CaseRow(case, ids.display_id(case.seq), _last_update(case, latest.get(case.seq, [])))
        for case in page
    ]
    token = None
    if len(found) > asked.limit:
        token = pagination.encode(pagination.Cursor(CURSOR_KIND, scope, page[-1].seq))
    return CaseListPage(rows, token)


def _scope(*parts: object) -> str:
    """Binds a page token to the filters it was made for."""
    return hashlib.blake2s(repr(parts).encode(), digest_size=8).hexdigest()


def _last_update(case: CaseRecord, latest: list[CommunicationRecord]) -> int:
    return max([case.created_ms, case.resolved_ms or 0, *(comm.created_ms for comm in latest)])


async def case_by_display_id(
    ctx: Context, principal: Principal, display_id: str
) -> CaseRecord | None:
    """The account's case with this display id (another account's is None, as a case
    that does not exist)."""
    seq = ids.seq_from_display_id(display_id)
    if seq is None:
        return None
    found = await ctx.store.list_cases(
        CaseQuery(account_id=principal.account_id, include_resolved=True, limit=1, seqs=(seq,))
    )
    return found[0] if found else None


async def display_id_of(ctx: Context, principal: Principal, case_id: str) -> str | None:
    case = await ctx.store.get_case(principal.account_id, case_id)
    return ids.display_id(case.seq) if case else None
