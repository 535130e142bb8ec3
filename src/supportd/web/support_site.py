"""What every Support Center page shares: the area's cookies, who is signed in, and the
guards that wrap each page (sign-in required; for posts also a same-site origin and the
session's CSRF token, checked before anything happens)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from supportd.domain.records import Principal
from supportd.domain.web_sessions import CUSTOMER, WebSession
from supportd.domain.web_users import WebUser
from supportd.operations import web_users
from supportd.web.forms import FormRefused
from supportd.web.sessions import Area
from supportd.web.site import FAILED, FORM_REFUSED, Endpoint, Guard, Layout, Site

log = logging.getLogger("supportd.web")

AREA = Area(CUSTOMER, "/support", home="cases")
SMALL_FORM_BYTES = 64 * 1024

# Messages a redirect may ask a page to show (site.Layout).
NOTICES = {
    "signed-out": "You have signed out.",
    "everywhere": "You have signed out on every device and browser.",
    "ended": "Your session has ended. Sign in again to continue.",
    "password": "Your password was changed. Every other session of yours has ended.",
    "welcome": "Your password is set and you are signed in.",
    "created": "Your case was created.",
    "replied": "Your reply was sent.",
    "reopened": "Your reply was sent and the case is open again.",
    "resolved": "The case is resolved. Reply to it within 14 days to reopen it.",
}


@dataclass(frozen=True, slots=True)
class Signed:
    """The person behind a request: their session, user record and the Principal their
    operations run as."""

    session: WebSession
    user: WebUser
    principal: Principal
    cookie: str

    @property
    def caller(self) -> str:
        """How the audit trail names them (the API writes `<key> (User)`)."""
        return f"{self.user.email} (Web)"


async def signed_in(site: Site, request: Request) -> Signed | None:
    found = await site.live_session(request, AREA)
    if found is None:
        return None
    session, cookie = found
    store, config = site.ctx.store, site.ctx.config
    user = await store.get_web_user(session.subject)
    if user is None or not user.active:
        return None
    principal = await web_users.principal(store, config, user)
    if principal is None:
        return None
    return Signed(session, user, principal, cookie)


LAYOUT: Layout[Signed] = Layout(AREA, "user", lambda signed: signed.user, NOTICES)
values = LAYOUT.values


sign_in_redirect = AREA.sign_in_redirect
safe_next = AREA.safe_next


def error(
    site: Site, status: int, title: str, message: str, page_values: dict[str, Any] | None = None
) -> Response:
    """The Support Center's error page."""
    return site.error_page(status, title, message, page_values, template="support/error.html")


PageFn = Callable[[Request, Signed], Awaitable[Response]]
FormFn = Callable[[Request, Signed, FormData], Awaitable[Response]]


def failure_page(site: Site, exc: BaseException) -> Response:
    if isinstance(exc, FormRefused):
        return error(site, exc.status, exc.title, exc.message)
    log.error("web page failed", exc_info=exc)
    return error(site, 500, *FAILED)


def guard(site: Site) -> Guard[Signed]:
    return Guard(
        AREA,
        lambda request: signed_in(site, request),
        lambda signed: forbidden(site, signed),
        lambda exc, _signed: failure_page(site, exc),
    )


def page(site: Site, fn: PageFn) -> Endpoint:
    """A page for signed-in users; others are sent to sign in and brought back."""
    return guard(site).page(fn)


def forbidden(site: Site, signed: Signed | None) -> Response:
    return error(
        site,
        403,
        *FORM_REFUSED,
        {"user": signed.user if signed else None, "area_prefix": AREA.prefix},
    )


def form(
    site: Site, fn: FormFn, *, max_bytes: int = SMALL_FORM_BYTES, max_files: int = 0
) -> Endpoint:
    """A form post by a signed-in user: refused (403, nothing changed) without a live
    session, from another site, or without the session's CSRF token."""
    return guard(site).form(fn, max_bytes=max_bytes, max_files=max_files)
