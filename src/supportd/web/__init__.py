"""The web pages: the customer Support Center under /support/ (and, built on the same
foundation, the staff console). Server-rendered HTML over the same operations as the
API; every page works without JavaScript.

Foundation modules, shared by every area: security (headers, CSRF), sessions (cookies),
forms (reading posts within limits), templating (Jinja2, autoescaped), formats, site
(the context, error pages, audited operation calls), static (CSS and JS). The Support
Center: support_*.py. The staff console: console_*.py.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from supportd.operations.context import Context


def routes(ctx: Context) -> list[BaseRoute]:
    """Every route of the web pages, for app.py to mount."""
    from supportd.web import console, static, support
    from supportd.web.site import Site

    site = Site(ctx)

    async def support_home(request: Request) -> Response:
        return RedirectResponse("/support/", status_code=308)

    async def console_home(request: Request) -> Response:
        return RedirectResponse("/console/", status_code=308)

    return [
        static.mount(),
        Route("/support", support_home),
        support.mount(site),
        Route("/console", console_home),
        console.mount(site),
    ]
