"""The customer Support Center under /support/: its routes, with a page of its own for
anything else under the prefix (any path, any method), and the security headers on
every answer."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, Router

from supportd.web import support_advisor, support_auth, support_cases, support_uploads
from supportd.web.security import WithHeaders
from supportd.web.site import Site, redirect
from supportd.web.support_site import AREA, error, signed_in, values

ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def mount(site: Site) -> Mount:
    async def home(request: Request) -> Response:
        return redirect(AREA.home_path)

    async def not_found(request: Request) -> Response:
        signed = await signed_in(site, request)
        return error(
            site,
            404,
            "Page not found",
            "There is no page at this address. Check it, or start from your cases.",
            values(signed, "", request),
        )

    routes = Router(
        routes=[
            Route("/", home, methods=["GET"]),
            *support_auth.routes(site),
            *support_cases.routes(site),
            *support_uploads.routes(site),
            *support_advisor.routes(site),
            # Every other path, and every other method of a known path: a page of ours.
            Route("/{path:path}", not_found, methods=ANY_METHOD),
        ]
    )
    return Mount(AREA.prefix, app=WithHeaders(routes))
