"""DescribeServices, DescribeSeverityLevels, DescribeSupportedLanguages and
DescribeCreateCaseOptions: answered from the reference catalogue."""

from __future__ import annotations

from typing import Any

from supportd import api_errors
from supportd.domain import plans
from supportd.domain.records import Principal
from supportd.operations.context import Context, dry_run_check
from supportd.reference.catalogue import Catalogue


def check_language(catalogue: Catalogue, language: str | None) -> None:
    if language is not None and language not in catalogue.language_codes:
        raise api_errors.InvalidParameterValueException("Invalid language code")


def check_issue_type(catalogue: Catalogue, issue_type: str | None) -> None:
    if issue_type is not None and issue_type not in catalogue.issue_types:
        raise api_errors.InvalidParameterValueException("Invalid issue type")


def check_service_and_category(
    catalogue: Catalogue, service_code: str | None, category_code: str | None
) -> None:
    if service_code is not None and service_code not in catalogue.categories_by_service:
        raise api_errors.InvalidParameterValueException("Invalid service code")
    if category_code is not None and (
        service_code is None or category_code not in catalogue.categories_by_service[service_code]
    ):
        raise api_errors.InvalidParameterValueException("Invalid category code")


async def describe_services(ctx: Context, _: Principal, params: dict[str, Any]) -> dict[str, Any]:
    catalogue = ctx.catalogue
    check_language(catalogue, params.get("language"))
    wanted = params.get("serviceCodeList") or []
    for code in wanted:
        check_service_and_category(catalogue, code, None)
    dry_run_check(params)
    services = catalogue.services
    if wanted:
        codes = set(wanted)
        services = [s for s in services if s["code"] in codes]
    return {
        "services": [
            {
                "code": s["code"],
                "name": s["name"],
                "categories": [{"code": c["code"], "name": c["name"]} for c in s["categories"]],
            }
            for s in services
        ]
    }


async def describe_severity_levels(
    ctx: Context, principal: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    check_language(ctx.catalogue, params.get("language"))
    dry_run_check(params)
    # The levels the account's plan may use (business: all but critical).
    return {
        "severityLevels": [
            {"code": level["code"], "name": level["name"]}
            for level in ctx.catalogue.severity_levels
            if plans.may_use_severity(principal.plan, level["code"])
        ]
    }


def _case_options_request(catalogue: Catalogue, params: dict[str, Any]) -> str:
    """The issue type asked about, after checking it, the language (if given), the
    service and category, and the dry run."""
    issue_type: str = params["issueType"]
    check_issue_type(catalogue, issue_type)
    check_language(catalogue, params.get("language"))
    check_service_and_category(catalogue, params["serviceCode"], params["categoryCode"])
    dry_run_check(params)
    return issue_type


async def describe_supported_languages(
    ctx: Context, _: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    catalogue = ctx.catalogue
    issue_type = _case_options_request(catalogue, params)
    codes = set(catalogue.create_case_options["supportedLanguages"][issue_type])
    return {
        "supportedLanguages": [
            {"code": lang["code"], "language": lang["language"], "display": lang["display"]}
            for lang in catalogue.languages
            if lang["code"] in codes
        ]
    }


async def describe_create_case_options(
    ctx: Context, _: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    issue_type = _case_options_request(ctx.catalogue, params)
    options = ctx.catalogue.create_case_options
    return {
        "languageAvailability": options["languageAvailability"].get(
            params["language"], "unavailable"
        ),
        "communicationTypes": options["communicationTypes"][issue_type],
    }
