"""The support side's operations: the staff API and the `supportd staff` / `supportd
cases` commands both call these, so the two answer alike (the same JSON).

Every function takes plain values (query parameters as lists of strings, JSON bodies as
dicts) and returns a JSON-ready dict, or raises StaffError with an HTTP status and a
code. Who acts is a StaffMember; None means the local operator (the CLI on the store
itself), who may do everything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from supportd.config import sla_policy
from supportd.domain import clock, ids, lifecycle, search, staff, web_sessions
from supportd.domain.addresses import is_valid_email
from supportd.domain.errors import IllegalTransition, InvalidTime, InvalidToken
from supportd.domain.jobs import Job
from supportd.domain.search import InvalidSearch, SearchHit, SearchQuery
from supportd.domain.staff import (
    HistoryEvent,
    Note,
    StaffAction,
    StaffCase,
    StaffCaseQuery,
    StaffMember,
    StaffToken,
    ThreadEntry,
)
from supportd.operations.background import register_periodic
from supportd.operations.context import Context
from supportd.operations.refusal import Refused

log = logging.getLogger("supportd.staff")

DEFAULT_PAGE = 50
MAX_PAGE = 100
DEFAULT_SEARCH_PAGE = 20
AUTO_RESOLVE_INTERVAL_S = 60.0
AUTO_RESOLVE_BATCH = 500
SEARCH_INDEX_INTERVAL_S = 10.0
HOUR_MS = 3_600_000
_ACCOUNT = re.compile(r"\A[0-9]{12}\Z")

Params = Mapping[str, Sequence[str]]


class StaffError(Refused):
    """An error of the staff API: HTTP status, a stable code and a message."""

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


def _bad(message: str, code: str = "invalid_parameter") -> StaffError:
    return StaffError(400, code, message)


def _case_not_found(ref: str) -> StaffError:
    return StaffError(404, "case_not_found", f"no case {ref}")


def _staff_not_found(name: str) -> StaffError:
    return StaffError(404, "staff_not_found", f"no staff member {name!r}")


def _disabled(name: str) -> StaffError:
    return StaffError(409, "staff_disabled", f"staff member {name} is disabled")


async def _active_staff(ctx: Context, name: str) -> StaffMember:
    """The staff member named, who must exist and be active (else StaffError)."""
    member = await ctx.store.get_staff(_name(name))
    if member is None:
        raise _staff_not_found(name)
    if not member.active:
        raise _disabled(name)
    return member


def _name(name: str) -> str:
    """A staff member's name as given, if it could be one (else no such member: nothing
    that is not a name reaches the store)."""
    if not staff.valid_name(name):
        raise _staff_not_found(name)
    return name


_TOKEN_ID = re.compile(r"\A[0-9a-f]{12}\Z")


# --- authentication -------------------------------------------------------------------

# Signs of AWS credentials: a SigV4 Authorization header, presigned query parameters,
# or an access key id (AKIA... / ASIA...) or 12-digit account presented as a token.
_AWS_KEY = re.compile(r"\A(?:(?:AKIA|ASIA)[A-Z0-9]{12,}|\d{12})\Z")


def _customer_credentials() -> StaffError:
    return StaffError(
        401,
        "customer_credentials",
        "AWS access keys are for the Support API (POST /); the staff API takes a staff"
        " token: Authorization: Bearer <token> (supportd staff token NAME)",
    )


async def authenticate(
    ctx: Context, authorization: str | None, query_keys: Sequence[str] = ()
) -> StaffMember:
    """The staff member a request's Authorization header names, or StaffError (401)."""
    if any(key.lower().startswith("x-amz-") for key in query_keys):
        raise _customer_credentials()
    if not authorization or not authorization.strip():
        raise StaffError(
            401, "missing_token", "the staff API needs a token: Authorization: Bearer <token>"
        )
    scheme, _, credential = authorization.strip().partition(" ")
    if scheme.upper().startswith("AWS4-") or scheme.upper() == "AWS":
        raise _customer_credentials()
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise StaffError(401, "invalid_token", "use Authorization: Bearer <token>")
    if _AWS_KEY.match(credential):
        raise _customer_credentials()
    parsed = staff.parse_token(credential)
    if parsed is None:
        raise StaffError(401, "invalid_token", "that is not a supportd staff token")
    token_id, secret = parsed
    found = await ctx.store.get_staff_token(token_id)
    # The same answer whether the id or the secret is wrong; the hash is compared in
    # constant time.
    if found is None or not found[0].matches(secret):
        raise StaffError(401, "invalid_token", "unknown staff token")
    token, member = found
    # Disabled first: disabling also revokes the tokens, and this says why.
    if not member.active:
        raise StaffError(401, "staff_disabled", f"staff member {member.name} is disabled")
    if token.revoked_ms is not None:
        raise StaffError(401, "revoked_token", "this staff token has been revoked")
    return member


