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
from starlette.requests import Request
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


class StaticHeaders:
    """Wraps the static files app: the same security headers (static files may be
    cached: they change only with the package)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                add_headers(headers, page=False)
                headers["Cache-Control"] = "public, max-age=3600"
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
