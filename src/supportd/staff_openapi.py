"""The OpenAPI 3.1 description of the staff API, served at /staff/api/openapi.json.

Written out by hand next to the routes it describes; a test checks that every route
of supportd.staff_api appears here and nothing else does.
"""

from __future__ import annotations

import functools
from typing import Any

from supportd import __version__
from supportd.domain import lifecycle, sla, staff

STATUSES = sorted(lifecycle.STATUSES)
SETTABLE = sorted(lifecycle.STAFF_SETTABLE)
TIME = {"type": ["string", "null"], "example": "2026-11-27T19:11:17.214Z"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


CASE_PARAM = _path("case", "The case id (`case-...`) or the display id.")

ERRORS = {
    "400": "Bad input: `invalid_parameter`, `invalid_json`, `invalid_result`, `empty_body`,"
    " `body_too_long`,"
    " `invalid_token` (a page token), `empty_query`, `invalid_query`, `actor_required`.",
    "401": "No usable token: `missing_token`, `invalid_token`, `revoked_token`,"
    " `staff_disabled`, `customer_credentials` (an AWS access key).",
    "403": "`admin_required`.",
    "404": "`case_not_found`, `staff_not_found`, `token_not_found`, `check_not_found`,"
    " `not_found`.",
    "409": "`illegal_transition`, `staff_exists`, `staff_disabled`, `cannot_disable_self`.",
    "413": "`body_too_large`.",
}


def _operation(
    summary: str,
    result: str,
    *,
    params: list[dict[str, Any]] | None = None,
    body: str | None = None,
    description: str = "",
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": params or [],
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": _ref(result)}},
            },
            **{
                code: {
                    "description": text,
                    "content": {"application/json": {"schema": _ref("Error")}},
                }
                for code, text in ERRORS.items()
            },
        },
    }
    if description:
        operation["description"] = description
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return operation


LIST_PARAMS = [
    _query(
        "status",
        "Statuses to list (repeat, or comma-separated); `open` for every open status, `all`"
        " for every status. Default: the open statuses.",
    ),
    _query("account", "A 12-digit account id."),
    _query("severity", "A severity code.", enum=list(sla.SEVERITIES)),
    _query("service", "A service code."),
    _query("category", "A category code."),
    _query("language", "A case language code."),
    _query("assignee", "A staff member's name, `me`, or `none` (nobody assigned)."),
    _query(
        "sla",
        "`breaching` (running past its due time), `running` (not yet due), `paused`"
        " (waiting on the customer) or `none`.",
        enum=list(staff.SLA_FILTERS),
    ),
    _query("createdAfter", "Created at or after: YYYY-MM-DD or an ISO-8601 time."),
    _query("createdBefore", "Created at or before: YYYY-MM-DD or an ISO-8601 time."),
    _query(
        "sort",
        "`sla`: by due time, soonest first, cases without a running clock last (default);"
        " `created`: newest first.",
        enum=list(staff.SORTS),
    ),
    _query("limit", "Page size, 1..100 (default 50).", type="integer", minimum=1, maximum=100),
    _query("nextToken", "The previous page's nextToken (keyset: stable under inserts)."),
]

SEARCH_PARAMS = [
    {
        "name": "q",
        "in": "query",
        "required": True,
        "description": 'Words (all must occur), "quoted phrases", and -excluded terms;'
        " English stemming.",
        "schema": {"type": "string", "maxLength": 500},
    },
    _query("account", "A 12-digit account id."),
    _query("status", "Statuses, as for the case list. Default: every status."),
    _query("limit", "Page size, 1..100 (default 20).", type="integer", minimum=1, maximum=100),
    _query("nextToken", "The previous page's nextToken."),
]


ADVISOR_PARAMS = [
    _path("account", "A 12-digit account id."),
    _path("check", "A Trusted Advisor check id (DescribeTrustedAdvisorChecks)."),
]


