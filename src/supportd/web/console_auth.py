"""Signing in to and out of the staff console.

The sign-in form carries a token bound to a cookie of its own (there is no session
yet); a successful sign-in makes a brand-new session id, deleting any the browser
presented (no fixation), and drops the form cookie. Signing out deletes the session on
the server.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supportd.domain.web_sessions import STAFF
from supportd.operations import console_auth, web_auth
from supportd.web.console_site import (
    AREA,
    failure_page,
    forbidden,
    safe_next,
    signed_in,
    values,
)
from supportd.web.forms import read_form, text
from supportd.web.security import CSRF_FIELD, foreign_origin, tokens_match
from supportd.web.sessions import (
    clear_session_cookie,
    cookie_secure,
    form_token,
    session_cookie,
    set_form_cookie,
    set_session_cookie,
)
from supportd.web.site import Site, client_address, redirect

SIGN_IN = "ConsoleSignIn"
SMALL_FORM_BYTES = 16 * 1024


def routes(site: Site) -> list[Route]:
    store, config = site.ctx.store, site.ctx.config

    def _sign_in_form(
        request: Request, email: str, problem: str | None, status: int = 200, next_: str = ""
    ) -> Response:
        token, new = form_token(request, AREA)
        page_values: dict[str, Any] = values(
            None,
            "",
            request,
            title="Sign in",
            form_token=token,
            email=email,
            problem=problem,
            next=safe_next(next_ or request.query_params.get("next", "")),
        )
        response = site.page("console/sign_in.html", page_values, status)
        if new:
            set_form_cookie(response, AREA, token, cookie_secure(request, config))
        return response

    async def sign_in_page(request: Request) -> Response:
        try:
            if await signed_in(site, request) is not None:
                return redirect(safe_next(request.query_params.get("next", "")))
            return _sign_in_form(request, email="", problem=None)
        except Exception as exc:
            return failure_page(site, exc)

    async def _anonymous_form(request: Request) -> FormData | None:
        """The posted form if it passes the pre-sign-in CSRF check, else None."""
        if foreign_origin(request):
            return None
        data = await read_form(request, max_bytes=SMALL_FORM_BYTES)
        cookie = request.cookies.get(AREA.form_cookie)
        return data if tokens_match(cookie, data.get(CSRF_FIELD)) else None

    async def sign_in(request: Request) -> Response:
        try:
            data = await _anonymous_form(request)
            if data is None:
                return forbidden(site, None)
            email, password = text(data, "email"), text(data, "password")
            target = safe_next(text(data, "next"))
            if not email.strip() or not password:
                return _sign_in_form(
                    request, email, "Enter your email address and password.", 400, target
                )
            now = site.now_ms()
            result = await console_auth.sign_in(
                store, config, email, password, client_address(request), now
            )
            if result.member is None:
                site.audit(
                    request,
                    None,
                    f"{email.strip().lower()[:200]} (Staff console)",
                    SIGN_IN,
                    429 if result.throttled else 401,
                    "Throttled" if result.throttled else "SignInFailed",
                )
                return _sign_in_form(
                    request, email, result.problem, 429 if result.throttled else 400, target
                )
            started = await web_auth.start_session(
                store, STAFF, result.member.name, now, session_cookie(request, AREA)
            )
            site.audit(request, None, f"{result.member.name} (Staff console)", SIGN_IN, 200)
            secure = cookie_secure(request, config)
            response = redirect(target)
            set_session_cookie(response, AREA, started.cookie_value, secure)
            response.delete_cookie(AREA.form_cookie, path=AREA.prefix, secure=secure, httponly=True)
            return response
        except Exception as exc:
            return failure_page(site, exc)

    async def sign_out(request: Request) -> Response:
        """Ends the session on the server. Without a live session there is nothing to end
        (and nothing to forge): the browser is sent to sign in either way."""
        signed = None
        try:
            signed = await signed_in(site, request)
            if signed is not None:
                if foreign_origin(request):
                    return forbidden(site, signed)
                data = await read_form(request, max_bytes=SMALL_FORM_BYTES)
                if not tokens_match(signed.session.csrf_token, data.get(CSRF_FIELD)):
                    return forbidden(site, signed)
                await web_auth.end_session(store, signed.cookie)
                site.audit(request, None, signed.caller, "ConsoleSignOut", 200)
            response = redirect(f"{AREA.sign_in_path}?done=signed-out")
            clear_session_cookie(response, AREA, cookie_secure(request, config))
            return response
        except Exception as exc:
            return failure_page(site, exc, signed)

    return [
        Route("/sign-in", sign_in_page, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/sign-out", sign_out, methods=["POST"]),
    ]
