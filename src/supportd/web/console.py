"""The staff console under /console/: its routes, with a page of its own for anything
else under the prefix (so every answer carries the security headers)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from supportd.web import (
    console_auth,
    console_canned,
    console_case,
    console_queue,
    console_search,
    console_staff,
)
from supportd.web.console_site import AREA, error, signed_in
from supportd.web.site import Site, redirect


def mount(site: Site) -> Mount:
    async def home(request: Request) -> Response:
        return redirect(AREA.home_path)

    async def not_found(request: Request) -> Response:
        return error(
            site,
            404,
            "Page not found",
            "There is no page at this address. Check it, or start from the queue.",
            await signed_in(site, request),
        )

    return Mount(
        AREA.prefix,
        routes=[
            Route("/", home, methods=["GET"]),
            *console_auth.routes(site),
            *console_queue.routes(site),
            *console_search.routes(site),
            *console_case.routes(site),
            *console_canned.routes(site),
            *console_staff.routes(site),
            Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ],
    )