def _schemas() -> dict[str, Any]:
    nullable = {"type": ["string", "null"]}
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                }
            },
        },
        "Sla": {
            "type": "object",
            "description": "The case's SLA clock: the outstanding response target, if any.",
            "properties": {
                "target": {"enum": ["first-response", "next-response", None]},
                "state": {"enum": ["running", "paused", "none"]},
                "dueTime": TIME,
                "remainingMs": {
                    "type": ["integer", "null"],
                    "description": "Business time left while paused (negative: overdue).",
                },
                "breached": {"type": "boolean"},
            },
        },
        "Case": {
            "type": "object",
            "properties": {
                "caseId": {"type": "string"},
                "displayId": {"type": "string"},
                "accountId": {"type": "string"},
                "subject": {"type": "string"},
                "status": {"enum": STATUSES},
                "severityCode": {"type": "string"},
                "serviceCode": nullable,
                "categoryCode": nullable,
                "language": {"type": "string"},
                "issueType": {"type": "string"},
                "submittedBy": {"type": "string"},
                "ccEmailAddresses": {"type": "array", "items": {"type": "string"}},
                "timeCreated": TIME,
                "timeResolved": TIME,
                "assignee": nullable,
                "sla": _ref("Sla"),
                "autoResolveTime": TIME,
            },
        },
        "CaseList": {
            "type": "object",
            "properties": {
                "cases": {"type": "array", "items": _ref("Case")},
                "nextToken": {"type": "string"},
            },
        },
        "Highlight": {
            "type": "object",
            "properties": {
                "field": {"enum": ["subject", "communication"]},
                "text": {"type": "string"},
                "matches": {
                    "type": "array",
                    "description": "[start, end) character offsets of each match in text.",
                    "items": {"type": "array", "items": {"type": "integer"}},
                },
                "communicationId": {"type": "integer"},
                "authorKind": {"enum": ["customer", "support"]},
                "timeCreated": TIME,
            },
        },
        "SearchResults": {
            "type": "object",
            "properties": {
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "case": _ref("Case"),
                            "score": {"type": "number", "description": "Higher is better."},
                            "highlights": {"type": "array", "items": _ref("Highlight")},
                        },
                    },
                },
                "nextToken": {"type": "string"},
            },
        },
        "CaseDetail": {
            "type": "object",
            "properties": {
                "case": _ref("Case"),
                "communications": {
                    "type": "array",
                    "description": "The whole thread, oldest first.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "authorKind": {"enum": ["customer", "support"]},
                            "submittedBy": {"type": "string"},
                            "staffName": nullable,
                            "body": {"type": "string"},
                            "timeCreated": TIME,
                        },
                    },
                },
                "notes": {
                    "type": "array",
                    "description": "Internal notes: never shown to customers.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "staffName": {"type": "string"},
                            "body": {"type": "string"},
                            "timeCreated": TIME,
                        },
                    },
                },
                "history": {
                    "type": "array",
                    "description": "Every status change and assignment, oldest first.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "time": TIME,
                            "actor": {
                                "type": "object",
                                "properties": {
                                    "kind": {"enum": ["customer", "staff", "system"]},
                                    "name": {"type": "string"},
                                },
                            },
                            "kind": {"enum": ["status", "assignment"]},
                            "from": nullable,
                            "to": nullable,
                        },
                    },
                },
            },
        },
        "ActionResult": {
            "type": "object",
            "properties": {
                "case": _ref("Case"),
                "changed": {"type": "boolean"},
                "statusChange": {
                    "type": "object",
                    "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
                },
            },
        },
        "Reply": {
            "type": "object",
            "required": ["body"],
            "properties": {
                "body": {"type": "string", "minLength": 1, "maxLength": staff.MAX_BODY_CHARS},
                "status": {
                    "enum": SETTABLE,
                    "description": "The status afterwards (default pending-customer-action).",
                },
            },
        },
        "NoteBody": {
            "type": "object",
            "required": ["body"],
            "properties": {
                "body": {"type": "string", "minLength": 1, "maxLength": staff.MAX_BODY_CHARS}
            },
        },
        "Assign": {
            "type": "object",
            "required": ["assignee"],
            "properties": {
                "assignee": {
                    "type": ["string", "null"],
                    "description": "A staff member's name, `me`, or null to unassign.",
                }
            },
        },
        "SetStatus": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"enum": SETTABLE}},
        },
        "Empty": {"type": "object"},
        "Staff": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "email": {"type": "string"},
                "role": {"enum": list(staff.ROLES)},
                "active": {"type": "boolean"},
                "timeCreated": TIME,
                "timeDisabled": TIME,
            },
        },
        "StaffResult": {"type": "object", "properties": {"staff": _ref("Staff")}},
        "StaffList": {
            "type": "object",
            "properties": {"staff": {"type": "array", "items": _ref("Staff")}},
        },
        "NewStaff": {
            "type": "object",
            "required": ["name", "email"],
            "properties": {
                "name": {"type": "string", "pattern": staff.NAME_PATTERN.pattern[2:-2]},
                "email": {"type": "string"},
                "role": {"enum": list(staff.ROLES), "default": staff.AGENT},
            },
        },
        "Token": {
            "type": "object",
            "properties": {
                "tokenId": {"type": "string"},
                "staffName": {"type": "string"},
                "timeCreated": TIME,
                "timeRevoked": TIME,
                "active": {"type": "boolean"},
            },
        },
        "NewToken": {
            "allOf": [
                _ref("Token"),
                {
                    "type": "object",
                    "properties": {
                        "token": {
                            "type": "string",
                            "description": "The token itself: shown this once, stored hashed.",
                        }
                    },
                },
            ]
        },
        "TokenList": {
            "type": "object",
            "properties": {"tokens": {"type": "array", "items": _ref("Token")}},
        },
        "TokenResult": {"type": "object", "properties": {"token": _ref("Token")}},
        "AdvisorSeed": {
            "type": "object",
            "description": "status, timestamp, resourcesSummary, categorySpecificSummary,"
            " flaggedResources: the wire format of a Trusted Advisor check result.",
        },
        "AdvisorResult": {
            "type": "object",
            "properties": {
                "accountId": {"type": "string"},
                "source": {"type": ["string", "null"], "enum": ["seeded", "computed", None]},
                "result": {
                    "type": "object",
                    "description": "As DescribeTrustedAdvisorCheckResult's `result`.",
                },
            },
        },
        "CaseDeliveries": {
            "type": "object",
            "properties": {
                "caseId": {"type": "string"},
                "displayId": {"type": "string"},
                "events": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "eventId": {"type": "string"},
                            "eventName": {"type": "string"},
                            "origin": {"type": "string"},
                            "created": {"type": "string"},
                            "fannedOut": {"type": ["string", "null"]},
                            "deliveries": {"type": "array", "items": _ref("Delivery")},
                        },
                    },
                },
            },
        },
        "Delivery": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "channel": {"type": "string", "enum": ["email", "webhook", "eventbridge"]},
                "target": {"type": "string"},
                "recipients": {"type": "array", "items": {"type": "string"}},
                "idempotencyKey": {"type": "string"},
                "messageId": {"type": ["string", "null"]},
                "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
                "attempts": {"type": "integer"},
                "nextAttempt": {"type": ["string", "null"]},
                "lastResult": {"type": ["string", "null"]},
                "created": {"type": "string"},
                "updated": {"type": "string"},
                "delivered": {"type": ["string", "null"]},
            },
        },
        "AdvisorCleared": {
            "type": "object",
            "properties": {
                "accountId": {"type": "string"},
                "checkId": {"type": "string"},
                "deleted": {"type": "boolean"},
            },
        },
    }