def require_admin(actor: StaffMember | None) -> None:
    if actor is not None and not actor.is_admin:
        raise StaffError(403, "admin_required", "only staff with the admin role may do this")


# --- shapes ------------------------------------------------------------------------------


_time = clock.optional_case_time


def _actor(actor: str) -> dict[str, str]:
    if actor.startswith(staff.STAFF_ACTOR_PREFIX):
        return {"kind": "staff", "name": actor[len(staff.STAFF_ACTOR_PREFIX) :]}
    if actor.startswith("system:"):
        return {"kind": "system", "name": actor}
    return {"kind": "customer", "name": actor}


def sla_shape(work: staff.CaseWork, now_ms: int) -> dict[str, Any]:
    c = work.clock
    return {
        "target": c.target,
        "state": c.state(),
        "dueTime": _time(c.due_ms),
        "remainingMs": c.remaining_ms,
        "breached": c.breached(now_ms),
    }


def case_shape(ctx: Context, found: StaffCase, now_ms: int) -> dict[str, Any]:
    case, work = found.case, found.work
    after_h = ctx.config.auto_resolve_after_hours
    auto_resolve = (
        work.pending_since_ms + after_h * HOUR_MS
        if work.pending_since_ms is not None
        and after_h > 0
        and case.status == lifecycle.PENDING_CUSTOMER_ACTION
        else None
    )
    return {
        "caseId": case.case_id,
        "displayId": ids.display_id(case.seq),
        "accountId": case.account_id,
        "subject": case.subject,
        "status": case.status,
        "severityCode": case.severity_code,
        "serviceCode": case.service_code,
        "categoryCode": case.category_code,
        "language": case.language,
        "issueType": case.issue_type,
        "submittedBy": case.submitted_by,
        "ccEmailAddresses": list(case.cc_emails),
        "timeCreated": _time(case.created_ms),
        "timeResolved": _time(case.resolved_ms),
        "assignee": work.assignee,
        "sla": sla_shape(work, now_ms),
        "autoResolveTime": _time(auto_resolve),
    }


def _thread_shape(entry: ThreadEntry) -> dict[str, Any]:
    return {
        "id": entry.seq,
        "authorKind": entry.author_kind,
        "submittedBy": entry.submitted_by,
        "staffName": entry.staff_name,
        "body": entry.body,
        "timeCreated": _time(entry.created_ms),
    }


def _note_shape(note: Note) -> dict[str, Any]:
    return {
        "id": note.seq,
        "staffName": note.staff_name,
        "body": note.body,
        "timeCreated": _time(note.created_ms),
    }


def _event_shape(event: HistoryEvent) -> dict[str, Any]:
    return {
        "time": _time(event.at_ms),
        "actor": _actor(event.actor),
        "kind": event.kind,
        "from": event.from_value,
        "to": event.to_value,
    }


