"""The queue: open cases of every account, soonest SLA due time first, with filters
(status, severity, assignee, account, SLA state) and keyset pages, read through
operations.staff.list_cases exactly as the staff API's GET /cases.

New and changed cases appear without a reload: console.js asks /console/queue/updates
(the same query) every few seconds and swaps in the rows it renders; without
JavaScript the page is the same, current as of its loading.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supportd.domain import lifecycle, staff
from supportd.operations import staff as ops
from supportd.operations.staff import StaffError
from supportd.web.console_site import Signed, page, signed_in, values
from supportd.web.console_views import case_row, sentence
from supportd.web.formats import status_label
from supportd.web.site import Site, json_response

log = logging.getLogger("supportd.web")

QUEUE_PAGE = 50
FILTERS = ("status", "severity", "assignee", "account", "sla")
SLA_CHOICES = (
    ("", "Any"),
    (staff.BREACHING, "Breached"),
    (staff.SLA_RUNNING, "Running"),
    (staff.SLA_PAUSED, "Paused"),
    (staff.SLA_NONE, "None due"),
)
STATUS_ORDER = (
    lifecycle.UNASSIGNED,
    lifecycle.WORK_IN_PROGRESS,
    lifecycle.CUSTOMER_ACTION_COMPLETED,
    lifecycle.REOPENED,
    lifecycle.OPENED,
    lifecycle.PENDING_CUSTOMER_ACTION,
    lifecycle.RESOLVED,
)


def status_choices() -> list[tuple[str, str]]:
    return [
        ("", "Open (every open status)"),
        *((s, status_label(s)) for s in STATUS_ORDER),
        ("all", "All statuses"),
    ]


def _filters(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip()[:100] for name in FILTERS}


def query_string(filters: dict[str, str], after: str | None = None) -> str:
    pairs = [(k, v) for k, v in filters.items() if v]
    if after:
        pairs.append(("after", after))
    return urlencode(pairs)


async def _queue(
    site: Site, signed: Signed, request: Request
) -> tuple[dict[str, Any], dict[str, str], str | None]:
    """The page's values, problems by field, and a problem with the page as a whole."""
    ctx = site.ctx
    filters = _filters(request)
    after = request.query_params.get("after") or None
    problems: dict[str, str] = {}
    if filters["account"] and not (
        filters["account"].isascii()
        and filters["account"].isdigit()
        and len(filters["account"]) == 12
    ):
        problems["account"] = "Enter a 12-digit account ID, or leave it empty."
    result: dict[str, Any] = {"cases": []}
    page_problem = None
    if not problems:
        params: dict[str, list[str]] = {k: [v] for k, v in filters.items() if v}
        params["limit"] = [str(QUEUE_PAGE)]
        if after:
            params["nextToken"] = [after]
        try:
            result = await ops.list_cases(ctx, signed.member, params)
        except StaffError as exc:
            page_problem = (
                "That page of the queue is no longer available (the filters changed). Start"
                " again from the first page."
                if exc.code == "invalid_token"
                else sentence(exc.message)
            )
    now = site.now_ms()
    rows = [case_row(shape, now) for shape in result["cases"]]
    next_token = result.get("nextToken")
    page_values = {
        "rows": rows,
        "filters": filters,
        "paged": after is not None,
        "next_href": f"/console/queue?{query_string(filters, next_token)}" if next_token else None,
        "first_href": f"/console/queue?{query_string(filters)}",
        "filtered": any(filters.values()),
        "breached": sum(1 for r in rows if r.sla.breached),
        "soon": sum(1 for r in rows if r.sla.soon),
        "severity_names": {lvl["code"]: lvl["name"] for lvl in ctx.catalogue.severity_levels},
    }
    return page_values, problems, page_problem


def routes(site: Site) -> list[Route]:
    ctx = site.ctx
    poll_ms = ctx.config.web_console_poll_s * 1000

    async def queue(request: Request, signed: Signed) -> Response:
        page_values, problems, page_problem = await _queue(site, signed, request)
        members = (await ops.list_staff(ctx, signed.member))["staff"]
        filters = page_values["filters"]
        live = poll_ms > 0 and not page_values["paged"] and not problems and not page_problem
        return site.page(
            "console/queue.html",
            values(
                signed,
                "queue",
                request,
                title="Queue",
                problems=problems,
                page_problem=page_problem,
                status_choices=status_choices(),
                severity_choices=[
                    (lvl["code"], lvl["name"]) for lvl in ctx.catalogue.severity_levels
                ],
                assignee_choices=[
                    ("", "Anyone"),
                    ("me", f"Me ({signed.member.name})"),
                    ("none", "Unassigned"),
                    *((m["name"], m["name"]) for m in members if m["active"]),
                ],
                sla_choices=SLA_CHOICES,
                updates_href=(f"/console/queue/updates?{query_string(filters)}" if live else None),
                poll_ms=poll_ms,
                **page_values,
            ),
            400 if problems or page_problem else 200,
        )

    async def updates(request: Request) -> Response:
        """The queue's first page as HTML rows for console.js, with a version that
        changes when what it shows changes."""
        try:
            return await _updates(request)
        except Exception:
            log.exception("console queue updates failed")
            return json_response(500, {"error": "failed"})

    async def _updates(request: Request) -> Response:
        signed = await signed_in(site, request)
        if signed is None:
            return json_response(401, {"error": "signed-out"})
        page_values, problems, page_problem = await _queue(site, signed, request)
        if problems or page_problem:
            return json_response(400, {"error": "filters"})
        html = site.templates.env.get_template("console/_queue_results.html").render(
            values(signed, "queue", request, page_problem=None, problems={}, **page_values)
        )
        rows = page_values["rows"]
        # The minute counts too: "due in 5 min" must not stay on screen for an hour.
        minute = site.now_ms() // 60_000
        seen = "|".join(f"{r.display_id}:{r.version}" for r in rows)
        version = hashlib.blake2s(f"{minute}|{seen}".encode(), digest_size=8).hexdigest()
        return json_response(
            200,
            {
                "version": version,
                "rows": [{"id": r.display_id, "version": r.version} for r in rows],
                "html": html,
            },
        )

    return [
        Route("/queue", page(site, queue), methods=["GET"]),
        Route("/queue/updates", updates, methods=["GET"]),
    ]
