"""Signing in and out of the Support Center, one-time sign-in links, and the account
page (change password, sign out everywhere).

Forms shown before sign-in carry a token bound to a cookie of their own (there is no
session yet); a successful sign-in makes a brand-new session id, deleting any the
browser presented, and the form cookie is dropped.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supportd.domain import plans
from supportd.domain.web_sessions import CUSTOMER
from supportd.domain.web_users import WebUser, password_problem
from supportd.operations import web_auth, web_users
from supportd.web.forms import text
from supportd.web.sessions import clear_session_cookie, cookie_secure, session_cookie
from supportd.web.sign_in import (
    Admitted,
    SignIn,
    anonymous_form,
    anonymous_page,
    signed_in_response,
)
from supportd.web.site import Site, redirect
from supportd.web.support_site import (
    AREA,
    SMALL_FORM_BYTES,
    Signed,
    error,
    failure_page,
    forbidden,
    form,
    guard,
    page,
    values,
)

SIGN_IN = "SignIn"
# Field names of the password forms.
CURRENT, NEW, CONFIRM = "current_password", "new_password", "confirm_password"


def routes(site: Site) -> list[Route]:
    store, config = site.ctx.store, site.ctx.config

    async def end(request: Request, signed: Signed) -> None:
        await web_auth.end_session(store, signed.cookie)
        site.audit(request, signed.principal.account_id, signed.caller, "SignOut", 200)

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
        page_values = values(
            None, "", request, title="Choose a password", invited=user, problems=problems
        )
        return anonymous_page(site, AREA, request, "support/invite.html", page_values, status)

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
            data = await anonymous_form(request, AREA, SMALL_FORM_BYTES)
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
            welcome = f"{AREA.home_path}?done=welcome"
            return signed_in_response(request, config, AREA, started.cookie_value, welcome)
        except Exception as exc:
            return failure_page(site, exc)

    return [
        *SignIn(
            site=site,
            guard=guard(site),
            template="support/sign_in.html",
            values=values,
            check=lambda email, password, address, now_ms: web_users.sign_in(
                store, config, email, password, address, now_ms
            ),
            admit=lambda user: Admitted(user.user_id, user.account_id, f"{user.email} (Web)"),
            operation=SIGN_IN,
            caller_suffix="Web",
            end=end,
            max_bytes=SMALL_FORM_BYTES,
        ).routes(),
        Route("/sign-out-everywhere", form(site, sign_out_everywhere), methods=["POST"]),
        Route("/account", page(site, account), methods=["GET"]),
        Route("/account/password", form(site, change_password), methods=["POST"]),
        Route("/invite/{token}", invite_page, methods=["GET"]),
        Route("/invite/{token}", accept_invite, methods=["POST"]),
    ]
