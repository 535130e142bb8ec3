"""The Support Center's case pages: the list, Create case, a case's thread with the
reply box, resolving, and attachment downloads.

Every change goes through the API's operations (CreateCase, AddAttachmentsToSet,
AddCommunicationToCase, ResolveCase) with the signed-in user's Principal, validated
against the service model first, so a case filed here and one filed through boto3 are
alike in every way. Another account's case or attachment is "not found", exactly as a
case that does not exist.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supportd import api_errors
from supportd.domain import case_filters, ids, lifecycle
from supportd.domain.attachments import claim_problem, plausible_id
from supportd.domain.records import CaseRecord
from supportd.operations import case_list
from supportd.web import forms
from supportd.web import support_case_form as case_form
from supportd.web.site import Site, redirect
from supportd.web.support_site import AREA, Signed, error, form, page, values

THREAD_PAGE = 20


def _date_ms(text: str, end_of_day: bool) -> int:
    """A date field (YYYY-MM-DD) as the first or last millisecond of that UTC day."""
    day = date.fromisoformat(text)
    moment = datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _api_time_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def routes(site: Site) -> list[Route]:
    ctx = site.ctx
    config, catalogue = ctx.config, ctx.catalogue
    upload_bytes = config.max_attachment_body_bytes
    upload_files = config.attachment_set_files * 3

    # --- the list -------------------------------------------------------------------

    async def case_list_page(request: Request, signed: Signed) -> Response:
        query = request.query_params
        status = query.get("status", case_filters.OPEN)
        filters = {
            "status": status if status in case_filters.STATUS_FILTERS else case_filters.OPEN,
            "from": query.get("from", "").strip(),
            "to": query.get("to", "").strip(),
            "find": query.get("find", "").strip()[: case_filters.MAX_FIND_CHARS],
        }
        problems: dict[str, str] = {}
        after_ms = before_ms = None
        for name, end in (("from", False), ("to", True)):
            if filters[name]:
                try:
                    moment = _date_ms(filters[name], end)
                except ValueError:
                    problems[name] = "Enter a date as YYYY-MM-DD, for example 2024-05-31."
                    continue
                if name == "from":
                    after_ms = moment
                else:
                    before_ms = moment
        if after_ms is not None and before_ms is not None and after_ms > before_ms:
            problems["to"] = "The end date must be on or after the start date."
        result = case_list.CaseListPage([], None)
        page_problem = None
        if not problems:
            asked = case_list.CaseListRequest(
                status=filters["status"],
                after_ms=after_ms,
                before_ms=before_ms,
                find=filters["find"],
                token=query.get("after") or None,
            )
            try:
                result = await case_list.list_cases(ctx, signed.principal, asked)
                site.audit(
                    request, signed.principal.account_id, signed.caller, "DescribeCases", 200
                )
            except api_errors.ApiError:
                page_problem = "That page of results is no longer available. Start again."
        filtered = any(filters[k] for k in ("from", "to", "find")) or filters["status"] != "open"
        return site.page(
            "support/cases.html",
            values(
                signed,
                "cases",
                request,
                title="Cases",
                filters=filters,
                problems=problems,
                page_problem=page_problem,
                rows=result.rows,
                next_token=result.next_token,
                paged=bool(query.get("after")),
                filtered=filtered,
                severities={lvl["code"]: lvl["name"] for lvl in catalogue.severity_levels},
            ),
            400 if problems else 200,
        )

    # --- Create case ----------------------------------------------------------------

    async def kept_uploads(signed: Signed, upload_ids: list[str]) -> list[dict[str, str]]:
        """The large files a form that comes back still names (uploaded already, and
        still attachable): shown, and sent again with the form."""
        kept = []
        for upload_id in upload_ids[: config.attachment_set_files]:
            found = (
                await ctx.store.get_upload(upload_id)
                if plausible_id(upload_id, "upload-")
                else None
            )
            account = signed.principal.account_id
            if found is not None and claim_problem(found, upload_id, account) is None:
                kept.append({"id": upload_id, "name": found.file_name})
        return kept

    async def _new_case_page(
        request: Request,
        signed: Signed,
        entered: case_form.NewCase,
        problems: dict[str, str],
        status: int = 200,
        summary: str | None = None,
    ) -> Response:
        return site.page(
            "support/case_new.html",
            values(
                signed,
                "new",
                request,
                title="Create case",
                entered=entered,
                problems=problems,
                summary=summary,
                choices=case_form.choices(catalogue, config, signed.principal.plan),
                plan_name=case_form.plan_name(signed.principal.plan),
                limits=case_form.upload_limits(config),
                kept=await kept_uploads(signed, entered.uploads),
                fields=case_form.FIELDS,
            ),
            status,
        )

    async def new_case_page(request: Request, signed: Signed) -> Response:
        return await _new_case_page(request, signed, case_form.NewCase(), {})

    async def create_case(request: Request, signed: Signed, data: FormData) -> Response:
        entered = case_form.NewCase.from_form(data)
        problems = case_form.check(entered, catalogue, config, signed.principal.plan)
        if problems:
            return await _new_case_page(request, signed, entered, problems, 400)
        body = entered.api_body()
        try:
            await _attach(site, request, signed, "CreateCase", body, entered.files)
            created = await site.invoke(
                request, signed.principal, signed.caller, "CreateCase", body
            )
        except api_errors.ApiError as problem:
            where = case_form.field_of(problem)
            if where is None:
                return await _new_case_page(
                    request, signed, entered, {}, 400, summary=problem.message
                )
            return await _new_case_page(request, signed, entered, {where: problem.message}, 400)
        display_id = await case_list.display_id_of(ctx, signed.principal, created["caseId"])
        return redirect(f"{AREA.prefix}/cases/{display_id}?done=created")

    # --- a case ---------------------------------------------------------------------

    async def _case(signed: Signed, request: Request) -> CaseRecord | None:
        case = await case_list.case_by_display_id(
            ctx, signed.principal, request.path_params["display_id"]
        )
        site.audit(
            request,
            signed.principal.account_id,
            signed.caller,
            "DescribeCases",
            200 if case else 400,
            None if case else "CaseIdNotFound",
        )
        return case

    def _not_found(signed: Signed, request: Request) -> Response:
        return error(
            site,
            404,
            "Case not found",
            "There is no case with this ID in your account.",
            values(signed, "cases", request),
        )

    async def _case_page(
        request: Request,
        signed: Signed,
        case: CaseRecord,
        reply: str = "",
        problems: dict[str, str] | None = None,
        status: int = 200,
        uploads: list[str] | None = None,
    ) -> Response:
        older = request.query_params.get("older") or None
        body: dict[str, Any] = {"caseId": case.case_id, "maxResults": THREAD_PAGE}
        if older:
            body["nextToken"] = older
        thread_problem = None
        try:
            found = await site.invoke(
                request, signed.principal, signed.caller, "DescribeCommunications", body
            )
        except api_errors.ApiError:
            found = {"communications": []}
            thread_problem = "Those older messages are no longer available."
        thread = [
            {
                "author": comm.submitted_by,
                "support": comm.submitted_by == config.support_display_name,
                "time_ms": _api_time_ms(comm.time_created),
                "body": comm.body,
                "attachments": comm.attachments,
            }
            for comm in found["communications"]
        ]
        now = site.now_ms()
        reopen_until = (
            case.resolved_ms + lifecycle.REOPEN_WINDOW_MS
            if case.status == lifecycle.RESOLVED and case.resolved_ms is not None
            else None
        )
        service = next((s for s in catalogue.services if s["code"] == case.service_code), None)
        category = (
            next((c for c in service["categories"] if c["code"] == case.category_code), None)
            if service
            else None
        )
        return site.page(
            "support/case.html",
            values(
                signed,
                "cases",
                request,
                title=case.subject,
                case=case,
                display_id=ids.display_id(case.seq),
                service_name=service["name"] if service else case.service_code,
                category_name=category["name"] if category else case.category_code,
                severity_name=next(
                    (
                        lvl["name"]
                        for lvl in catalogue.severity_levels
                        if lvl["code"] == case.severity_code
                    ),
                    case.severity_code,
                ),
                thread=thread,
                older_token=found.get("nextToken"),
                paged=bool(older),
                thread_problem=thread_problem,
                resolved=case.status == lifecycle.RESOLVED,
                reopen_until=reopen_until,
                can_reopen=reopen_until is None or now <= reopen_until,
                reply=reply,
                problems=problems or {},
                limits=case_form.upload_limits(config),
                kept=await kept_uploads(signed, uploads or []),
            ),
            status,
        )

    async def case_page(request: Request, signed: Signed) -> Response:
        case = await _case(signed, request)
        if case is None:
            return _not_found(signed, request)
        return await _case_page(request, signed, case)

    async def reply(request: Request, signed: Signed, data: FormData) -> Response:
        case = await _case(signed, request)
        if case is None:
            return _not_found(signed, request)
        text = forms.text(data, "body")
        files = forms.files(data, "attachments")
        uploads = case_form.upload_ids(data)
        problems: dict[str, str] = {}
        if not text.strip():
            problems["body"] = "Enter your reply."
        elif len(text) > case_form.MAX_BODY_CHARS:
            problems["body"] = (
                f"Shorten the reply to {case_form.MAX_BODY_CHARS:,} characters or fewer "
                f"(it has {len(text):,})."
            )
        file_problem = case_form.files_problem(files, config, len(uploads))
        if file_problem:
            problems["attachments"] = file_problem
        if problems:
            return await _case_page(request, signed, case, text, problems, 400, uploads)
        body: dict[str, Any] = {"caseId": case.case_id, "communicationBody": text}
        if uploads:
            body["uploadIds"] = uploads
        try:
            await _attach(site, request, signed, "AddCommunicationToCase", body, files)
            await site.invoke(
                request, signed.principal, signed.caller, "AddCommunicationToCase", body
            )
        except api_errors.ApiError as problem:
            where = "attachments" if case_form.field_of(problem) == "attachments" else "body"
            problems = {where: problem.message}
            return await _case_page(request, signed, case, text, problems, 400, uploads)
        done = "reopened" if case.status == lifecycle.RESOLVED else "replied"
        return redirect(f"{AREA.prefix}/cases/{ids.display_id(case.seq)}?done={done}")

    async def resolve(request: Request, signed: Signed, data: FormData) -> Response:
        case = await _case(signed, request)
        if case is None:
            return _not_found(signed, request)
        await site.invoke(
            request, signed.principal, signed.caller, "ResolveCase", {"caseId": case.case_id}
        )
        return redirect(f"{AREA.prefix}/cases/{ids.display_id(case.seq)}?done=resolved")

    async def download(request: Request, signed: Signed) -> Response:
        """The file through the API's download link (GetAttachmentDownloadLink checks the
        attachment is the account's; the link itself expires)."""
        try:
            link = await site.invoke(
                request,
                signed.principal,
                signed.caller,
                "GetAttachmentDownloadLink",
                {"attachmentId": request.path_params["attachment_id"]},
            )
        except api_errors.ApiError:
            return error(
                site,
                404,
                "Attachment not found",
                "There is no attachment with this ID in your account.",
                values(signed, "cases", request),
            )
        return redirect(link["downloadUrl"]["url"])

    return [
        Route("/cases", page(site, case_list_page), methods=["GET"]),
        Route("/cases/new", page(site, new_case_page), methods=["GET"]),
        Route(
            "/cases/new",
            form(site, create_case, max_bytes=upload_bytes, max_files=upload_files),
            methods=["POST"],
        ),
        Route("/cases/{display_id}", page(site, case_page), methods=["GET"]),
        Route(
            "/cases/{display_id}/reply",
            form(site, reply, max_bytes=upload_bytes, max_files=upload_files),
            methods=["POST"],
        ),
        Route("/cases/{display_id}/resolve", form(site, resolve), methods=["POST"]),
        Route("/attachments/{attachment_id}", page(site, download), methods=["GET"]),
    ]


async def _attach(
    site: Site,
    request: Request,
    signed: Signed,
    operation: str,
    body: dict[str, Any],
    files: list[UploadFile],
) -> None:
    """Stores `files` (if any) as a new attachment set and names it in `body`. The
    operation is checked in full before any file is stored: no set is left behind for
    a request that is refused."""
    if not files:
        return
    await _dry_run(site, request, signed, operation, body)
    attached = await site.invoke(
        request,
        signed.principal,
        signed.caller,
        "AddAttachmentsToSet",
        await case_form.attachment_body(files),
    )
    body["attachmentSetId"] = attached["attachmentSetId"]


async def _dry_run(
    site: Site, request: Request, signed: Signed, operation: str, body: dict[str, Any]
) -> None:
    """Every check of the operation, and nothing written: DryRunOperationException is
    the answer that all is well; any other error is the real one."""
    try:
        await site.invoke(
            request, signed.principal, signed.caller, operation, {**body, "dryRun": True}
        )
    except api_errors.DryRunOperationException:
        return