def staff_shape(member: StaffMember) -> dict[str, Any]:
    return {
        "name": member.name,
        "email": member.email,
        "role": member.role,
        "active": member.active,
        "timeCreated": _time(member.created_ms),
        "timeDisabled": _time(member.disabled_ms),
    }


def token_shape(token: StaffToken) -> dict[str, Any]:
    return {
        "tokenId": token.token_id,
        "staffName": token.staff_name,
        "timeCreated": _time(token.created_ms),
        "timeRevoked": _time(token.revoked_ms),
        "active": token.revoked_ms is None,
    }


def _hit_shape(ctx: Context, hit: SearchHit, now_ms: int) -> dict[str, Any]:
    highlights = []
    for h in hit.highlights:
        text, spans = search.split_marks(h.marked)
        item: dict[str, Any] = {"field": h.field, "text": text, "matches": [list(s) for s in spans]}
        if h.field == search.COMMUNICATION:
            item["communicationId"] = h.communication_seq
            item["authorKind"] = h.author_kind
            item["timeCreated"] = _time(h.created_ms)
        highlights.append(item)
    return {
        "case": case_shape(ctx, hit.case, now_ms),
        "score": hit.score,
        "highlights": highlights,
    }


# --- parameters ----------------------------------------------------------------------------


def _one(params: Params, name: str) -> str | None:
    values = params.get(name) or ()
    if len(values) > 1:
        raise _bad(f"give {name} once")
    return values[0] if values else None


def _many(params: Params, name: str) -> list[str]:
    return [v.strip() for value in params.get(name) or () for v in value.split(",") if v.strip()]


def _limit(params: Params, default: int) -> int:
    text = _one(params, "limit")
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        raise _bad(f"limit must be a whole number from 1 to {MAX_PAGE}")
    return int(text)


def _statuses(params: Params, default: tuple[str, ...] | None) -> tuple[str, ...] | None:
    wanted = _many(params, "status")
    if not wanted:
        return default
    if "all" in wanted:
        return None
    if "open" in wanted:
        wanted = [s for s in wanted if s != "open"] + sorted(lifecycle.OPEN_STATUSES)
    unknown = [s for s in wanted if s not in lifecycle.STATUSES]
    if unknown:
        raise _bad(
            f"unknown status {unknown[0]!r}; statuses are {', '.join(sorted(lifecycle.STATUSES))},"
            " or open, or all"
        )
    return tuple(sorted(set(wanted)))


def _account(params: Params) -> str | None:
    account = _one(params, "account")
    if account is not None and not _ACCOUNT.match(account):
        raise _bad("account must be a 12-digit account id")
    return account


def _time_param(params: Params, name: str) -> int | None:
    value = _one(params, name)
    if value is None:
        return None
    try:
        return clock.parse_rfc3339_filter(value)
    except InvalidTime:
        raise _bad(
            f"{name} must be a date (YYYY-MM-DD) or an RFC 3339 time (2026-05-01T09:30:00Z)"
        ) from None


def _scope(*parts: object) -> str:
    return hashlib.blake2s(repr(parts).encode(), digest_size=8).hexdigest()


def _decode(token: str | None, kind: str, scope: str, size: int) -> tuple[int, ...] | None:
    if token is None:
        return None
    try:
        return staff.decode_cursor(token, kind, scope, size)
    except InvalidToken:
        raise _bad(
            "invalid nextToken (it belongs to another query, or was altered)", "invalid_token"
        ) from None


OPEN_BY_DEFAULT = tuple(sorted(lifecycle.OPEN_STATUSES))


