"""Signing in to and out of the staff console.

The sign-in form carries a token bound to a cookie of its own (there is no session
yet); a successful sign-in makes a brand-new session id, deleting any the browser
presented (no fixation), and drops the form cookie. Signing out deletes the session on
the server.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from supportd.operations import console_auth, web_auth
from supportd.web.console_site import Signed, guard, values
from supportd.web.sign_in import (
    Admitted,
    SignIn,
)
from supportd.web.site import Site

SIGN_IN = "ConsoleSignIn"
SMALL_FORM_BYTES = 16 * 1024


def routes(site: Site) -> list[Route]:
    store, config = site.ctx.store, site.ctx.config

    async def end(request: Request, signed: Signed) -> None:
        await web_auth.end_session(store, signed.cookie)
        site.audit(request, None, signed.caller, "ConsoleSignOut", 200)

    return SignIn(
        site=site,
        guard=guard(site),
        template="console/sign_in.html",
        values=values,
        check=lambda email, password, address, now_ms: console_auth.sign_in(
            store, config, email, password, address, now_ms
        ),
        admit=lambda member: Admitted(member.name, None, f"{member.name} (Staff console)"),
        operation=SIGN_IN,
        caller_suffix="Staff console",
        end=end,
        max_bytes=SMALL_FORM_BYTES,
    ).routes()
