"""The Support Center's Trusted Advisor pages: every check by category with counts by
status, and one check's result with its flagged resources. Read through the API's
Trusted Advisor operations, for the signed-in user's account.

Plans: Business and Enterprise see every check. Basic and Developer see the core
checks only, taken here as the service-limit and security categories (AWS names a
handful of security checks; see docs/compatibility.md).
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supportd import api_errors
from supportd.domain import advisor, plans
from supportd.reference.advisor import CATEGORIES
from supportd.web.site import Site
from supportd.web.support_site import Signed, error, page, values

CATEGORY_NAMES = {
    "cost_optimizing": "Cost optimization",
    "security": "Security",
    "fault_tolerance": "Fault tolerance",
    "performance": "Performance",
    "service_limits": "Service limits",
}
CORE_CATEGORIES = frozenset({"service_limits", "security"})
STATUS_NAMES = {
    advisor.ERROR: "Action recommended",
    advisor.WARNING: "Investigation recommended",
    advisor.OK: "No problems detected",
    advisor.NOT_AVAILABLE: "Not yet checked",
}
STATUS_ORDER = (advisor.ERROR, advisor.WARNING, advisor.OK, advisor.NOT_AVAILABLE)
MAX_RESOURCES_SHOWN = 500


class _DescriptionText(HTMLParser):
    """A check description's lines as plain text runs (text, bold). Descriptions come
    with a little HTML (<br>, <b>, links); none of it reaches the page as markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[list[tuple[str, bool]]] = [[]]
        self._bold = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag == "p":
            self.lines.append([])
        elif tag in ("b", "strong"):
            self._bold += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("b", "strong"):
            self._bold = max(0, self._bold - 1)
        elif tag == "p":
            self.lines.append([])

    def handle_data(self, data: str) -> None:
        if data:
            self.lines[-1].append((data, self._bold > 0))


def description_lines(html: str) -> list[list[tuple[str, bool]]]:
    parser = _DescriptionText()
    parser.feed(html)
    parser.close()
    lines = parser.lines
    # Drop leading/trailing blank lines and collapse runs of blank lines to one.
    out: list[list[tuple[str, bool]]] = []
    for line in lines:
        blank = not "".join(t for t, _ in line).strip()
        if blank and (not out or not out[-1]):
            continue
        out.append([] if blank else line)
    while out and not out[-1]:
        out.pop()
    return out


def _visible(plan: str, category: str) -> bool:
    return plans.has_full_trusted_advisor(plan) or category in CORE_CATEGORIES


def routes(site: Site) -> list[Route]:
    ctx = site.ctx

    async def overview(request: Request, signed: Signed) -> Response:
        plan = signed.principal.plan
        checks = [c for c in ctx.advisor_checks.checks if _visible(plan, c.category)]
        summaries: dict[str, dict[str, Any]] = {}
        if checks:
            found = await site.invoke(
                request,
                signed.principal,
                signed.caller,
                "DescribeTrustedAdvisorCheckSummaries",
                {"checkIds": [c.id for c in checks]},
            )
            summaries = {s["checkId"]: s for s in found["summaries"]}
        order = [c for c in CATEGORIES if any(ch.category == c for ch in checks)]
        order += sorted({c.category for c in checks} - set(order))
        categories = []
        totals = dict.fromkeys(STATUS_ORDER, 0)
        for category in order:
            rows = []
            counts = dict.fromkeys(STATUS_ORDER, 0)
            for check in (c for c in checks if c.category == category):
                summary = summaries.get(check.id, {})
                status = summary.get("status", advisor.NOT_AVAILABLE)
                counts[status] = counts.get(status, 0) + 1
                totals[status] = totals.get(status, 0) + 1
                rows.append(
                    {
                        "id": check.id,
                        "name": check.name,
                        "status": status,
                        "flagged": summary.get("resourcesSummary", {}).get("resourcesFlagged", 0),
                    }
                )
            rows.sort(key=lambda r: (STATUS_ORDER.index(r["status"]), r["name"]))
            categories.append(
                {
                    "code": category,
                    "name": CATEGORY_NAMES.get(category, category.replace("_", " ").capitalize()),
                    "counts": counts,
                    "checks": rows,
                }
            )
        return site.page(
            "support/advisor.html",
            values(
                signed,
                "advisor",
                request,
                title="Trusted Advisor",
                categories=categories,
                totals=totals,
                statuses=STATUS_ORDER,
                status_names=STATUS_NAMES,
                full=plans.has_full_trusted_advisor(plan),
                plan_name=plan.title(),
            ),
        )

    async def check_page(request: Request, signed: Signed) -> Response:
        check = ctx.advisor_checks.get(request.path_params["check_id"])
        if check is None or not _visible(signed.principal.plan, check.category):
            return error(
                site,
                404,
                "Check not found",
                "There is no Trusted Advisor check with this ID for your account.",
                values(signed, "advisor", request),
            )
        try:
            found = await site.invoke(
                request,
                signed.principal,
                signed.caller,
                "DescribeTrustedAdvisorCheckResult",
                {"checkId": check.id, "language": "en"},
            )
        except api_errors.ApiError as problem:
            return error(site, 400, "The check cannot be shown", problem.message)
        result = found["result"]
        resources = result.get("flaggedResources", [])
        return site.page(
            "support/advisor_check.html",
            values(
                signed,
                "advisor",
                request,
                title=check.name,
                check=check,
                category_name=CATEGORY_NAMES.get(check.category, check.category),
                description=description_lines(check.text.description),
                result=result,
                status=result["status"],
                status_names=STATUS_NAMES,
                columns=list(check.metadata),
                resources=resources[:MAX_RESOURCES_SHOWN],
                more_resources=max(0, len(resources) - MAX_RESOURCES_SHOWN),
                checked=result["status"] != advisor.NOT_AVAILABLE,
            ),
        )

    return [
        Route("/advisor", page(site, overview), methods=["GET"]),
        Route("/advisor/{check_id}", page(site, check_page), methods=["GET"]),
    ]
