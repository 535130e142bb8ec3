"""Canned replies: texts an agent inserts into a reply in the staff console. Every staff
member reads them; only admins create, change or delete them (operations.staff's
require_admin, the staff API's rule for admin-only actions)."""

from __future__ import annotations

from typing import Any

from supportd.domain import clock
from supportd.domain.console import (
    MAX_CANNED_REPLIES,
    CannedReply,
    CannedReplyExists,
    TooManyCannedReplies,
    body_problem,
    title_problem,
)
from supportd.domain.staff import StaffMember
from supportd.operations.context import Context
from supportd.operations.staff import StaffError, require_admin

LOCAL_OPERATOR = "operator"  # the author of a change made with no staff member signed in


class InvalidField(StaffError):
    """A refused value, with the field it belongs to (a form shows it there)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(400, "invalid_parameter", message)
        self.field = field


def shape(reply: CannedReply) -> dict[str, Any]:
    return {
        "id": reply.seq,
        "title": reply.title,
        "body": reply.body,
        "createdBy": reply.created_by,
        "timeCreated": clock.format_case_time(reply.created_ms),
        "updatedBy": reply.updated_by,
        "timeUpdated": clock.format_case_time(reply.updated_ms),
    }


def _not_found(ref: object) -> StaffError:
    return StaffError(404, "canned_reply_not_found", f"no canned reply {ref}")


def _seq(ref: str | int) -> int:
    text = str(ref)
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise _not_found(ref)
    return int(text)


def _checked(body: dict[str, Any]) -> tuple[str, str]:
    title, text = body.get("title"), body.get("body")
    if not isinstance(title, str):
        raise InvalidField("title", "Enter a title.")
    if not isinstance(text, str):
        raise InvalidField("body", "Enter the text of the reply.")
    title = title.strip()
    problem = title_problem(title)
    if problem:
        raise InvalidField("title", problem)
    problem = body_problem(text)
    if problem:
        raise InvalidField("body", problem)
    return title, text


def _author(actor: StaffMember | None) -> str:
    return actor.name if actor is not None else LOCAL_OPERATOR


async def list_replies(ctx: Context, actor: StaffMember | None) -> dict[str, Any]:
    return {"cannedReplies": [shape(r) for r in await ctx.store.list_canned_replies()]}


async def get_reply(ctx: Context, actor: StaffMember | None, ref: str | int) -> dict[str, Any]:
    found = await ctx.store.get_canned_reply(_seq(ref))
    if found is None:
        raise _not_found(ref)
    return {"cannedReply": shape(found)}


async def create_reply(
    ctx: Context, actor: StaffMember | None, body: dict[str, Any]
) -> dict[str, Any]:
    require_admin(actor)
    title, text = _checked(body)
    try:
        created = await ctx.store.create_canned_reply(
            title, text, _author(actor), ctx.clock.now_ms()
        )
    except CannedReplyExists:
        raise InvalidField("title", f"A canned reply titled {title!r} exists already.") from None
    except TooManyCannedReplies:
        raise StaffError(
            409,
            "too_many_canned_replies",
            f"There are {MAX_CANNED_REPLIES} canned replies already: delete one first.",
        ) from None
    return {"cannedReply": shape(created)}


async def update_reply(
    ctx: Context, actor: StaffMember | None, ref: str | int, body: dict[str, Any]
) -> dict[str, Any]:
    require_admin(actor)
    seq = _seq(ref)
    title, text = _checked(body)
    try:
        updated = await ctx.store.update_canned_reply(
            seq, title, text, _author(actor), ctx.clock.now_ms()
        )
    except CannedReplyExists:
        raise InvalidField("title", f"Another canned reply is titled {title!r} already.") from None
    if updated is None:
        raise _not_found(ref)
    return {"cannedReply": shape(updated)}


async def delete_reply(ctx: Context, actor: StaffMember | None, ref: str | int) -> dict[str, Any]:
    require_admin(actor)
    seq = _seq(ref)
    if not await ctx.store.delete_canned_reply(seq):
        raise _not_found(ref)
    return {"deleted": seq}
