"""Canned replies in the console: every staff member reads the list (agents insert them
into replies on a case page); admins create, edit and delete them. An agent reaching an
admin page or posting an admin form gets 403 and nothing changes."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supportd.domain.console import MAX_CANNED_REPLIES, MAX_TITLE_CHARS
from supportd.domain.staff import MAX_BODY_CHARS
from supportd.operations import canned_replies as ops
from supportd.operations.canned_replies import InvalidField
from supportd.operations.staff import StaffError
from supportd.web.console_site import AREA, Signed, admin_page, error, form, page, values
from supportd.web.forms import text
from supportd.web.site import Site, redirect


def routes(site: Site) -> list[Route]:
    ctx = site.ctx

    async def list_page(request: Request, signed: Signed) -> Response:
        replies = (await ops.list_replies(ctx, signed.member))["cannedReplies"]
        return site.page(
            "console/canned.html",
            values(
                signed,
                "canned",
                request,
                title="Canned replies",
                replies=replies,
                full=len(replies) >= MAX_CANNED_REPLIES,
                max_replies=MAX_CANNED_REPLIES,
            ),
        )

    def _edit_page(
        request: Request,
        signed: Signed,
        entered: dict[str, str],
        reply_id: int | None,
        problems: dict[str, str],
        status: int = 200,
    ) -> Response:
        return site.page(
            "console/canned_edit.html",
            values(
                signed,
                "canned",
                request,
                title="Edit canned reply" if reply_id else "New canned reply",
                entered=entered,
                reply_id=reply_id,
                problems=problems,
                max_title=MAX_TITLE_CHARS,
                max_body=MAX_BODY_CHARS,
            ),
            status,
        )

    def _not_found(signed: Signed) -> Response:
        return error(
            site,
            404,
            "Canned reply not found",
            "There is no such canned reply; another admin may have deleted it.",
            signed,
        )

    async def new_page(request: Request, signed: Signed) -> Response:
        return _edit_page(request, signed, {"title": "", "body": ""}, None, {})

    async def edit_page(request: Request, signed: Signed) -> Response:
        try:
            found = (await ops.get_reply(ctx, signed.member, request.path_params["id"]))[
                "cannedReply"
            ]
        except StaffError:
            return _not_found(signed)
        return _edit_page(request, signed, found, int(found["id"]), {})

    async def _save(request: Request, signed: Signed, data: FormData) -> Response:
        # Line breaks as LF, as in the replies the text goes into (browsers post CRLF).
        entered = {"title": text(data, "title"), "body": text(data, "body").replace("\r\n", "\n")}
        ref = request.path_params.get("id")
        try:
            if ref is None:
                await ops.create_reply(ctx, signed.member, entered)
            else:
                await ops.update_reply(ctx, signed.member, ref, entered)
        except InvalidField as problem:
            reply_id = int(ref) if ref is not None and ref.isdigit() else None
            return _edit_page(
                request, signed, entered, reply_id, {problem.field: problem.message}, 400
            )
        except StaffError as exc:
            if exc.status == 404:
                return _not_found(signed)
            return _edit_page(request, signed, entered, None, {"title": exc.message}, exc.status)
        done = "canned-created" if ref is None else "canned-saved"
        return redirect(f"{AREA.prefix}/canned?done={done}")

    async def delete(request: Request, signed: Signed, data: FormData) -> Response:
        try:
            await ops.delete_reply(ctx, signed.member, request.path_params["id"])
        except StaffError:
            return _not_found(signed)
        return redirect(f"{AREA.prefix}/canned?done=canned-deleted")

    return [
        Route("/canned", page(site, list_page), methods=["GET"]),
        Route("/canned", form(site, _save, admin=True), methods=["POST"]),
        Route("/canned/new", admin_page(site, new_page), methods=["GET"]),
        Route("/canned/{id}/edit", admin_page(site, edit_page), methods=["GET"]),
        Route("/canned/{id}", form(site, _save, admin=True), methods=["POST"]),
        Route("/canned/{id}/delete", form(site, delete, admin=True), methods=["POST"]),
    ]
