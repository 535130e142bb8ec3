"""What every staff console page shares: the area's cookies, who is signed in, and the
guards that wrap each page (sign-in required; for posts also a same-site origin and the
session's CSRF token, checked before anything happens; for admin-only pages the role).

A console session is a web session of the staff kind whose subject is the staff
member's name. Every request looks the member up again, so a disabled member's session
stops working at once (disabling also deletes their sessions).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from supportd.domain.staff import StaffMember
from supportd.domain.web_sessions import STAFF, WebSession
from supportd.operations import console_auth
from supportd.operations.staff import StaffError
from supportd.web.forms import FormRefused
from supportd.web.sessions import Area
from supportd.web.site import FAILED, FORM_REFUSED, Endpoint, Guard, Layout, Site

log = logging.getLogger("supportd.web")

AREA = Area(STAFF, "/console", home="queue")
# Replies and notes are at most 8,000 characters (32 KB in UTF-8), twice over when a
# canned reply is inserted: well within this.
FORM_BYTES = 256 * 1024

# Messages a redirect may ask a page to show (site.Layout).
NOTICES = {
    "signed-out": "You have signed out.",
    "replied": "Your reply was sent to the customer.",
    "noted": "Your internal note was added.",
    "assigned": "The assignee was changed.",
    "unchanged": "Nothing changed: the case was like that already.",
    "status": "The status was changed.",
    "resolved": "The case is resolved.",
    "canned-created": "The canned reply was created.",
    "canned-saved": "The canned reply was saved.",
    "canned-deleted": "The canned reply was deleted.",
    "staff-disabled": "The staff member is disabled; their sessions have ended.",
    "staff-enabled": "The staff member is enabled.",
}


@dataclass(frozen=True, slots=True)
class Signed:
    """The staff member behind a request, and their session."""

    session: WebSession
    member: StaffMember
    cookie: str

    @property
    def caller(self) -> str:
        """How the audit trail names them."""
        return f"{self.member.name} (Staff console)"


async def signed_in(site: Site, request: Request) -> Signed | None:
    found = await site.live_session(request, AREA)
    if found is None:
        return None
    session, cookie = found
    member = await console_auth.member_of_session(site.ctx.store, session.subject)
    return Signed(session, member, cookie) if member else None


LAYOUT: Layout[Signed] = Layout(AREA, "member", lambda signed: signed.member, NOTICES)
values = LAYOUT.values


sign_in_redirect = AREA.sign_in_redirect
safe_next = AREA.safe_next


def error(
    site: Site, status: int, title: str, message: str, signed: Signed | None = None
) -> Response:
    """The console's error page."""
    page_values = LAYOUT.signed_values(signed)
    return site.error_page(status, title, message, page_values, template="console/error.html")


def staff_error(site: Site, exc: StaffError, signed: Signed) -> Response:
    """An operation's refusal as a page."""
    titles = {
        403: "Only admins may do this",
        404: "Not found",
        409: "This cannot be done now",
    }
    return error(
        site, exc.status, titles.get(exc.status, "This cannot be done"), exc.message, signed
    )


PageFn = Callable[[Request, Signed], Awaitable[Response]]
FormFn = Callable[[Request, Signed, FormData], Awaitable[Response]]


def failure_page(site: Site, exc: BaseException, signed: Signed | None = None) -> Response:
    if isinstance(exc, FormRefused):
        return error(site, exc.status, exc.title, exc.message, signed)
    if isinstance(exc, StaffError) and signed is not None:
        return staff_error(site, exc, signed)
    log.error("console page failed", exc_info=exc)
    return error(site, 500, *FAILED, signed)


def guard(site: Site) -> Guard[Signed]:
    return Guard(
        AREA,
        lambda request: signed_in(site, request),
        lambda signed: forbidden(site, signed),
        lambda exc, signed: failure_page(site, exc, signed),
    )


def page(site: Site, fn: PageFn) -> Endpoint:
    """A page for signed-in staff; others are sent to sign in and brought back."""
    return guard(site).page(fn)


def admin_page(site: Site, fn: PageFn) -> Endpoint:
    """A page only admins see (agents get 403, as from the staff API)."""

    async def admin_only(request: Request, signed: Signed) -> Response:
        if not signed.member.is_admin:
            return only_admins(site, signed)
        return await fn(request, signed)

    return page(site, admin_only)


def only_admins(site: Site, signed: Signed) -> Response:
    return error(
        site,
        403,
        "Only admins may do this",
        "Your role is agent: canned replies and staff members are managed by admins. "
        "Nothing was changed.",
        signed,
    )


def forbidden(site: Site, signed: Signed | None) -> Response:
    return error(site, 403, *FORM_REFUSED, signed)


def form(site: Site, fn: FormFn, *, admin: bool = False) -> Endpoint:
    """A form post by signed-in staff: refused (403, nothing changed) without a live
    session, from another site, without the session's CSRF token, or (admin) by an
    agent."""

    def agents_refused(signed: Signed) -> Response | None:
        return only_admins(site, signed) if admin and not signed.member.is_admin else None

    return guard(site).form(fn, max_bytes=FORM_BYTES, refuse=agents_refused)
