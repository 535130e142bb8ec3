"""Signing in and out of the Support Center, one-time sign-in links, and the account
page (change password, sign out everywhere).

Forms shown before sign-in carry a token bound to a cookie of their own (there is no
session yet); a successful sign-in makes a brand-new session id, deleting any the
browser presented, and the form cookie is dropped.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supportd.domain import plans
from supportd.domain.web_sessions import CUSTOMER
from supportd.domain.web_users import WebUser, password_problem
from supportd.operations import web_auth, web_users
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
from supportd.web.support_site import (
    AREA,
    SMALL_FORM_BYTES,
    Signed,
    error,
    failure_page,
    forbidden,
    form,
    page,
    safe_next,
    signed_in,
    values,
)

SIGN_IN = "SignIn"
# Field names of the password forms.
CURRENT, NEW, CONFIRM = "current_password", "new_password", "confirm_password"


def _anonymous_page(
    site: Site,
    request: Request,
    template: str,
    page_values: dict[str, Any],
    status: int = 200,
) -> Response:
    """A page with a form shown before sign-in, its token bound to the form cookie."""
    token, new = form_token(request, AREA)
    response = site.page(
        template, values(None, "", request, form_token=token, **page_values), status
    )
    if new:
        set_form_cookie(response, AREA, token, cookie_secure(request, site.ctx.config))
    return response


async def _anonymous_form(request: Request) -> FormData | None:
    """The posted form if it passes the pre-sign-in CSRF check, else None."""
    if foreign_origin(request):
        return None
    data = await read_form(request, max_bytes=SMALL_FORM_BYTES)
    cookie = request.cookies.get(AREA.form_cookie)
    return data if tokens_match(cookie, data.get(CSRF_FIELD)) else None


def _signed_in_response(site: Site, request: Request, cookie_value: str, target: str) -> Response:
    secure = cookie_secure(request, site.ctx.config)
    response = redirect(target)
    set_session_cookie(response, AREA, cookie_value, secure)
    response.delete_cookie(AREA.form_cookie, path=AREA.prefix, secure=secure, httponly=True)
    return response


def routes(site: Site) -> list[Route]:
    store, config = site.ctx.store, site.ctx.config

    async def sign_in_page(request: Request) -> Response:
        try:
            if await signed_in(site, request) is not None:
                return redirect(safe_next(request.query_params.get("next", "")))
            return _sign_in_form(request, email="", problem=None)
        except Exception as exc:
            return failure_page(site, exc)

    def _sign_in_form(
        request: Request, email: str, problem: str | None, status: int = 200, next_: str = ""
    ) -> Response:
        return _anonymous_page(
            site,
            request,
            "support/sign_in.html",
            {
                "title": "Sign in",
                "email": email,
                "problem": problem,
                "next": safe_next(next_ or request.query_params.get("next", "")),
            },
            status,
        )

    async def sign_in(request: Request) -> Response:
        try:
            data = await _anonymous_form(request)
            if data is None:
                return forbidden(site, None)
            email, password = text(data, "email"), text(data, "password")
            target = safe_next(text(data, "next"))
            if not email.strip() or not password:
                return _sign_in_form(
                    request,
                    email,
                    "Enter your email address and password.",
                    400,
                    target,
                )
            now = site.now_ms()
            address = client_address(request)
            result = await web_users.sign_in(store, config, email, password, address, now)
            if result.user is None:
                site.audit(
                    request,
                    None,
                    f"{email.strip().lower()[:200]} (Web)",
                    SIGN_IN,
                    429 if result.throttled else 401,
                    "Throttled" if result.throttled else "SignInFailed",
                )
                return _sign_in_form(
                    request, email, result.problem, 429 if result.throttled else 400, target
                )
            started = await web_auth.start_session(
                store, CUSTOMER, result.user.user_id, now, session_cookie(request, AREA)
            )
            site.audit(request, result.user.account_id, f"{result.user.email} (Web)", SIGN_IN, 200)
            return _signed_in_response(site, request, started.cookie_value, target)
        except Exception as exc:
            return failure_page(site, exc)

    async def sign_out(request: Request) -> Response:
        """Ends the session on the server. Without a live session there is nothing to end
        (and nothing to forge): the browser is sent to sign in either way."""
        try:
            signed = await signed_in(site, request)
            if signed is not None:
                if foreign_origin(request):
                    return forbidden(site, signed)
                data = await read_form(request, max_bytes=SMALL_FORM_BYTES)
                if not tokens_match(signed.session.csrf_token, data.get(CSRF_FIELD)):
                    return forbidden(site, signed)
                await web_auth.end_session(store, signed.cookie)
                site.audit(request, signed.principal.account_id, signed.caller, "SignOut", 200)
            response = redirect(f"{AREA.sign_in_path}?done=signed-out")
            clear_session_cookie(response, AREA, cookie_secure(request, config))
            return response
        except Exception as exc:
            return failure_page(site, exc)

    async def sign_out_everywhere(request: Request, signed: Signed, data: FormData) -> Response:
        await web_auth.end_all_sessions(store, CUSTOMER, signed.user.user_id)
        site.audit(request, signed.principal.account_id, signed.caller, "SignOutEverywhere", 200)
        response = redirect(f"{AREA.sign_in_path}?done=everywhere")
        clear_session_cookie(response, AREA, cookie_secure(request, config))
        return response

    def _account_page(
        request: Request, signed: Signed, problems: dict[str, str], status: int = 200
    ) -> Response:
        return site.page(
            "support/account.html",
            values(
                signed,
                "account",
                request,
                title="Your account",
                plan=signed.principal.plan,
                plan_name=signed.principal.plan.title(),
                api_access=plans.has_api_access(signed.principal.plan),
                problems=problems,
            ),
            status,
        )

    async def account(request: Request, signed: Signed) -> Response:
        return _account_page(request, signed, {})

    async def change_password(request: Request, signed: Signed, data: FormData) -> Response:
        current, new, confirm = text(data, CURRENT), text(data, NEW), text(data, CONFIRM)
        problems: dict[str, str] = {}
        if not current:
            problems[CURRENT] = "Enter your current password."
        problem = password_problem(new)
        if problem:
            problems[NEW] = problem
        elif new != confirm:
            problems[CONFIRM] = "The two new passwords are not the same."
        if not problems:
            found = await web_users.change_password(
                store, signed.user, current, new, signed.session.session_hash, site.now_ms()
            )
            problems = {f"{field}_password": message for field, message in found.items()}
        if problems:
            return _account_page(request, signed, problems, 400)
        site.audit(request, signed.principal.account_id, signed.caller, "ChangePassword", 200)
        return redirect("/support/account?done=password")

    def _invite_form(
        request: Request, user: WebUser, problems: dict[str, str], status: int = 200
    ) -> Response:
        return _anonymous_page(
            site,
            request,
            "support/invite.html",
            {"title": "Choose a password", "invited": user, "problems": problems},
            status,
        )

    def _invalid_link() -> Response:
        return error(
            site,
            404,
            "This sign-in link cannot be used",
            "The link is unknown, was used already or has expired. Ask your administrator "
            "for a new one.",
            {"area_prefix": AREA.prefix},
        )

    async def invite_page(request: Request) -> Response:
        try:
            user = await web_users.invite_user(store, request.path_params["token"], site.now_ms())
            return _invalid_link() if user is None else _invite_form(request, user, {})
        except Exception as exc:
            return failure_page(site, exc)

    async def accept_invite(request: Request) -> Response:
        try:
            token = request.path_params["token"]
            data = await _anonymous_form(request)
            if data is None:
                return forbidden(site, None)
            user = await web_users.invite_user(store, token, site.now_ms())
            if user is None:
                return _invalid_link()
            new, confirm = text(data, NEW), text(data, CONFIRM)
            problem = password_problem(new)
            if problem or new != confirm:
                problems = (
                    {NEW: problem} if problem else {CONFIRM: "The two passwords are not the same."}
                )
                return _invite_form(request, user, problems, 400)
            now = site.now_ms()
            accepted = await web_users.accept_invite(store, token, new, now)
            if accepted is None:
                return _invalid_link()
            started = await web_auth.start_session(
                store, CUSTOMER, accepted.user_id, now, session_cookie(request, AREA)
            )
            site.audit(request, accepted.account_id, f"{accepted.email} (Web)", "AcceptInvite", 200)
            return _signed_in_response(
                site, request, started.cookie_value, f"{AREA.home_path}?done=welcome"
            )
        except Exception as exc:
            return failure_page(site, exc)

    return [
        Route("/sign-in", sign_in_page, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/sign-out", sign_out, methods=["POST"]),
        Route("/sign-out-everywhere", form(site, sign_out_everywhere), methods=["POST"]),
        Route("/account", page(site, account), methods=["GET"]),
        Route("/account/password", form(site, change_password), methods=["POST"]),
        Route("/invite/{token}", invite_page, methods=["GET"]),
        Route("/invite/{token}", accept_invite, methods=["POST"]),
    ]
