"""The staff API's requests and responses as msgspec Structs.

One description serves twice: staff_api decodes every request body and query with these
types (so what the server accepts is what the schema says), and staff_openapi generates
/staff/api/openapi.json from them (msgspec.json.schema_components). Constraints live in
the types: patterns, ranges, enums, `forbid_unknown_fields` (`additionalProperties:
false`).

Patterns are written so that Python's `re` (msgspec, the server) and ECMA-262 (JSON
Schema, the clients) read them alike: character classes spelled out (`[0-9]`, never `\\d`
or `\\s`, which the two expand differently) and no reliance on `$` alone where a final
newline would matter (the operations check those values again, whole-string).

What JSON Schema cannot say is said in the descriptions and checked by the operations:
a page token must be one the server issued; a search must name a word; a reserved name
(`none`, `me`) is not a staff member's name. Literal types spell out the domain's
tuples; tests/unit/test_staff_schema.py checks that they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from msgspec import UNSET, Meta, Struct, UnsetType, field

from supportd.domain import staff
from supportd.operations.staff import MAX_PAGE

# --- values ------------------------------------------------------------------------------

Status = Literal[
    "unassigned",
    "work-in-progress",
    "pending-customer-action",
    "customer-action-completed",
    "opened",
    "reopened",
    "resolved",
]
Role = Literal["agent", "admin"]
SlaFilter = Literal["breaching", "running", "paused", "none"]
Sort = Literal["sla", "created"]
SlaTarget = Literal["first-response", "next-response"]
SlaState = Literal["running", "paused", "none"]
AuthorKind = Literal["customer", "support"]
ActorKind = Literal["customer", "staff", "system"]
HistoryKind = Literal["status", "assignment"]
HighlightField = Literal["subject", "communication"]
CheckStatus = Literal["ok", "warning", "error", "not_available"]
ResourceStatus = Literal["ok", "warning", "error"]
AdvisorSource = Literal["seeded", "computed"]

# A status filter's words: the statuses, and the two groups.
_STATUS_WORD = "|".join([*get_args(Status), "open", "all"])
# staff.BLANK as a character class.
_BLANK_CLASS = r" \t\n\r\x0b\x0c"
_NAME = r"[a-z0-9][a-z0-9._-]{0,62}"
_EMAIL = (
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
TIME_EXAMPLE = "2026-11-27T19:11:17.214Z"

AccountId = Annotated[str, Meta(pattern=r"^[0-9]{12}$", description="A 12-digit account id.")]
StaffName = Annotated[
    str,
    Meta(
        pattern=f"^{_NAME}$",
        description="1 to 63 lower-case letters, digits, `.`, `_` or `-`, starting with a"
        " letter or digit; not `none` or `me`.",
        extra_json_schema={"not": {"enum": sorted(staff.RESERVED_NAMES)}},
    ),
]
Email = Annotated[
    str, Meta(max_length=254, pattern=f"^{_EMAIL}$", description="An e-mail address.")
]
Text = Annotated[
    str,
    Meta(
        max_length=staff.MAX_BODY_CHARS,
        pattern=f"^[{_BLANK_CLASS}]*[^\\x00{_BLANK_CLASS}][^\\x00]*$",
        description=f"At most {staff.MAX_BODY_CHARS} characters, not only blanks, no NUL.",
    ),
]
Assignee = Annotated[
    str,
    Meta(
        pattern=f"^(?:|me|none|{_NAME})$",
        description="A staff member's name, `me`, or `none` / empty to unassign.",
    ),
]
AssigneeFilter = Annotated[
    str,
    Meta(
        pattern=f"^(?:me|none|{_NAME})$",
        description="A staff member's name, `me`, or `none` (nobody assigned).",
    ),
]
Time = Annotated[str, Meta(description="UTC, with milliseconds.", examples=[TIME_EXAMPLE])]
TimeFilter = Annotated[
    str,
    Meta(
        description="A date (`YYYY-MM-DD`, midnight UTC) or an RFC 3339 time.",
        extra_json_schema={"anyOf": [{"format": "date"}, {"format": "date-time"}]},
    ),
]
StatusList = Annotated[
    str,
    Meta(
        pattern=f"^(?:{_STATUS_WORD})(?:,(?:{_STATUS_WORD}))*$",
        description="A status, `open` (every open status) or `all`; several may be given"
        " comma-separated.",
    ),
]
PageSize = Annotated[int, Meta(ge=1, le=MAX_PAGE)]
PageToken = Annotated[
    str,
    Meta(
        description="The previous page's nextToken, as the server issued it (a token of"
        " another query, or altered, is refused: 400 invalid_token)."
    ),
]
Count = Annotated[int, Meta(ge=0, le=2**63 - 1)]
Amount = Annotated[float, Meta(ge=0)]
NonEmpty = Annotated[str, Meta(min_length=1, pattern=r"^[^\x00]*$")]


class _Shape(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Every object of the staff API: no member besides those declared."""


