"""Signing in and out, as every area of the web pages does it.

Forms shown before sign-in carry a token bound to a cookie of their own (there is no
session yet); a successful sign-in makes a brand-new session id (the area's operation
deletes any the browser presented) and drops the form cookie. Signing out deletes the
session on the server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supportd.config import Config
from supportd.operations import web_auth
from supportd.operations.web_auth import SignInResult
from supportd.web.forms import read_form, text
from supportd.web.security import CSRF_FIELD, foreign_origin, tokens_match
from supportd.web.sessions import (
    Area,
    clear_session_cookie,
    cookie_secure,
    form_token,
    session_cookie,
    set_form_cookie,
    set_session_cookie,
)
from supportd.web.site import Endpoint, Guard, S, Site, client_address, redirect


def anonymous_page(
    site: Site,
    area: Area,
    request: Request,
    template: str,
    page_values: Mapping[str, Any],
    status: int = 200,
) -> Response:
    """A page with a form shown before sign-in, its token bound to the form cookie."""
    token, new = form_token(request, area)
    response = site.page(template, {**page_values, "form_token": token}, status)
    if new:
        set_form_cookie(response, area, token, cookie_secure(request, site.ctx.config))
    return response


async def anonymous_form(request: Request, area: Area, max_bytes: int) -> FormData | None:
    """The posted form if it passes the pre-sign-in CSRF check, else None."""
    if foreign_origin(request):
        return None
    data = await read_form(request, max_bytes=max_bytes)
    cookie = request.cookies.get(area.form_cookie)
    return data if tokens_match(cookie, data.get(CSRF_FIELD)) else None


def signed_in_response(
    request: Request, config: Config, area: Area, cookie_value: str, target: str
) -> Response:
    """To `target` with the new session's cookie; the form cookie dropped."""
    secure = cookie_secure(request, config)
    response = redirect(target)
    set_session_cookie(response, area, cookie_value, secure)
    response.delete_cookie(area.form_cookie, path=area.prefix, secure=secure, httponly=True)
    return response


def audit_refused(
    site: Site, request: Request, caller: str, operation: str, throttled: bool
) -> None:
    """The audit row of a refused sign-in (wrong password or throttled)."""
    site.audit(
        request,
        None,
        caller,
        operation,
        429 if throttled else 401,
        "Throttled" if throttled else "SignInFailed",
    )


@dataclass(frozen=True, slots=True)
class Admitted:
    """Whom a sign-in lets in: the session's subject, their account (for the audit row)
    and how the audit trail names them."""

    subject: str
    account_id: str | None
    caller: str


T = TypeVar("T")
# The area's page values: values(signed, section, request, **more).
Values = Callable[..., dict[str, Any]]


@dataclass(frozen=True, slots=True)
class SignIn(Generic[S, T]):
    """An area's sign-in and sign-out pages."""

    site: Site
    guard: Guard[S]
    template: str  # the sign-in form
    values: Values
    # The area's sign-in operation, given (email, password, client address, now ms).
    check: Callable[[str, str, str, int], Awaitable[SignInResult[T]]]
    admit: Callable[[T], Admitted]  # whom the operation's answer lets in
    operation: str  # the audit row's operation name of a sign-in
    caller_suffix: str  # a refused sign-in's audit caller: "<email> (<suffix>)"
    end: Callable[[Request, S], Awaitable[None]]  # ends a session and audits it
    max_bytes: int

    def routes(self) -> list[Route]:
        """/sign-in (the form and its post) and /sign-out."""
        guard, config = self.guard, self.site.ctx.config
        return [
            Route(
                "/sign-in",
                sign_in_page(guard, self.blank_form),
                methods=["GET"],
            ),
            Route("/sign-in", self.sign_in, methods=["POST"]),
            Route(
                "/sign-out",
                sign_out(guard, self.end, config, self.max_bytes),
                methods=["POST"],
            ),
        ]

    def blank_form(self, request: Request) -> Response:
        return self.form(request, email="", problem=None)

    def form(
        self, request: Request, email: str, problem: str | None, status: int = 200, next_: str = ""
    ) -> Response:
        page_values = self.values(
            None,
            "",
            request,
            title="Sign in",
            email=email,
            problem=problem,
            next=self.guard.area.safe_next(next_ or request.query_params.get("next", "")),
        )
        area = self.guard.area
        return anonymous_page(self.site, area, request, self.template, page_values, status)

    async def sign_in(self, request: Request) -> Response:
        site, area = self.site, self.guard.area
        try:
            data = await anonymous_form(request, area, self.max_bytes)
            if data is None:
                return self.guard.forbidden(None)
            email, password = text(data, "email"), text(data, "password")
            target = area.safe_next(text(data, "next"))
            if not email.strip() or not password:
                return self.form(
                    request, email, "Enter your email address and password.", 400, target
                )
            now = site.now_ms()
            attempt = await self.check(email, password, client_address(request), now)
            if attempt.admitted is None:
                caller = f"{email.strip().lower()[:200]} ({self.caller_suffix})"
                audit_refused(site, request, caller, self.operation, attempt.throttled)
                status = 429 if attempt.throttled else 400
                return self.form(request, email, attempt.problem, status, target)
            admitted = self.admit(attempt.admitted)
            started = await web_auth.start_session(
                site.ctx.store, area.kind, admitted.subject, now, session_cookie(request, area)
            )
            site.audit(request, admitted.account_id, admitted.caller, self.operation, 200)
            return signed_in_response(request, site.ctx.config, area, started.cookie_value, target)
        except Exception as exc:
            return self.guard.failure(exc, None)


def sign_in_page(guard: Guard[S], show_form: Callable[[Request], Response]) -> Endpoint:
    """The sign-in form; the signed-in go straight on to where they were going."""

    async def endpoint(request: Request) -> Response:
        try:
            if await guard.signed_in(request) is not None:
                return redirect(guard.area.safe_next(request.query_params.get("next", "")))
            return show_form(request)
        except Exception as exc:
            return guard.failure(exc, None)

    return endpoint


def sign_out(
    guard: Guard[S], end: Callable[[Request, S], Awaitable[None]], config: Config, max_bytes: int
) -> Endpoint:
    """Ends the session on the server (`end`: ends and audits it). Without a live session
    there is nothing to end (and nothing to forge): the browser is sent to sign in
    either way."""

    async def endpoint(request: Request) -> Response:
        signed = None
        try:
            signed = await guard.signed_in(request)
            if signed is not None:
                if foreign_origin(request):
                    return guard.forbidden(signed)
                data = await read_form(request, max_bytes=max_bytes)
                if not tokens_match(signed.session.csrf_token, data.get(CSRF_FIELD)):
                    return guard.forbidden(signed)
                await end(request, signed)
            response = redirect(f"{guard.area.sign_in_path}?done=signed-out")
            clear_session_cookie(response, guard.area, cookie_secure(request, config))
            return response
        except Exception as exc:
            return guard.failure(exc, signed)

    return endpoint
