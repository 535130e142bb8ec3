"""Reads never change state; one account never sees another's cases."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.helpers import expect_error, get_case, new_account, new_case, strip
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess


def test_describing_cases_changes_nothing(support: Any) -> None:
    open_id = new_case(support, severityCode="urgent", serviceCode="aws-lambda")
    support.add_communication_to_case(caseId=open_id, communicationBody="more")
    resolved_id = new_case(support)
    support.resolve_case(caseId=resolved_id)
    first = strip(support.describe_cases(includeResolvedCases=True))
    for _ in range(3):
        support.describe_cases()
        support.describe_communications(caseId=open_id)
        support.describe_communications(caseId=resolved_id)
    assert strip(support.describe_cases(includeResolvedCases=True)) == first
    assert first["cases"][1]["status"] == "unassigned"
    assert first["cases"][1]["severityCode"] == "urgent"


def test_describing_communications_twice_is_identical(support: Any) -> None:
    case_id = new_case(support)
    for n in range(12):
        support.add_communication_to_case(caseId=case_id, communicationBody=f"m{n}")
    first = strip(support.describe_communications(caseId=case_id, maxResults=10))
    second = strip(support.describe_communications(caseId=case_id, maxResults=10))
    assert first == second
    assert first["nextToken"] == second["nextToken"]
    rest = support.describe_communications(caseId=case_id, nextToken=first["nextToken"])
    assert strip(rest) == strip(
        support.describe_communications(caseId=case_id, nextToken=first["nextToken"])
    )


def test_reference_reads_are_stable(support: Any) -> None:
    options = {
        "issueType": "technical",
        "serviceCode": "amazon-dynamodb",
        "categoryCode": "apis",
    }
    calls = [
        lambda: support.describe_services(),
        lambda: support.describe_severity_levels(),
        lambda: support.describe_supported_languages(**options),
        lambda: support.describe_create_case_options(language="en", **options),
    ]
    for call in calls:
        assert strip(call()) == strip(call())


def test_accounts_never_see_each_others_cases(server: ServerProcess, support: Any) -> None:
    mine = new_case(support, subject="mine")
    other = boto3_client(server.url, new_account())
    theirs = new_case(other, subject="theirs")
    assert [c["caseId"] for c in support.describe_cases(includeResolvedCases=True)["cases"]] == [
        mine
    ]
    assert [c["caseId"] for c in other.describe_cases(includeResolvedCases=True)["cases"]] == [
        theirs
    ]
    display_id = get_case(support, mine)["displayId"]
    assert other.describe_cases(displayId=display_id)["cases"] == []


def test_another_accounts_case_cannot_be_touched(server: ServerProcess, support: Any) -> None:
    mine = new_case(support, communicationBody="private")
    before = strip(support.describe_cases(includeResolvedCases=True))
    other = boto3_client(server.url, new_account())
    for message in (
        expect_error("CaseIdNotFound", other.describe_cases, caseIdList=[mine]),
        expect_error("CaseIdNotFound", other.describe_communications, caseId=mine),
        expect_error(
            "CaseIdNotFound", other.add_communication_to_case, caseId=mine, communicationBody="hi"
        ),
        expect_error("CaseIdNotFound", other.resolve_case, caseId=mine),
    ):
        assert mine in message
    # Exactly what an unknown id gets: the case's existence does not leak.
    unknown = mine[:-4] + ("0000" if not mine.endswith("0000") else "1111")
    assert expect_error("CaseIdNotFound", other.resolve_case, caseId=unknown) == expect_error(
        "CaseIdNotFound", other.resolve_case, caseId=mine
    ).replace(mine, unknown)
    assert strip(support.describe_cases(includeResolvedCases=True)) == before
    assert other.describe_cases(includeResolvedCases=True)["cases"] == []


MALFORMED_CASE_IDS = [
    "case-\x00",
    "nul\x00inside",
    "case-111122223333-supd-2026-0123456789abcdef\n",
    "CASE-111122223333-SUPD-2026-0123456789ABCDEF",
    "x" * 300,
]


@pytest.mark.parametrize("case_id", MALFORMED_CASE_IDS, ids=range(len(MALFORMED_CASE_IDS)))
def test_a_value_without_the_form_of_a_case_id_names_no_case(support: Any, case_id: str) -> None:
    """On every store, and before the store: PostgreSQL itself would refuse a NUL."""
    real = new_case(support)
    before = strip(support.describe_cases(includeResolvedCases=True))
    calls = [
        lambda: support.describe_cases(caseIdList=[real, case_id]),
        lambda: support.describe_communications(caseId=case_id),
        lambda: support.add_communication_to_case(caseId=case_id, communicationBody="b"),
        lambda: support.resolve_case(caseId=case_id),
        lambda: support.resolve_case(caseId=case_id, dryRun=True),
    ]
    for call in calls:
        expect_error("CaseIdNotFound", call)
    assert strip(support.describe_cases(includeResolvedCases=True)) == before