# --- requests: query parameters ------------------------------------------------------------


class CaseListQuery(_Shape, rename="camel"):
    status: list[StatusList] | UnsetType = UNSET  # default: the open statuses
    account: AccountId | UnsetType = UNSET
    severity: str | UnsetType = UNSET  # enum: the reference data's (staff_openapi)
    service: str | UnsetType = UNSET
    category: str | UnsetType = UNSET
    language: str | UnsetType = UNSET
    assignee: AssigneeFilter | UnsetType = UNSET
    sla: SlaFilter | UnsetType = UNSET
    created_after: TimeFilter | UnsetType = UNSET
    created_before: TimeFilter | UnsetType = UNSET
    sort: Sort | UnsetType = UNSET
    limit: PageSize | UnsetType = UNSET
    next_token: PageToken | UnsetType = UNSET


class SearchQuery(_Shape, rename="camel"):
    q: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=500,
            description='Words (all must occur), "quoted phrases", and -excluded terms;'
            " English stemming. At least one word to look for (letters or digits outside"
            " an excluded term), at most 16 terms: else 400 invalid_query.",
        ),
    ]
    account: AccountId | UnsetType = UNSET
    status: list[StatusList] | UnsetType = UNSET  # default: every status
    limit: PageSize | UnsetType = UNSET
    next_token: PageToken | UnsetType = UNSET


QUERY_DESCRIPTIONS = {
    "status": "Statuses to list (repeat, or comma-separated); `open` for every open status,"
    " `all` for every status. Default: the open statuses (search: every status).",
    "severity": "A severity code.",
    "service": "A service code.",
    "category": "A category code.",
    "language": "A case language code.",
    "sla": "`breaching` (running past its due time), `running` (not yet due), `paused`"
    " (waiting on the customer) or `none`.",
    "sort": "`sla`: by due time, soonest first, cases without a running clock last"
    " (default); `created`: newest first.",
    "limit": "Page size, 1..100 (default 50; search: 20).",
}


# --- requests: bodies ---------------------------------------------------------------------


class Reply(_Shape):
    body: Text
    status: Status | UnsetType | None = UNSET  # default: pending-customer-action


class Note(_Shape):
    body: Text


class Assign(_Shape):
    assignee: Assignee | None


class SetStatus(_Shape):
    status: Status


class Empty(_Shape):
    pass


class NewStaff(_Shape):
    name: StaffName
    email: Email
    role: Role = "agent"


class AdvisorResourceSeed(_Shape, rename="camel"):
    status: ResourceStatus
    resource_id: NonEmpty
    metadata: Annotated[
        list[Annotated[str, Meta(pattern=r"^[^\x00]*$")]],
        Meta(description="One value per column of the check (an empty string: no value)."),
    ]
    region: NonEmpty | UnsetType | None = UNSET
    is_suppressed: bool | UnsetType = UNSET


class ResourceCounts(_Shape, rename="camel"):
    resources_processed: Count | UnsetType = UNSET
    resources_flagged: Count | UnsetType = UNSET
    resources_ignored: Count | UnsetType = UNSET
    resources_suppressed: Count | UnsetType = UNSET


