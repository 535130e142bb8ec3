"""What every web page's response carries, and the checks every form post passes.

- Security headers: a Content-Security-Policy that allows scripts, styles and images
  from this server only (no inline script, no inline style, no eval), denies framing
  (with X-Frame-Options for older browsers), and `nosniff`. Pages are never cached:
  they show private data.
- CSRF: every state-changing form carries a token (the session's, or before sign-in
  one bound to a cookie); a post without the right one is refused with 403 before
  anything happens. A post whose Origin header names another site is refused too.
"""

from __future__ import annotations

import hmac
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # One-time sign-in links carry their token in the path: never send it to another
    # site. (Not no-referrer: with it browsers send `Origin: null` on form posts.)
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
PAGE_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-store"}

CSRF_FIELD = "csrf_token"


def add_headers(headers: MutableMapping[str, str] | MutableHeaders, *, page: bool = True) -> None:
    for name, value in (PAGE_HEADERS if page else SECURITY_HEADERS).items():
        headers[name] = value


class WithHeaders:
    """Wraps an area's routes (or the static files): every response gets the security
    headers, whatever answered it (a page, a redirect, the static files' own 404 or
    304). Headers a page set already are kept. Static files may be cached (they change only
    with the package); pages may not."""

    def __init__(self, app: ASGIApp, *, static: bool = False) -> None:
        self.app = app
        self.static = static

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                wanted = dict(SECURITY_HEADERS)
                wanted["Cache-Control"] = "public, max-age=3600" if self.static else "no-store"
                for name, value in wanted.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except HTTPException as exc:
            # Starlette's own answers (the static files' 404, a 405) arrive as exceptions
            # for the app's exception handler, which knows nothing of these headers.
            if started:
                raise
            response = PlainTextResponse(str(exc.detail), status_code=exc.status_code)
            await response(scope, receive, send_with_headers)


def tokens_match(expected: str | None, given: Any) -> bool:
    """Constant-time comparison of an anti-forgery token."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def foreign_origin(request: Request) -> bool:
    """True if the browser says the post comes from a page of another site. (Browsers
    send Origin with every cross-site POST; absent or opaque (`null`), the token alone
    decides.)"""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return False
    return urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower()
