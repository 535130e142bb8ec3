"""What every area of the web pages shares: the operations context, the templates, the
service model (forms are validated as API requests are), error pages, redirects, and
one audit row per operation a page runs (as the API writes one per call)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import msgspec
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from supportd import api_errors
from supportd.domain import clock
from supportd.domain.accounts import AuditEntry
from supportd.domain.records import Principal
from supportd.domain.web_sessions import WebSession
from supportd.http import protocol
from supportd.http.attachment_links import request_base_url
from supportd.operations import attachments, web_auth
from supportd.operations.context import Context
from supportd.operations.registry import HANDLERS
from supportd.web.forms import read_form
from supportd.web.security import CSRF_FIELD, add_headers, foreign_origin, tokens_match
from supportd.web.sessions import Area, session_cookie
from supportd.web.templating import Templates

log = logging.getLogger("supportd.web")

# The title and message of the error page of a page that failed, and of a refused form
# (the same in every area).
FAILED = (
    "Something went wrong",
    "The page could not be shown. Try again in a moment; if it keeps happening, tell "
    "your administrator the time it happened.",
)
FORM_REFUSED = (
    "This form cannot be accepted",
    "The form has expired or did not come from this site, so nothing was changed. "
    "Go back, reload the page and try again.",
)


@dataclass
class Site:
    ctx: Context
    templates: Templates = field(default_factory=Templates)
    model: protocol.ServiceModel = field(default_factory=protocol.load_model)

    def now_ms(self) -> int:
        return self.ctx.clock.now_ms()

    def page(
        self,
        name: str,
        values: Mapping[str, Any],
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        html = self.templates.env.get_template(name).render(values)
        response = HTMLResponse(html, status_code=status, headers=dict(headers or {}))
        add_headers(response.headers)
        return response

    async def live_session(self, request: Request, area: Area) -> tuple[WebSession, str] | None:
        """The area's live session behind the request's cookie, and the cookie."""
        cookie = session_cookie(request, area)
        store, config = self.ctx.store, self.ctx.config
        session = await web_auth.live_session(store, config, cookie, area.kind, self.now_ms())
        if session is None or cookie is None:
            return None
        return session, cookie

    def error_page(
        self,
        status: int,
        title: str,
        message: str,
        values: Mapping[str, Any] | None = None,
        template: str = "error.html",
    ) -> Response:
        """A page that explains what went wrong (`template`: an area's own, extending
        its layout)."""
        page = {"title": title, "message": message, "status": status, **(values or {})}
        page.setdefault("user", None)
        page.setdefault("csrf_token", "")
        page.setdefault("section", "")
        page.setdefault("area_prefix", "")
        page.setdefault("notice", None)
        return self.page(template, page, status)

    async def invoke(
        self,
        request: Request,
        principal: Principal,
        caller: str,
        operation: str,
        body: dict[str, Any],
    ) -> dict[str, Any]:
        """Run an API operation for a page: the body validated against the service
        model exactly as an API request's, then the same handler; one audit row either
        way. Raises the operation's ApiError."""
        op = self.model.operations[operation]
        status, code = 200, None
        try:
            params = protocol.parse_input(self.model, op, body)
            if operation in attachments.LINK_OPERATIONS:
                attachments.REQUEST_BASE_URL.set(request_base_url(request))
            return await HANDLERS[operation](self.ctx, principal, params)
        except api_errors.ApiError as error:
            status, code = error.status, error.code
            raise
        except Exception:
            status, code = 500, "InternalServerError"
            raise
        finally:
            self.audit(request, principal.account_id, caller, operation, status, code)

    def audit(
        self,
        request: Request,
        account_id: str | None,
        caller: str | None,
        operation: str,
        status: int,
        error_code: str | None = None,
    ) -> None:
        """One audit row, as the API writes: who, what, from where, how it ended. The
        caller is `<email> (Web)`; no access key; never form contents."""
        try:
            self.ctx.store.record_audit(
                AuditEntry(
                    at_ms=clock.now_ms(),
                    request_id=str(uuid.uuid4()),
                    account_id=account_id,
                    access_key_id=None,
                    caller=caller,
                    operation=operation[:128],
                    source_ip=client_address(request),
                    user_agent=request.headers.get("user-agent", "")[:256],
                    http_status=status,
                    error_code=error_code,
                )
            )
        except Exception:
            log.exception("audit row of web operation %s not recorded", operation)


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def redirect(url: str, headers: Mapping[str, str] | None = None) -> Response:
    """POST/redirect/GET: 303, so the browser's reload never posts again."""
    response = RedirectResponse(url, status_code=303, headers=dict(headers or {}))
    add_headers(response.headers)
    return response