class CostOptimizingSeed(_Shape, rename="camel"):
    estimated_monthly_savings: Amount | UnsetType = UNSET
    estimated_percent_monthly_savings: Amount | UnsetType = UNSET


class CategorySummarySeed(_Shape, rename="camel"):
    cost_optimizing: CostOptimizingSeed | UnsetType = UNSET


class AdvisorSeed(_Shape, rename="camel"):
    """The `result` of DescribeTrustedAdvisorCheckResult as `supportd advisor set-result`
    takes it: only flaggedResources is needed (status: the worst unsuppressed resource's;
    timestamp: now; counts: what the list holds). Each resource has one metadata value per
    column of the check; costOptimizing is for cost-optimizing checks only."""

    check_id: str | UnsetType = UNSET
    status: CheckStatus | UnsetType = UNSET
    timestamp: (
        Annotated[
            str,
            Meta(
                pattern=r"^(?:19[7-9][0-9]|[2-9][0-9]{3})-",
                extra_json_schema={"format": "date-time"},
                description="An RFC 3339 time from 1970 to 9999.",
            ),
        ]
        | UnsetType
    ) = UNSET
    resources_summary: ResourceCounts | UnsetType = UNSET
    category_specific_summary: CategorySummarySeed | UnsetType = UNSET
    flagged_resources: list[AdvisorResourceSeed] | UnsetType = UNSET


class WrappedAdvisorSeed(_Shape):
    """The same seed wrapped as the AWS CLI prints it: {"result": {...}}."""

    result: AdvisorSeed


# --- responses ----------------------------------------------------------------------------


class ErrorDetail(_Shape):
    code: str
    message: str


class Error(_Shape):
    error: ErrorDetail


class Sla(_Shape, rename="camel"):
    """The case's SLA clock: the outstanding response target, if any."""

    target: SlaTarget | None
    state: SlaState
    due_time: Time | None
    remaining_ms: Annotated[
        int | None, Meta(description="Business time left while paused (negative: overdue).")
    ]
    breached: bool


class Case(_Shape, rename="camel"):
    case_id: str
    display_id: str
    account_id: str
    subject: str
    status: Status
    severity_code: str
    service_code: str | None
    category_code: str | None
    language: str
    issue_type: str
    submitted_by: str
    cc_email_addresses: list[str]
    time_created: Time | None
    time_resolved: Time | None
    assignee: str | None
    sla: Sla
    auto_resolve_time: Time | None


class CaseList(_Shape, rename="camel"):
    cases: list[Case]
    next_token: str | UnsetType = UNSET


class Highlight(_Shape, rename="camel"):
    field: HighlightField
    text: str
    matches: Annotated[
        list[tuple[int, int]],
        Meta(description="[start, end) character offsets of each match in text."),
    ]
    communication_id: int | UnsetType = UNSET
    author_kind: AuthorKind | UnsetType = UNSET
    time_created: Time | UnsetType | None = UNSET


class SearchResult(_Shape):
    case: Case
    score: Annotated[float, Meta(description="Higher is better.")]
    highlights: list[Highlight]


class SearchResults(_Shape, rename="camel"):
    results: list[SearchResult]
    next_token: str | UnsetType = UNSET
    truncated: (
        Annotated[bool, Meta(description="True when the search stopped early: more may match.")]
        | UnsetType
    ) = UNSET


DeliveryStatus = Literal["pending", "delivered", "failed"]
Channel = Literal["email", "webhook", "eventbridge"]


class Delivery(_Shape, rename="camel"):
    id: int
    channel: Channel
    target: str
    recipients: list[str]
    idempotency_key: str
    message_id: str | None
    status: DeliveryStatus
    attempts: int
    next_attempt: Time | None
    last_result: str | None
    created: Time | None
    updated: Time | None
    delivered: Time | None


class NotificationEvent(_Shape, rename="camel"):
    event_id: str
    event_name: str
    origin: str
    created: Time | None
    fanned_out: Time | None
    deliveries: list[Delivery]


