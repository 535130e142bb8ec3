"""Session and form cookies of one area of the web pages (the Support Center under
/support, the staff console under its own prefix).

Each area has its own cookies, scoped to its path, so a person signed in to both in one
browser holds two independent sessions. Cookies are HttpOnly (no script reads them),
SameSite=Lax (not sent with cross-site posts) and Secure over https; they carry no
Max-Age: the browser drops them when it closes, and the server ends sessions by its own
clock whatever the browser keeps.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from supportd.config import Config

MAX_COOKIE_CHARS = 100


@dataclass(frozen=True, slots=True)
class Area:
    kind: str  # domain.web_sessions.CUSTOMER or STAFF
    prefix: str  # "/support": the path every page and cookie of the area is under
    home: str  # the page after sign-in, under the prefix ("cases")

    @property
    def cookie(self) -> str:
        """The session cookie's name (supportd_support, supportd_console)."""
        return "supportd_" + self.prefix.strip("/")

    @property
    def home_path(self) -> str:
        return f"{self.prefix}/{self.home}"

    @property
    def sign_in_path(self) -> str:
        return self.prefix + "/sign-in"

    @property
    def form_cookie(self) -> str:
        """Binds the anti-forgery token of forms shown before sign-in."""
        return self.cookie + "_form"

    def sign_in_redirect(self, request: Request) -> str:
        """The sign-in page, asked to bring the browser back to this request's page."""
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return f"{self.sign_in_path}?next={quote(target, safe='')}"

    def safe_next(self, target: str) -> str:
        """Where to go after signing in: a page of this area, never another site."""
        if (
            target.startswith(self.prefix + "/")
            and not target.startswith("//")
            and "\\" not in target
            and all(32 < ord(c) < 127 for c in target)
        ):
            return target
        return self.home_path


def cookie_secure(request: Request, config: Config) -> bool:
    if config.web_cookie_secure == "always":
        return True
    if config.web_cookie_secure == "never":
        return False
    return request.url.scheme == "https" or config.public_url.startswith("https://")


def _set(
    response: Response, area: Area, name: str, value: str, secure: bool, clear: bool = False
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=0 if clear else None,
        path=area.prefix,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def session_cookie(request: Request, area: Area) -> str | None:
    value = request.cookies.get(area.cookie)
    return value if value and len(value) <= MAX_COOKIE_CHARS else None


def set_session_cookie(response: Response, area: Area, value: str, secure: bool) -> None:
    _set(response, area, area.cookie, value, secure)


def clear_session_cookie(response: Response, area: Area, secure: bool) -> None:
    _set(response, area, area.cookie, "", secure, clear=True)


def form_token(request: Request, area: Area) -> tuple[str, bool]:
    """The anti-forgery token of forms before sign-in: the form cookie's value (a new
    one, and True, if the browser has none yet)."""
    current = request.cookies.get(area.form_cookie)
    if current and 20 <= len(current) <= MAX_COOKIE_CHARS:
        return current, False
    return secrets.token_urlsafe(32), True


def set_form_cookie(response: Response, area: Area, value: str, secure: bool) -> None:
    _set(response, area, area.form_cookie, value, secure)
