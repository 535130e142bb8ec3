"""A case in the console: its facts and SLA clock, the customer's thread and the
internal notes interleaved in time, and the forms that act on it — reply (with a
status afterwards, and canned replies to insert), internal note, assign, change status,
resolve. Every action is operations.staff's, the staff API's own, acting as the
signed-in staff member.

Inserting a canned reply works without JavaScript: the Insert button posts the form
here, and the page comes back with the text added to the reply box (nothing is sent).
console.js does the same in the page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supportd.domain import lifecycle
from supportd.domain.console import with_inserted
from supportd.domain.staff import MAX_BODY_CHARS
from supportd.operations import canned_replies, staff_attachments
from supportd.operations import staff as ops
from supportd.operations.staff import StaffError
from supportd.web.console_site import AREA, Signed, error, form, page, values
from supportd.web.console_views import case_row, sentence, time_ms, timeline
from supportd.web.forms import text as form_text
from supportd.web.site import Site, redirect

# The statuses staff choose from, in the order a person reads them.
STAFF_STATUS_ORDER = (
    lifecycle.PENDING_CUSTOMER_ACTION,
    lifecycle.WORK_IN_PROGRESS,
    lifecycle.OPENED,
    lifecycle.RESOLVED,
)
REPLY_STATUS_HINTS = {
    lifecycle.PENDING_CUSTOMER_ACTION: "Pending customer action (we wait on the customer)",
    lifecycle.WORK_IN_PROGRESS: "Work in progress (we keep working on it)",
    lifecycle.OPENED: "Opened",
    lifecycle.RESOLVED: "Resolved (the answer solves it)",
}


# A refused reply: which field the problem belongs to, by the operation's error code.
REPLY_FIELDS = {"illegal_transition": "reply-status", "invalid_parameter": "reply-status"}


def text(data: FormData, name: str) -> str:
    """A field as typed: browsers send a textarea's line breaks as CRLF; the API's
    messages (and so the thread) use LF."""
    return form_text(data, name).replace("\r\n", "\n")


def _body_problem(body: str, what: str) -> str | None:
    if not body.strip():
        return f"Enter the {what}."
    if len(body) > MAX_BODY_CHARS:
        return (
            f"Shorten the {what} to {MAX_BODY_CHARS:,} characters or fewer (it has {len(body):,})."
        )
    return None


def routes(site: Site) -> list[Route]:
    ctx = site.ctx

    def _not_found(signed: Signed, ref: str) -> Response:
        return error(
            site,
            404,
            "Case not found",
            f"There is no case {ref[:40]}. Check the case ID, or find the case in the queue"
            " or by searching.",
            signed,
        )

    async def _page(
        request: Request,
        signed: Signed,
        ref: str,
        entered: dict[str, str] | None = None,
        problems: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        try:
            detail = await ops.show_case(ctx, signed.member, ref)
        except StaffError as exc:
            if exc.status == 404:
                return _not_found(signed, ref)
            raise
        case = detail["case"]
        now = site.now_ms()
        communications, notes = detail["communications"], detail["notes"]
        files = await staff_attachments.communication_files(
            ctx, [int(c["id"]) for c in communications]
        )
        current = case["status"]
        service = next((s for s in ctx.catalogue.services if s["code"] == case["serviceCode"]), {})
        settable = [s for s in STAFF_STATUS_ORDER if lifecycle.staff_may_set(current, s)]
        members = (await ops.list_staff(ctx, signed.member))["staff"]
        canned = (await canned_replies.list_replies(ctx, signed.member))["cannedReplies"]
        entered = {
            "reply": "",
            "reply-status": lifecycle.PENDING_CUSTOMER_ACTION,
            "note": "",
            "canned": "",
            **(entered or {}),
        }
        history = [
            {**event, "time_ms": time_ms(event["time"])} for event in reversed(detail["history"])
        ]
        return site.page(
            "console/case.html",
            values(
                signed,
                "queue",
                request,
                title=f"{case['displayId']}: {case['subject']}",
                case=case,
                row=case_row(case, now),
                created_ms=time_ms(case["timeCreated"]),
                resolved_ms=time_ms(case["timeResolved"]),
                auto_resolve_ms=time_ms(case["autoResolveTime"]),
                entries=timeline(communications, notes, files),
                history=history,
                resolved=current == lifecycle.RESOLVED,
                reply_statuses=[(s, REPLY_STATUS_HINTS[s]) for s in settable],
                new_statuses=[s for s in settable if s != current],
                assignees=[m["name"] for m in members if m["active"]],
                canned=canned,
                entered=entered,
                problems=problems or {},
                severity_names={lvl["code"]: lvl["name"] for lvl in ctx.catalogue.severity_levels},
                service_name=service.get("name", case["serviceCode"]),
                category_name=next(
                    (
                        c["name"]
                        for c in service.get("categories", ())
                        if c["code"] == case["categoryCode"]
                    ),
                    case["categoryCode"],
                ),
            ),
            status,
        )

    async def case_page(request: Request, signed: Signed) -> Response:
        return await _page(request, signed, request.path_params["ref"])

    def _done(ref: str, result: dict[str, Any], done: str) -> Response:
        display_id = result["case"]["displayId"] if result.get("case") else ref
        key = done if result.get("changed", True) else "unchanged"
        return redirect(f"{AREA.prefix}/cases/{display_id}?done={key}#case-top")

    Action = Callable[[Request, Signed, FormData], Awaitable[Response]]

    def action(
        field: str,
        run: Callable[[Signed, str, FormData], Awaitable[Response]],
        fields_by_code: dict[str, str] | None = None,
    ) -> Action:
        """A case form: the operation's refusal comes back next to `field` (or the field
        its error code names), with what was typed kept; an unknown case is the
        not-found page."""

        async def handle(request: Request, signed: Signed, data: FormData) -> Response:
            ref = request.path_params["ref"]
            try:
                return await run(signed, ref, data)
            except StaffError as exc:
                if exc.status == 404 and exc.code == "case_not_found":
                    return _not_found(signed, ref)
                if exc.status == 403:
                    raise
                entered = {
                    "reply": text(data, "reply"),
                    "reply-status": text(data, "status"),
                    "note": text(data, "note"),
                }
                where = (fields_by_code or {}).get(exc.code, field)
                return await _page(
                    request, signed, ref, entered, {where: sentence(exc.message)}, exc.status
                )

        return handle

    async def reply(signed: Signed, ref: str, data: FormData) -> Response:
        body, status = text(data, "reply"), text(data, "status")
        problem = _body_problem(body, "reply")
        if problem:
            raise StaffError(400, "invalid_reply", problem)
        result = await ops.reply(ctx, signed.member, ref, {"body": body, "status": status or None})
        return _done(ref, result, "replied")

    async def insert(request: Request, signed: Signed, data: FormData) -> Response:
        ref = request.path_params["ref"]
        entered = {
            "reply": text(data, "reply"),
            "reply-status": text(data, "status"),
            "canned": text(data, "canned"),
        }
        try:
            found = await canned_replies.get_reply(ctx, signed.member, entered["canned"])
        except StaffError:
            return await _page(
                request,
                signed,
                ref,
                entered,
                {"canned": "Choose a canned reply to insert."},
                400,
            )
        entered["reply"] = with_inserted(entered["reply"], found["cannedReply"]["body"])
        return await _page(request, signed, ref, entered)

    async def note(signed: Signed, ref: str, data: FormData) -> Response:
        body = text(data, "note")
        problem = _body_problem(body, "note")
        if problem:
            raise StaffError(400, "invalid_note", problem)
        result = await ops.add_note(ctx, signed.member, ref, {"body": body})
        return _done(ref, result, "noted")

    async def assign(signed: Signed, ref: str, data: FormData) -> Response:
        assignee = text(data, "assignee")
        result = await ops.assign(
            ctx, signed.member, ref, {"assignee": None if assignee in ("", "none") else assignee}
        )
        return _done(ref, result, "assigned")

    async def set_status(signed: Signed, ref: str, data: FormData) -> Response:
        status = text(data, "status")
        if not status:
            raise StaffError(400, "invalid_status", "Choose the new status.")
        result = await ops.set_status(ctx, signed.member, ref, {"status": status})
        return _done(ref, result, "resolved" if status == lifecycle.RESOLVED else "status")

    async def resolve(signed: Signed, ref: str, data: FormData) -> Response:
        result = await ops.resolve(ctx, signed.member, ref)
        return _done(ref, result, "resolved")

    async def download(request: Request, signed: Signed) -> Response:
        path = await staff_attachments.download_path(ctx, request.path_params["attachment_id"])
        if path is None:
            return error(
                site, 404, "Attachment not found", "There is no attachment with this ID.", signed
            )
        return redirect(path)

    case = "/cases/{ref}"
    return [
        Route(case, page(site, case_page), methods=["GET"]),
        Route(f"{case}/reply", form(site, action("reply", reply, REPLY_FIELDS)), methods=["POST"]),
        Route(f"{case}/insert", form(site, insert), methods=["POST"]),
        Route(f"{case}/note", form(site, action("note", note)), methods=["POST"]),
        Route(f"{case}/assign", form(site, action("assignee", assign)), methods=["POST"]),
        Route(f"{case}/status", form(site, action("new-status", set_status)), methods=["POST"]),
        Route(f"{case}/resolve", form(site, action("resolve", resolve)), methods=["POST"]),
        Route("/attachments/{attachment_id}", page(site, download), methods=["GET"]),
    ]