class CaseDeliveries(_Shape, rename="camel"):
    case_id: str
    display_id: str
    events: Annotated[
        list[NotificationEvent],
        Meta(description="The case's notifications, each with what went to whom and when."),
    ]


class Communication(_Shape, rename="camel"):
    id: int
    author_kind: AuthorKind
    submitted_by: str
    staff_name: str | None
    body: str
    time_created: Time | None


class CaseNote(_Shape, rename="camel"):
    id: int
    staff_name: str
    body: str
    time_created: Time | None


class Actor(_Shape):
    kind: ActorKind
    name: str


class HistoryEvent(_Shape):
    time: Time | None
    actor: Actor
    kind: HistoryKind
    from_: str | None = field(name="from")
    to: str | None


class CaseDetail(_Shape):
    case: Case
    communications: Annotated[
        list[Communication], Meta(description="The whole thread, oldest first.")
    ]
    notes: Annotated[list[CaseNote], Meta(description="Internal notes: never shown to customers.")]
    history: Annotated[
        list[HistoryEvent], Meta(description="Every status change and assignment, oldest first.")
    ]


class StatusChange(_Shape):
    from_: Status = field(name="from")
    to: Status


class ActionResult(_Shape, rename="camel"):
    case: Case
    changed: bool
    status_change: StatusChange | UnsetType = UNSET


class StaffMember(_Shape, rename="camel"):
    name: str
    email: str
    role: Role
    active: bool
    time_created: Time | None
    time_disabled: Time | None


class StaffResult(_Shape):
    staff: StaffMember


class StaffList(_Shape):
    staff: list[StaffMember]


class Token(_Shape, rename="camel"):
    token_id: str
    staff_name: str
    time_created: Time | None
    time_revoked: Time | None
    active: bool


class NewToken(Token):
    token: Annotated[str, Meta(description="The token itself: shown this once, stored hashed.")]


class TokenList(_Shape):
    tokens: list[Token]


class TokenResult(_Shape):
    token: Token


class AdvisorResult(_Shape, rename="camel"):
    account_id: str
    source: AdvisorSource | None
    result: Annotated[
        dict[str, Any], Meta(description="As DescribeTrustedAdvisorCheckResult's `result`.")
    ]


class AdvisorCleared(_Shape, rename="camel"):
    account_id: str
    check_id: str
    deleted: bool


# --- the operations ------------------------------------------------------------------------

# Path parameters by name: their types (and so their schemas).
PATH_PARAMETERS: dict[str, Any] = {
    "case": Annotated[str, Meta(description="The case id (`case-...`) or the display id.")],
    "name": Annotated[str, Meta(description="The staff member's name (`me`: the caller).")],
    "token": Annotated[str, Meta(description="The token id.")],
    "account": AccountId,
    "check": Annotated[
        str, Meta(description="A Trusted Advisor check id (DescribeTrustedAdvisorChecks).")
    ],
}


@dataclass(frozen=True, slots=True)
class Operation:
    """One method on one path: what it takes and what it answers."""

    method: str  # lower case, as OpenAPI spells it
    path: str  # below /staff/api, with {parameters}
    summary: str
    result: type[Struct]
    body: tuple[type[Struct], ...] = ()  # the body's accepted shapes, in order
    body_required: bool = True
    body_code: str = "invalid_parameter"  # the error code of a body its shapes refuse
    query: type[Struct] | None = None
    description: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


CASE = "/cases/{case}"
ADVISOR = "/advisor/{account}/{check}"