def json_response(status: int, body: Any) -> Response:
    """An answer to a page's script, with the pages' headers."""
    response = Response(
        msgspec.json.encode(body), status_code=status, media_type="application/json"
    )
    add_headers(response.headers)
    return response


class SignedIn(Protocol):
    """Whoever an area's `signed_in` finds behind a request."""

    @property
    def session(self) -> WebSession: ...


S = TypeVar("S", bound=SignedIn)
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Guard(Generic[S]):
    """How an area finds who is signed in, and answers a refused form (`forbidden`) and
    a page that failed (`failure`)."""

    area: Area
    signed_in: Callable[[Request], Awaitable[S | None]]
    forbidden: Callable[[S | None], Response]
    failure: Callable[[BaseException, S | None], Response]

    def page(self, fn: Callable[[Request, S], Awaitable[Response]]) -> Endpoint:
        """A page for the signed-in; others are sent to sign in and brought back.
        Anything the page raises becomes the failure page."""

        async def endpoint(request: Request) -> Response:
            signed = None
            try:
                signed = await self.signed_in(request)
                if signed is None:
                    return redirect(self.area.sign_in_redirect(request))
                return await fn(request, signed)
            except Exception as exc:
                return self.failure(exc, signed)

        return endpoint

    def form(
        self,
        fn: Callable[[Request, S, FormData], Awaitable[Response]],
        *,
        max_bytes: int,
        max_files: int = 0,
        refuse: Callable[[S], Response | None] | None = None,
    ) -> Endpoint:
        """A form post by the signed-in: refused (`forbidden`, nothing changed) without
        a live session, from another site or without the session's CSRF token; then by
        `refuse`, if it answers."""

        async def endpoint(request: Request) -> Response:
            signed = None
            try:
                signed = await self.signed_in(request)
                if signed is None or foreign_origin(request):
                    return self.forbidden(signed)
                data = await read_form(request, max_bytes=max_bytes, max_files=max_files)
                try:
                    if not tokens_match(signed.session.csrf_token, data.get(CSRF_FIELD)):
                        return self.forbidden(signed)
                    refused = refuse(signed) if refuse is not None else None
                    if refused is not None:
                        return refused
                    return await fn(request, signed, data)
                finally:
                    await data.close()
            except Exception as exc:
                return self.failure(exc, signed)

        return endpoint


@dataclass(frozen=True, slots=True)
class Layout(Generic[S]):
    """What an area's base layout shows around each page: who is signed in (`who`, under
    the name `person`), the session's CSRF token for its forms, and a notice a redirect
    asked for (`?done=<key>`: only the fixed texts in `notices`, so a link cannot make a
    page say anything else)."""

    area: Area
    person: str
    who: Callable[[S], object]
    notices: Mapping[str, str]

    def signed_values(self, signed: S | None) -> dict[str, Any]:
        return {
            self.person: self.who(signed) if signed else None,
            "csrf_token": signed.session.csrf_token if signed else "",
            "area_prefix": self.area.prefix,
        }

    def values(
        self, signed: S | None, section: str, request: Request, **more: Any
    ) -> dict[str, Any]:
        """The layout's values, plus a page's own."""
        return {
            **self.signed_values(signed),
            "section": section,
            "notice": self.notices.get(request.query_params.get("done", "")),
            **more,
        }