@functools.cache
def document() -> dict[str, Any]:
    case = "/cases/{case}"
    name = _path("name", "The staff member's name.")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "supportd staff API",
            "version": __version__,
            "description": "The support side of supportd: cases across accounts, replies as"
            " support, internal notes, assignment, status, SLA clocks and search. Every"
            " route but this description needs `Authorization: Bearer <staff token>`"
            " (`supportd staff token NAME`). Errors are JSON: "
            '`{"error": {"code": ..., "message": ...}}`.',
        },
        "servers": [{"url": "/staff/api"}],
        "security": [{"staffToken": []}],
        "paths": {
            "/openapi.json": {
                "get": {
                    "summary": "This description.",
                    "security": [],
                    "responses": {"200": {"description": "The OpenAPI document."}},
                }
            },
            "/me": {"get": _operation("The staff member the token belongs to.", "StaffResult")},
            "/cases": {
                "get": _operation(
                    "List cases of every account.",
                    "CaseList",
                    params=LIST_PARAMS,
                    description="Keyset-paginated; sorted by SLA due time by default.",
                )
            },
            "/search": {
                "get": _operation(
                    "Full-text search over subjects and communications, ranked, with highlights.",
                    "SearchResults",
                    params=SEARCH_PARAMS,
                )
            },
            case: {
                "get": _operation(
                    "A case with its whole thread, internal notes and history.",
                    "CaseDetail",
                    params=[CASE_PARAM],
                )
            },
            f"{case}/reply": {
                "post": _operation(
                    "Reply as support: customers see the configured display name.",
                    "ActionResult",
                    params=[CASE_PARAM],
                    body="Reply",
                    description="Stops the SLA clock; assigns an unassigned case to the"
                    " replier. Refused (409) on a resolved case.",
                )
            },
            f"{case}/notes": {
                "post": _operation(
                    "Add an internal note (customers never see it).",
                    "ActionResult",
                    params=[CASE_PARAM],
                    body="NoteBody",
                )
            },
            f"{case}/assign": {
                "post": _operation(
                    "Assign or unassign; assigning an unassigned case moves it to"
                    " work-in-progress.",
                    "ActionResult",
                    params=[CASE_PARAM],
                    body="Assign",
                )
            },
            f"{case}/status": {
                "post": _operation(
                    "Set the status (see docs/lifecycle.md for what is allowed).",
                    "ActionResult",
                    params=[CASE_PARAM],
                    body="SetStatus",
                )
            },
            f"{case}/resolve": {
                "post": _operation(
                    "Resolve the case (resolving a resolved case changes nothing).",
                    "ActionResult",
                    params=[CASE_PARAM],
                    body="Empty",
                )
            },
            f"{case}/deliveries": {
                "get": _operation(
                    "The case's notifications: each event with what went to whom (e-mail,"
                    " webhooks, EventBridge), when, and the result.",
                    "CaseDeliveries",
                    params=[CASE_PARAM],
                )
            },
            "/staff": {
                "get": _operation("Every staff member.", "StaffList"),
                "post": _operation(
                    "Create a staff member (admins).", "StaffResult", body="NewStaff"
                ),
            },
            "/staff/{name}/disable": {
                "post": _operation(
                    "Disable a staff member: their tokens stop working (admins).",
                    "StaffResult",
                    params=[name],
                )
            },
            "/staff/{name}/enable": {
                "post": _operation(
                    "Enable a staff member again (admins).", "StaffResult", params=[name]
                )
            },
            "/staff/{name}/tokens": {
                "get": _operation(
                    "A staff member's tokens (their own, or any for admins).",
                    "TokenList",
                    params=[name],
                ),
                "post": _operation(
                    "Create a token; the response holds it, once (own, or any for admins).",
                    "NewToken",
                    params=[name],
                ),
            },
            "/advisor/{account}/{check}": {
                "get": _operation(
                    "An account's Trusted Advisor result of a check (not_available if none).",
                    "AdvisorResult",
                    params=ADVISOR_PARAMS,
                ),
                "put": _operation(
                    "Seed the account's result of the check, replacing the one it has.",
                    "AdvisorResult",
                    params=ADVISOR_PARAMS,
                    body="AdvisorSeed",
                    description="The body is the `result` member of"
                    " DescribeTrustedAdvisorCheckResult without `checkId` (as"
                    " `supportd advisor set-result` takes it); only `flaggedResources` is"
                    " needed. See docs/compatibility.md.",
                ),
                "delete": _operation(
                    "Forget the account's result of the check (not_available again).",
                    "AdvisorCleared",
                    params=ADVISOR_PARAMS,
                ),
            },
            "/tokens/{token}/revoke": {
                "post": _operation(
                    "Revoke a token (own, or any for admins).",
                    "TokenResult",
                    params=[_path("token", "The token id.")],
                )
            },
        },
        "components": {
            "securitySchemes": {
                "staffToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A staff token (`sdst_...`); AWS access keys are refused.",
                }
            },
            "schemas": _schemas(),
        },
    }
