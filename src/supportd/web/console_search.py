"""Search over case subjects and communications (operations.staff.search_cases, the
staff API's GET /search): best matches first, each with its matching subject and
messages, the matched words highlighted. The highlights come as text plus offsets;
the template escapes the text and wraps each match in <mark>."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supportd.domain.search import MAX_QUERY_CHARS
from supportd.operations import staff as ops
from supportd.operations.staff import StaffError
from supportd.web.console_queue import STATUS_ORDER
from supportd.web.console_site import Signed, page, values
from supportd.web.console_views import case_row, sentence, snippets
from supportd.web.formats import status_label
from supportd.web.site import Site

SEARCH_PAGE = 20


def routes(site: Site) -> list[Route]:
    ctx = site.ctx

    async def search(request: Request, signed: Signed) -> Response:
        query = request.query_params
        asked = {
            "q": query.get("q", "")[: MAX_QUERY_CHARS + 1],
            "account": query.get("account", "").strip()[:100],
            "status": query.get("status", "").strip()[:100],
        }
        after = query.get("after") or None
        problems: dict[str, str] = {}
        account = asked["account"]
        if account and not (account.isascii() and account.isdigit() and len(account) == 12):
            problems["account"] = "Enter a 12-digit account ID, or leave it empty."
        results: list[dict[str, Any]] = []
        next_href = None
        truncated = False
        searched = bool(asked["q"].strip())
        if searched and not problems:
            params: dict[str, list[str]] = {
                "q": [asked["q"]],
                "limit": [str(SEARCH_PAGE)],
            }
            if account:
                params["account"] = [account]
            # "" is every status here (a search finds resolved cases too).
            params["status"] = [asked["status"] or "all"]
            if after:
                params["nextToken"] = [after]
            try:
                found = await ops.search_cases(ctx, signed.member, params)
            except StaffError as exc:
                if exc.code == "invalid_token":
                    problems["q"] = "That page of results is no longer available. Search again."
                else:
                    problems["q"] = sentence(exc.message)
            else:
                now = site.now_ms()
                results = [
                    {"case": case_row(hit["case"], now), "snippets": snippets(hit["highlights"])}
                    for hit in found["results"]
                ]
                truncated = bool(found.get("truncated"))
                token = found.get("nextToken")
                if token:
                    pairs = [(k, v) for k, v in asked.items() if v] + [("after", token)]
                    next_href = "/console/search?" + urlencode(pairs)
        return site.page(
            "console/search.html",
            values(
                signed,
                "search",
                request,
                title=f"Search: {asked['q']}" if searched else "Search",
                asked=asked,
                problems=problems,
                searched=searched and not problems,
                results=results,
                truncated=truncated,
                next_href=next_href,
                first_href="/console/search?" + urlencode([(k, v) for k, v in asked.items() if v]),
                paged=after is not None,
                status_choices=[
                    ("", "Any status"),
                    ("open", "Open (every open status)"),
                    *((s, status_label(s)) for s in STATUS_ORDER),
                ],
                severity_names={lvl["code"]: lvl["name"] for lvl in ctx.catalogue.severity_levels},
            ),
            400 if problems else 200,
        )

    return [Route("/search", page(site, search), methods=["GET"])]