OPERATIONS: tuple[Operation, ...] = (
    Operation("get", "/me", "The staff member the token belongs to.", StaffResult),
    Operation(
        "get",
        "/cases",
        "List cases of every account.",
        CaseList,
        query=CaseListQuery,
        description="Keyset-paginated; sorted by SLA due time by default.",
    ),
    Operation(
        "get",
        "/search",
        "Full-text search over subjects and communications, ranked, with highlights.",
        SearchResults,
        query=SearchQuery,
    ),
    Operation("get", CASE, "A case with its whole thread, internal notes and history.", CaseDetail),
    Operation(
        "get",
        f"{CASE}/deliveries",
        "The case's notifications: what went to whom, when, and the result.",
        CaseDeliveries,
    ),
    Operation(
        "post",
        f"{CASE}/reply",
        "Reply as support: customers see the configured display name.",
        ActionResult,
        body=(Reply,),
        description="Stops the SLA clock; assigns an unassigned case to the replier."
        " Refused (409) on a resolved case.",
    ),
    Operation(
        "post",
        f"{CASE}/notes",
        "Add an internal note (customers never see it).",
        ActionResult,
        body=(Note,),
    ),
    Operation(
        "post",
        f"{CASE}/assign",
        "Assign or unassign; assigning an unassigned case moves it to work-in-progress.",
        ActionResult,
        body=(Assign,),
    ),
    Operation(
        "post",
        f"{CASE}/status",
        "Set the status (see docs/lifecycle.md for what is allowed).",
        ActionResult,
        body=(SetStatus,),
        description="Staff may set work-in-progress, pending-customer-action, opened and"
        " resolved; any other status, or a move the lifecycle forbids, is 409"
        " illegal_transition.",
    ),
    Operation(
        "post",
        f"{CASE}/resolve",
        "Resolve the case (resolving a resolved case changes nothing).",
        ActionResult,
        body=(Empty,),
        body_required=False,
    ),
    Operation("get", "/staff", "Every staff member.", StaffList),
    Operation("post", "/staff", "Create a staff member (admins).", StaffResult, body=(NewStaff,)),
    Operation(
        "post",
        "/staff/{name}/disable",
        "Disable a staff member: their tokens stop working (admins).",
        StaffResult,
    ),
    Operation("post", "/staff/{name}/enable", "Enable a staff member again (admins).", StaffResult),
    Operation(
        "get",
        "/staff/{name}/tokens",
        "A staff member's tokens (their own, or any for admins).",
        TokenList,
    ),
    Operation(
        "post",
        "/staff/{name}/tokens",
        "Create a token; the response holds it, once (own, or any for admins).",
        NewToken,
    ),
    Operation(
        "post", "/tokens/{token}/revoke", "Revoke a token (own, or any for admins).", TokenResult
    ),
    Operation(
        "get",
        ADVISOR,
        "An account's Trusted Advisor result of a check (not_available if none).",
        AdvisorResult,
    ),
    Operation(
        "put",
        ADVISOR,
        "Seed the account's result of the check, replacing the one it has.",
        AdvisorResult,
        body=(AdvisorSeed, WrappedAdvisorSeed),
        body_code="invalid_result",
        description="The body is the `result` member of DescribeTrustedAdvisorCheckResult"
        " without `checkId` (as `supportd advisor set-result` takes it), or that member"
        ' wrapped as `{"result": ...}`. See docs/compatibility.md.',
    ),
    Operation(
        "delete",
        ADVISOR,
        "Forget the account's result of the check (not_available again).",
        AdvisorCleared,
    ),
)

# The staff API's error codes by HTTP status (the `Error` body's `code`).
ERROR_CODES: dict[int, str] = {
    400: "Bad input: `invalid_parameter`, `invalid_json`, `invalid_result`, `empty_body`,"
    " `body_too_long`, `invalid_token` (a page token), `empty_query`, `invalid_query`,"
    " `actor_required`.",
    401: "No usable token: `missing_token`, `invalid_token`, `revoked_token`,"
    " `staff_disabled`, `customer_credentials` (an AWS access key).",
    403: "`admin_required`.",
    404: "`case_not_found`, `staff_not_found`, `token_not_found`, `check_not_found`.",
    409: "`illegal_transition`, `staff_exists`, `staff_disabled`, `cannot_disable_self`.",
    413: "`body_too_large`.",
    500: "`internal_error` (the log has the details, under the request id).",
    503: "`service_unavailable`: the store cannot be reached or its disk is full; try again"
    " later (`Retry-After`).",
}
