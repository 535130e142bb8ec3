"""dryRun: full validation first, then DryRunOperationException, and nothing changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore import xform_name

from tests.compat.helpers import expect_error, new_case, strip, unvalidated_client
from tests.support.server import ServerProcess

DRY_RUN_MESSAGE = "Request would have succeeded, but DryRun flag is set."
UNKNOWN_CASE = "case-111122223333-supd-2026-0123456789abcdef"
OPTIONS = {
    "issueType": "technical",
    "serviceCode": "amazon-dynamodb",
    "categoryCode": "apis",
    "language": "en",
}
LANGUAGES = {k: v for k, v in OPTIONS.items() if k != "language"}

# operation -> (valid parameters, invalid parameters and the error they must get).
# "{case}" is replaced by an open case of the test's account.
Params = dict[str, Any]
OPERATIONS: dict[str, tuple[Params, list[tuple[Params, str]]]] = {
    "create_case": (
        {
            "subject": "s",
            "communicationBody": "b",
            "serviceCode": "amazon-dynamodb",
            "categoryCode": "apis",
        },
        [
            (
                {"subject": "s", "communicationBody": "b", "severityCode": "extreme"},
                "InvalidParameterValueException",
            ),
            (
                {"subject": "s", "communicationBody": "b", "ccEmailAddresses": ["nope"]},
                "InvalidParameterValueException",
            ),
            ({"subject": "s", "communicationBody": "x" * 8001}, "ValidationException"),
            (
                {"subject": "s", "communicationBody": "b", "attachmentSetId": "as-1"},
                "AttachmentSetIdNotFound",
            ),
        ],
    ),
    "describe_cases": (
        {"caseIdList": ["{case}"], "language": "en"},
        [
            ({"caseIdList": [UNKNOWN_CASE]}, "CaseIdNotFound"),
            ({"afterTime": "never"}, "InvalidParameterValueException"),
            ({"language": "xx"}, "InvalidParameterValueException"),
            ({"nextToken": "bogus"}, "InvalidParameterValueException"),
            ({"maxResults": 5}, "ValidationException"),
        ],
    ),
    "describe_communications": (
        {"caseId": "{case}"},
        [
            ({"caseId": UNKNOWN_CASE}, "CaseIdNotFound"),
            ({"caseId": "{case}", "beforeTime": "never"}, "InvalidParameterValueException"),
            ({"caseId": "{case}", "maxResults": 500}, "ValidationException"),
        ],
    ),
    "add_communication_to_case": (
        {"caseId": "{case}", "communicationBody": "reply"},
        [
            ({"caseId": UNKNOWN_CASE, "communicationBody": "reply"}, "CaseIdNotFound"),
            ({"caseId": "{case}", "communicationBody": ""}, "ValidationException"),
            (
                {"caseId": "{case}", "communicationBody": "r", "ccEmailAddresses": ["bad"]},
                "InvalidParameterValueException",
            ),
        ],
    ),
    "resolve_case": (
        {"caseId": "{case}"},
        [({"caseId": UNKNOWN_CASE}, "CaseIdNotFound"), ({}, "CaseIdNotFound")],
    ),
    "describe_services": (
        {"serviceCodeList": ["amazon-dynamodb"]},
        [
            ({"serviceCodeList": ["no-such"]}, "InvalidParameterValueException"),
            ({"serviceCodeList": ["UPPER"]}, "ValidationException"),
            ({"language": "xx"}, "InvalidParameterValueException"),
        ],
    ),
    "describe_severity_levels": (
        {"language": "en"},
        [({"language": "xx"}, "InvalidParameterValueException")],
    ),
    "describe_supported_languages": (
        LANGUAGES,
        [
            ({**LANGUAGES, "issueType": "unknown-type"}, "InvalidParameterValueException"),
            ({**LANGUAGES, "issueType": "short"}, "ValidationException"),
            ({"issueType": "technical"}, "ValidationException"),
        ],
    ),
    "describe_create_case_options": (
        OPTIONS,
        [
            ({**OPTIONS, "language": "xx"}, "InvalidParameterValueException"),
            ({**OPTIONS, "categoryCode": "nope"}, "InvalidParameterValueException"),
            ({"language": "en"}, "ValidationException"),
        ],
    ),
}


def _fill(params: Params, case_id: str) -> Params:
    def one(value: Any) -> Any:
        if value == "{case}":
            return case_id
        if isinstance(value, list):
            return [one(item) for item in value]
        return value

    return {key: one(value) for key, value in params.items()}


def _state(client: Any) -> list[dict[str, Any]]:
    """Every case of the account with every communication."""
    cases = client.describe_cases(includeResolvedCases=True)["cases"]
    for case in cases:
        case["allCommunications"] = client.describe_communications(caseId=case["caseId"])[
            "communications"
        ]
    return list(cases)


@pytest.fixture
def client(server: ServerProcess, account: str) -> Any:
    return unvalidated_client(server.url, account)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_dry_run_answers_dry_run_operation_exception(client: Any, operation: str) -> None:
    case_id = new_case(client)
    before = _state(client)
    valid, _ = OPERATIONS[operation]
    call: Callable[..., Any] = getattr(client, operation)
    message = expect_error("DryRunOperationException", call, **_fill(valid, case_id), dryRun=True)
    assert message == DRY_RUN_MESSAGE
    assert _state(client) == before


@pytest.mark.parametrize(
    ("operation", "index"),
    [
        (name, index)
        for name, (_, invalid) in sorted(OPERATIONS.items())
        for index in range(len(invalid))
    ],
)
def test_dry_run_validates_first(client: Any, operation: str, index: int) -> None:
    case_id = new_case(client)
    before = _state(client)
    params, code = OPERATIONS[operation][1][index]
    call: Callable[..., Any] = getattr(client, operation)
    expect_error(code, call, **_fill(params, case_id), dryRun=True)
    assert _state(client) == before


READS = [
    "describe_cases",
    "describe_communications",
    "describe_services",
    "describe_severity_levels",
    "describe_supported_languages",
    "describe_create_case_options",
]


@pytest.mark.parametrize("operation", READS)
def test_dry_run_false_is_an_ordinary_read(client: Any, operation: str) -> None:
    case_id = new_case(client)
    params = _fill(OPERATIONS[operation][0], case_id)
    call: Callable[..., Any] = getattr(client, operation)
    assert strip(call(**params, dryRun=False)) == strip(call(**params))


def test_dry_run_false_changes_state(client: Any) -> None:
    case_id = client.create_case(subject="s", communicationBody="b", dryRun=False)["caseId"]
    assert strip(
        client.add_communication_to_case(caseId=case_id, communicationBody="r", dryRun=False)
    ) == {"result": True}
    assert strip(client.resolve_case(caseId=case_id, dryRun=False)) == {
        "initialCaseStatus": "unassigned",
        "finalCaseStatus": "resolved",
    }
    [case] = _state(client)
    assert case["status"] == "resolved"
    assert [c["body"] for c in case["allCommunications"]] == ["r", "b"]


def test_dry_run_reply_to_resolved_case_keeps_it_resolved(client: Any) -> None:
    case_id = new_case(client)
    client.resolve_case(caseId=case_id)
    before = _state(client)
    expect_error(
        "DryRunOperationException",
        client.add_communication_to_case,
        caseId=case_id,
        communicationBody="would reopen",
        dryRun=True,
    )
    assert _state(client) == before
    assert before[0]["status"] == "resolved"


def test_dry_run_create_case_creates_nothing(client: Any) -> None:
    expect_error(
        "DryRunOperationException",
        client.create_case,
        subject="dry",
        communicationBody="dry",
        dryRun=True,
    )
    assert client.describe_cases(includeResolvedCases=True)["cases"] == []


def test_every_implemented_operation_with_dry_run_is_covered(client: Any) -> None:
    model = client.meta.service_model
    implemented = {
        "CreateCase",
        "DescribeCases",
        "DescribeCommunications",
        "AddCommunicationToCase",
        "ResolveCase",
        "DescribeServices",
        "DescribeSeverityLevels",
        "DescribeSupportedLanguages",
        "DescribeCreateCaseOptions",
    }
    with_dry_run = {
        xform_name(name)
        for name in implemented
        if "dryRun" in model.operation_model(name).input_shape.members
    }
    assert with_dry_run == set(OPERATIONS)
