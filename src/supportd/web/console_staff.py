"""The staff page: who works in the console, with their roles. Everyone sees the list
(as GET /staff/api/staff); only admins disable or enable a member (as the staff API's
admin-only routes), and disabling ends the member's console sessions at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supportd.operations import staff as ops
from supportd.web.console_site import AREA, Signed, form, page, values
from supportd.web.site import Site, redirect


def routes(site: Site) -> list[Route]:
    ctx = site.ctx

    async def staff_page(request: Request, signed: Signed) -> Response:
        members = (await ops.list_staff(ctx, signed.member))["staff"]
        return site.page(
            "console/staff.html",
            values(signed, "staff", request, title="Staff", members=members),
        )

    def set_active(active: bool) -> Callable[[Request, Signed, FormData], Awaitable[Response]]:
        async def run(request: Request, signed: Signed, data: FormData) -> Response:
            await ops.set_staff_active(ctx, signed.member, request.path_params["name"], active)
            done = "staff-enabled" if active else "staff-disabled"
            return redirect(f"{AREA.prefix}/staff?done={done}")

        return run

    return [
        Route("/staff", page(site, staff_page), methods=["GET"]),
        Route("/staff/{name}/disable", form(site, set_active(False), admin=True), methods=["POST"]),
        Route("/staff/{name}/enable", form(site, set_active(True), admin=True), methods=["POST"]),
    ]