def case_query(
    ctx: Context, actor: StaffMember | None, params: Params
) -> tuple[StaffCaseQuery, str]:
    """A StaffCaseQuery from query parameters (see the OpenAPI description), and the
    scope its page tokens are bound to."""
    catalogue = ctx.catalogue
    statuses = _statuses(params, OPEN_BY_DEFAULT)
    severity = _one(params, "severity")
    if severity is not None and severity not in catalogue.severity_codes:
        raise _bad(f"unknown severity {severity!r}")
    language = _one(params, "language")
    if language is not None and language not in catalogue.language_codes:
        raise _bad(f"unknown language {language!r}")
    service = _one(params, "service")
    if service is not None and service not in catalogue.categories_by_service:
        raise _bad(f"unknown service {service!r}")
    category = _one(params, "category")
    if category is not None and not any(
        category in categories for categories in catalogue.categories_by_service.values()
    ):
        raise _bad(f"unknown category {category!r}")
    assignee = _one(params, "assignee")
    if assignee is not None and assignee not in ("none", "me") and not staff.valid_name(assignee):
        raise _bad(f"no staff member could be named {assignee!r}")
    unassigned = assignee == "none"
    if assignee == "me":
        if actor is None:
            raise _bad("assignee=me needs a staff token (locally: --assignee NAME)")
        assignee = actor.name
    if unassigned:
        assignee = None
    sla_state = _one(params, "sla")
    if sla_state is not None and sla_state not in staff.SLA_FILTERS:
        raise _bad(f"sla must be one of {', '.join(staff.SLA_FILTERS)}")
    sort = _one(params, "sort") or staff.SORT_SLA
    if sort not in staff.SORTS:
        raise _bad(f"sort must be one of {', '.join(staff.SORTS)}")
    after_ms = _time_param(params, "createdAfter")
    before_ms = _time_param(params, "createdBefore")
    account = _account(params)
    scope = _scope(
        statuses, account, severity, service, category, language, assignee, unassigned,
        sla_state, after_ms, before_ms, sort,
    )  # fmt: skip
    after = _decode(
        _one(params, "nextToken"), f"staff-{sort}", scope, 2 if sort == staff.SORT_SLA else 1
    )
    query = StaffCaseQuery(
        limit=_limit(params, DEFAULT_PAGE),
        now_ms=ctx.clock.now_ms(),
        statuses=statuses,
        account_id=account,
        severity=severity,
        service_code=service,
        category_code=category,
        language=language,
        assignee=assignee,
        unassigned=unassigned,
        sla_state=sla_state,
        created_after_ms=after_ms,
        created_before_ms=before_ms,
        sort=sort,
        after=after,
    )
    return query, scope


# --- reading ------------------------------------------------------------------------------


async def list_cases(ctx: Context, actor: StaffMember | None, params: Params) -> dict[str, Any]:
    query, scope = case_query(ctx, actor, params)
    limit = query.limit
    rows = await ctx.store.staff_list_cases(dataclasses.replace(query, limit=limit + 1))
    page = rows[:limit]
    result: dict[str, Any] = {"cases": [case_shape(ctx, c, query.now_ms) for c in page]}
    if len(rows) > limit:
        last = page[-1]
        keys = (
            (staff.due_key(last.work), last.case.seq)
            if query.sort == staff.SORT_SLA
            else (last.case.seq,)
        )
        result["nextToken"] = staff.encode_cursor(f"staff-{query.sort}", scope, keys)
    return result


def search_query(params: Params) -> tuple[SearchQuery, str]:
    """A SearchQuery from query parameters (see the OpenAPI description), and the scope
    its page tokens are bound to."""
    text = _one(params, "q")
    if text is None or not text.strip():
        raise _bad("q (the words to search for) is required", "empty_query")
    try:
        terms = search.parse(text)
    except InvalidSearch as exc:
        raise _bad(str(exc), "invalid_query") from None
    account = _account(params)
    statuses = _statuses(params, None)
    limit = _limit(params, DEFAULT_SEARCH_PAGE)
    scope = _scope(terms, account, statuses)
    # Ranked results page by position: a page may shift when new matches arrive.
    offset = _decode(_one(params, "nextToken"), "staff-search", scope, 1)
    start = offset[0] if offset else 0
    return SearchQuery(terms, limit, start, account_id=account, statuses=statuses), scope


async def search_cases(ctx: Context, actor: StaffMember | None, params: Params) -> dict[str, Any]:
    query, scope = search_query(params)
    limit, start = query.limit, query.offset
    found = await ctx.store.search_cases(dataclasses.replace(query, limit=limit + 1))
    hits = found.hits
    now = ctx.clock.now_ms()
    result: dict[str, Any] = {
        "results": [_hit_shape(ctx, h, now) for h in hits[:limit]],
        "truncated": found.truncated,
    }
    if len(hits) > limit:
        result["nextToken"] = staff.encode_cursor("staff-search", scope, (start + limit,))
    return result


async def find_case(ctx: Context, ref: str) -> StaffCase:
    """A case by its case id or its display id."""
    ref = ref.strip()
    found: StaffCase | None = None
    if ref.isascii() and ref.isdigit():
        seq = ids.seq_from_display_id(ref)
        if seq is not None:
            found = await ctx.store.staff_get_case(seq=seq)
    elif ids.is_case_id(ref):
        found = await ctx.store.staff_get_case(case_id=ref)
    if found is None:
        raise _case_not_found(ref)
    return found


async def show_case(ctx: Context, actor: StaffMember | None, ref: str) -> dict[str, Any]:
    found = await find_case(ctx, ref)
    seq = found.case.seq
    return {
        "case": case_shape(ctx, found, ctx.clock.now_ms()),
        "communications": [_thread_shape(e) for e in await ctx.store.case_thread(seq)],
        "notes": [_note_shape(n) for n in await ctx.store.case_notes(seq)],
        "history": [_event_shape(e) for e in await ctx.store.case_history(seq)],
    }


# --- changing cases -------------------------------------------------------------------------


def _body_text(body: Mapping[str, Any], what: str) -> str:
    text = body.get("body")
    if text is None:
        raise _bad(f"the {what} needs a body", "empty_body")
    if not isinstance(text, str):
        raise _bad(f"the {what}'s body must be a string")
    if not text.strip(staff.BLANK):
        raise _bad(f"the {what}'s body must not be empty", "empty_body")
    if len(text) > staff.MAX_BODY_CHARS:
        raise _bad(
            f"the {what}'s body has {len(text)} characters; at most {staff.MAX_BODY_CHARS}"
            " are allowed",
            "body_too_long",
        )
    if "\x00" in text:
        raise _bad(f"the {what}'s body must not contain the NUL character (U+0000)")
    return text


def _status_param(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in lifecycle.STATUSES:
        raise _bad(
            f"unknown status {value!r}; statuses are {', '.join(sorted(lifecycle.STATUSES))}"
        )
    return value


def _acting(actor: StaffMember | None, as_name: str | None) -> str:
    if actor is not None:
        return actor.name
    if not as_name:
        raise _bad("say which staff member acts (--as NAME)", "actor_required")
    return as_name


async def _act(
    ctx: Context,
    actor: StaffMember | None,
    ref: str,
    kind: str,
    as_name: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    name = _acting(actor, as_name)
    if actor is None:
        await _active_staff(ctx, name)
    found = await find_case(ctx, ref)
    now = ctx.clock.now_ms()
    action = StaffAction(
        kind=kind,
        staff_name=name,
        now_ms=now,
        display_name=ctx.config.support_display_name,
        calendar=sla_policy(ctx.config).calendar,
        **fields,
    )
    try:
        done = await ctx.store.apply_staff_action(found.case.seq, action)
    except IllegalTransition as exc:
        raise StaffError(409, "illegal_transition", str(exc)) from None
    if done is None:
        raise _case_not_found(ref)
    case, outcome = done
    result: dict[str, Any] = {
        "case": case_shape(ctx, case, now),
        "changed": outcome.changed,
    }
    if outcome.status_change is not None:
        result["statusChange"] = {"from": outcome.status_change[0], "to": outcome.status_change[1]}
    return result


def _reply_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    return {"body": _body_text(body, "reply"), "status": _status_param(body.get("status"))}


def _note_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    return {"body": _body_text(body, "note")}


def _assign_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """The assignee as given (a name, "me", "none", "" or None)."""
    if "assignee" not in body:
        raise _bad('give assignee: a staff member\'s name, "me", or null to unassign')
    assignee = body["assignee"]
    if assignee is not None and not isinstance(assignee, str):
        raise _bad("assignee must be a staff member's name or null")
    return {"assignee": assignee}


async def _settle_assignee(ctx: Context, acting: str, fields: dict[str, Any]) -> dict[str, Any]:
    assignee = fields["assignee"]
    if assignee == "me":
        assignee = acting
    if assignee in ("", "none"):
        assignee = None
    if assignee is not None:
        await _active_staff(ctx, assignee)
    return {"assignee": assignee}


def _status_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    status = _status_param(body.get("status"))
    if status is None:
        raise _bad("give the status to set")
    return {"status": status}


@dataclasses.dataclass(frozen=True, slots=True)
class CaseAction:
    """A change staff make to a case, called as `action(ctx, actor, ref, body, as_name)`.
    `fields` checks a body alone (the staff API runs it before anything else, so a wrong
    body is refused whatever the case) and gives the StaffAction's own fields; `settle`,
    if any, resolves them against the store for the member acting."""

    kind: str
    fields: Callable[[Mapping[str, Any]], dict[str, Any]]
    settle: Callable[[Context, str, dict[str, Any]], Awaitable[dict[str, Any]]] | None = None

    async def __call__(
        self,
        ctx: Context,
        actor: StaffMember | None,
        ref: str,
        body: Mapping[str, Any] | None = None,
        as_name: str | None = None,
    ) -> dict[str, Any]:
        fields = self.fields(body or {})
        if self.settle is not None:
            fields = await self.settle(ctx, _acting(actor, as_name), fields)
        return await _act(ctx, actor, ref, self.kind, as_name, **fields)


reply = CaseAction(staff.REPLY, _reply_fields)
add_note = CaseAction(staff.NOTE, _note_fields)
assign = CaseAction(staff.ASSIGN, _assign_fields, _settle_assignee)
set_status = CaseAction(staff.SET_STATUS, _status_fields)
resolve = CaseAction(staff.RESOLVE, lambda body: {})


# --- staff and tokens ---------------------------------------------------------------------


async def list_staff(ctx: Context, actor: StaffMember | None) -> dict[str, Any]:
    return {"staff": [staff_shape(m) for m in await ctx.store.list_staff()]}


async def create_staff(
    ctx: Context, actor: StaffMember | None, body: Mapping[str, Any]
) -> dict[str, Any]:
    require_admin(actor)
    name, email, role = new_staff_input(body)
    member = StaffMember(name, email, role, ctx.clock.now_ms())
    try:
        await ctx.store.create_staff(member)
    except staff.StaffExists:
        raise StaffError(409, "staff_exists", f"staff member {name!r} exists already") from None
    return {"staff": staff_shape(member)}


def new_staff_input(body: Mapping[str, Any]) -> tuple[str, str, str]:
    """A new staff member's name, e-mail address and role; StaffError if one is wrong."""
    name, email, role = body.get("name"), body.get("email"), body.get("role", staff.AGENT)
    if not isinstance(name, str) or not staff.valid_name(name):
        raise _bad(
            "name: 1 to 63 lower-case letters, digits, '.', '_' or '-', starting with a letter"
            " or digit (not 'none' or 'me')"
        )
    if not isinstance(email, str) or not is_valid_email(email):
        raise _bad("email: a valid e-mail address is required")
    if not isinstance(role, str) or role not in staff.ROLES:
        raise _bad(f"role must be one of {', '.join(staff.ROLES)}")
    return name, email, role


async def set_staff_active(
    ctx: Context, actor: StaffMember | None, name: str, active: bool
) -> dict[str, Any]:
    require_admin(actor)
    if actor is not None and actor.name == name and not active:
        raise StaffError(409, "cannot_disable_self", "staff cannot disable themselves")
    before = await ctx.store.get_staff(_name(name))
    if before is None:
        raise _staff_not_found(name)
    now = ctx.clock.now_ms()
    member = await ctx.store.set_staff_disabled(before.name, None if active else now)
    if member is None:
        raise _staff_not_found(name)
    # State first, then the tokens: a token made in between is caught by create_token's
    # second look (and a token is refused while its member is disabled anyway).
    tokens = await ctx.store.list_staff_tokens(member.name)
    for token in staff.tokens_ended_by(before.active, member.active, tokens):
        await ctx.store.revoke_staff_token(token.token_id, now)
    if not active:
        # Their console sessions end too (each console request also checks the member
        # is active, so none still in flight acts for them).
        await ctx.store.delete_web_sessions(web_sessions.STAFF, member.name)
    return {"staff": staff_shape(member)}


async def create_token(ctx: Context, actor: StaffMember | None, name: str) -> dict[str, Any]:
    if actor is not None and actor.name != name:
        require_admin(actor)
    member = await _active_staff(ctx, name)
    text, token = staff.new_token(name, ctx.clock.now_ms())
    await ctx.store.create_staff_token(token)
    # Disabled meanwhile: that disabling may have listed the tokens before this one.
    after = await ctx.store.get_staff(member.name)
    if after is None or not after.active:
        await ctx.store.revoke_staff_token(token.token_id, ctx.clock.now_ms())
        raise _disabled(name)
    return {**token_shape(token), "token": text}


async def list_tokens(
    ctx: Context, actor: StaffMember | None, name: str | None = None
) -> dict[str, Any]:
    if actor is not None and actor.name != name:
        require_admin(actor)
    if name is not None and await ctx.store.get_staff(_name(name)) is None:
        raise _staff_not_found(name)
    return {"tokens": [token_shape(t) for t in await ctx.store.list_staff_tokens(name)]}


async def revoke_token(ctx: Context, actor: StaffMember | None, token_id: str) -> dict[str, Any]:
    found = await ctx.store.get_staff_token(token_id) if _TOKEN_ID.match(token_id) else None
    if found is None:
        raise StaffError(404, "token_not_found", f"no staff token {token_id!r}")
    if actor is not None and actor.name != found[0].staff_name:
        require_admin(actor)
    token = await ctx.store.revoke_staff_token(token_id, ctx.clock.now_ms())
    assert token is not None
    return {"token": token_shape(token)}


# --- auto-resolve ---------------------------------------------------------------------------


async def auto_resolve(ctx: Context, job: Job | None = None) -> int:
    """Resolve every case left waiting on the customer longer than the setting allows;
    how many. A periodic task: it runs once per period across every node."""
    hours = ctx.config.auto_resolve_after_hours
    if hours <= 0:
        return 0
    now = ctx.clock.now_ms()
    total = 0
    while True:
        resolved = await ctx.store.auto_resolve(now - hours * HOUR_MS, now, AUTO_RESOLVE_BATCH)
        total += len(resolved)
        for case_id in resolved:
            log.info("auto-resolved %s (pending customer action for %d hours)", case_id, hours)
        if len(resolved) < AUTO_RESOLVE_BATCH:
            return total


async def _auto_resolve_job(ctx: Context, job: Job) -> None:
    await auto_resolve(ctx, job)


register_periodic("auto-resolve", AUTO_RESOLVE_INTERVAL_S, _auto_resolve_job, timeout_s=300.0)


async def _index_search_job(ctx: Context, job: Job) -> None:
    # Searches index what is new before they run; this keeps that little.
    await ctx.store.index_search()


register_periodic("search-index", SEARCH_INDEX_INTERVAL_S, _index_search_job, timeout_s=300.0)
