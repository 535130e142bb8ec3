"""botocore <-> supportd, in both directions, and every response against the model.

Requests: botocore's own JSON serializer turns model-derived inputs into bodies;
supportd's parser must give back exactly those inputs. Responses: what supportd's
operations answer (the app in process) must be what botocore's parser reads, and must
fit the operation's output shape member by member.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

import pytest
from botocore.model import ServiceModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from supportd import errors, protocol
from supportd.domain import ids
from supportd.operations.registry import HANDLERS
from tests.unit.conftest import ApiClient
from tests.unit.model_strategies import (
    OPERATIONS,
    RAW_MODEL,
    SHAPES,
    input_for,
    output_shape,
)

BOTOCORE = ServiceModel(RAW_MODEL, service_name="support")
MODEL = protocol.load_model()
INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
CASE_STATUSES = {
    "unassigned",
    "work-in-progress",
    "pending-customer-action",
    "customer-action-completed",
    "opened",
    "reopened",
    "resolved",
}
# Formats clients see verbatim, by the shape a member uses.
FORMATS: dict[str, re.Pattern[str]] = {
    "CaseId": ids.CASE_ID_PATTERN,
    "DisplayId": re.compile(r"[1-9][0-9]{9,17}"),
    "TimeCreated": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"),
    "ExpiryTime": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000"),
    "NextToken": re.compile(r"[A-Za-z0-9_-]+"),
    "AttachmentSetId": re.compile(r"as-[A-Za-z0-9_-]{16,}"),
    "AttachmentId": re.compile(r"attachment-[A-Za-z0-9_-]{16,}"),
    "Status": re.compile("|".join(sorted(CASE_STATUSES))),
    "CaseStatus": re.compile("|".join(sorted(CASE_STATUSES))),
}


# --- requests: botocore's serializer -> supportd's parser ---------------------------


def serialize(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    serializer = create_serializer("json", include_validation=True)
    return serializer.serialize_to_request(params, BOTOCORE.operation_model(operation))


@pytest.mark.parametrize("operation", OPERATIONS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_botocore_requests_parse_back_to_their_input(operation: str, data: st.DataObject) -> None:
    params = data.draw(input_for(operation), label="params")
    request = serialize(operation, params)
    routed = protocol.operation_for_target(MODEL, request["headers"]["X-Amz-Target"])
    assert routed.name == operation
    assert request["headers"]["Content-Type"] == protocol.CONTENT_TYPE
    body = request["body"]
    parsed = protocol.parse_input(MODEL, routed, protocol.decode_body(body))
    assert parsed == params


def test_botocore_empty_input_is_an_empty_object() -> None:
    request = serialize("DescribeSeverityLevels", {})
    assert request["body"] == b"{}"
    assert protocol.parse_input(MODEL, MODEL.operations["DescribeSeverityLevels"], {}) == {}


def test_botocore_blobs_arrive_as_bytes() -> None:
    data = bytes(range(256)) * 3
    params = {"attachments": [{"fileName": "bytes.bin", "data": data}]}
    request = serialize("AddAttachmentsToSet", params)
    assert base64.b64encode(data).decode() in request["body"].decode()
    parsed = protocol.parse_input(
        MODEL, MODEL.operations["AddAttachmentsToSet"], protocol.decode_body(request["body"])
    )
    assert parsed["attachments"][0]["data"] == data


def test_botocore_non_ascii_text_round_trips() -> None:
    params = {"subject": "Ünïcødé ☕ 日本語 \U0001f600", "communicationBody": 'a"b\\c\n\t\x00'}
    request = serialize("CreateCase", params)
    parsed = protocol.parse_input(
        MODEL, MODEL.operations["CreateCase"], protocol.decode_body(request["body"])
    )
    assert parsed == params


# --- responses: the shape check ----------------------------------------------------


def shape_problems(shape_name: str, value: Any, path: str = "$") -> list[str]:
    """Everything about `value` that the model's shape does not allow."""
    shape = SHAPES[shape_name]
    kind = shape["type"]
    if value is None:
        return [f"{path}: null (absent members must be omitted)"]
    problems: list[str] = []
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, expected an object"]
        members: Mapping[str, Any] = shape.get("members", {})
        for name in value:
            if name not in members:
                problems.append(f"{path}.{name}: not a member of {shape_name}")
        for name in shape.get("required", ()):
            if name not in value:
                problems.append(f"{path}.{name}: required member missing")
        for name, member in members.items():
            if SHAPES[member["shape"]]["type"] == "list" and name not in value:
                problems.append(f"{path}.{name}: list omitted (empty lists are present)")
        for name, item in value.items():
            if name in members:
                problems += shape_problems(members[name]["shape"], item, f"{path}.{name}")
    elif kind == "list":
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, expected a list"]
        if not shape.get("min", 0) <= len(value) <= shape.get("max", len(value)):
            problems.append(f"{path}: {len(value)} items, outside the model's bounds")
        for index, item in enumerate(value):
            problems += shape_problems(shape["member"]["shape"], item, f"{path}[{index}]")
    elif kind == "string":
        if not isinstance(value, str):
            return [f"{path}: {type(value).__name__}, expected a string"]
        if not shape.get("min", 0) <= len(value) <= shape.get("max", len(value)):
            problems.append(f"{path}: length {len(value)} outside the model's bounds")
        if "enum" in shape and value not in shape["enum"]:
            problems.append(f"{path}: {value!r} not in the enum {shape['enum']}")
        if "pattern" in shape and not re.search(shape["pattern"], value):
            problems.append(f"{path}: {value!r} does not match {shape['pattern']}")
        if shape_name in FORMATS and not FORMATS[shape_name].fullmatch(value):
            problems.append(f"{path}: {value!r} is not in supportd's {shape_name} format")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: {value!r}, expected a boolean")
    elif kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: {value!r}, expected an integer")
        elif not max(low, shape.get("min", low)) <= value <= min(high, shape.get("max", high)):
            problems.append(f"{path}: {value} outside the model's range")
    elif kind in ("double", "float"):
        if not isinstance(value, float):
            problems.append(f"{path}: {value!r}, expected a float (some SDKs cast strictly)")
    elif kind == "blob":
        if not isinstance(value, str):
            problems.append(f"{path}: {value!r}, expected base64 text")
        else:
            try:
                base64.b64decode(value, validate=True)
            except ValueError:
                problems.append(f"{path}: not valid base64")
    else:
        problems.append(f"{path}: shape type {kind} unknown to this check")
    return problems


def botocore_view(shape_name: str, value: Any) -> Any:
    """What botocore's parser should make of a conforming JSON value."""
    shape = SHAPES[shape_name]
    kind = shape["type"]
    if kind == "structure":
        members = shape.get("members", {})
        return {name: botocore_view(members[name]["shape"], item) for name, item in value.items()}
    if kind == "list":
        return [botocore_view(shape["member"]["shape"], item) for item in value]
    if kind == "blob":
        return base64.b64decode(value)
    return value


def parse_with_botocore(operation: str, response: Any) -> dict[str, Any]:
    parser = create_parser("json")
    return parser.parse(
        {
            "status_code": response.status_code,
            "headers": dict(response.headers),
            "body": response.content,
        },
        BOTOCORE.operation_model(operation).output_shape,
    )


def check_response(operation: str, response: Any) -> None:
    assert response.headers["content-type"] == protocol.CONTENT_TYPE
    request_id = response.headers["x-amzn-requestid"]
    parsed = parse_with_botocore(operation, response)
    assert parsed["ResponseMetadata"]["RequestId"] == request_id
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == response.status_code
    body = json.loads(response.content)
    if response.status_code == 200:
        assert "x-amzn-errortype" not in response.headers
        problems = shape_problems(output_shape(operation), body)
        assert not problems, (operation, problems)
        del parsed["ResponseMetadata"]
        assert parsed == botocore_view(output_shape(operation), body)
        return
    code = body["__type"]
    assert code in errors.ERRORS, body
    assert response.status_code == errors.ERRORS[code].status
    assert response.headers["x-amzn-errortype"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) - {"__type"} <= set(SHAPES.get(code, {}).get("members", {"message": None}))
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == body["message"]


# --- responses: a scenario through every implemented operation -----------------------

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SCENARIO_OPERATIONS = {
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


def run_scenario(api: ApiClient) -> dict[str, Any]:
    """Exercise every implemented operation, successes and errors; returns what it made."""
    api.call("DescribeServices")
    api.call("DescribeServices", {"serviceCodeList": ["amazon-dynamodb", "general-info"]})
    api.call("DescribeServices", {"language": "ja"})
    api.call("DescribeSeverityLevels")
    api.call("DescribeSeverityLevels", {"language": "en"})
    for issue_type in ("technical", "customer-service"):
        api.call(
            "DescribeSupportedLanguages",
            {"issueType": issue_type, "serviceCode": "general-info", "categoryCode": "using-aws"},
        )
        for language in ("en", "es", "tr"):
            api.call(
                "DescribeCreateCaseOptions",
                {
                    "issueType": issue_type,
                    "serviceCode": "amazon-dynamodb",
                    "categoryCode": "apis",
                    "language": language,
                },
            )

    plain = api.call("CreateCase", {"subject": "TEST CASE-Please ignore", "communicationBody": "b"})
    full = api.call(
        "CreateCase",
        {
            "subject": "Throttled writes",
            "communicationBody": f"My key {SECRET} and card 4111 1111 1111 1111",
            "serviceCode": "amazon-dynamodb",
            "categoryCode": "apis",
            "severityCode": "urgent",
            "ccEmailAddresses": ["ops@example.com", "dev@example.org"],
            "language": "ja",
            "issueType": "customer-service",
        },
    )
    for index in range(9):
        api.call("CreateCase", {"subject": f"Case {index}", "communicationBody": "more"})
    for index in range(11):
        api.call(
            "AddCommunicationToCase",
            {
                "caseId": full["caseId"],
                "communicationBody": f"update {index}",
                "ccEmailAddresses": ["ops@example.com"],
            },
        )

    first = api.call("DescribeCases", {"maxResults": 10})
    assert "nextToken" in first
    api.call("DescribeCases", {"maxResults": 10, "nextToken": first["nextToken"]})
    api.call("DescribeCases", {"includeCommunications": False})
    api.call("DescribeCases", {"caseIdList": [full["caseId"], plain["caseId"]]})
    described = api.call("DescribeCases", {"caseIdList": [full["caseId"]]})
    recent = described["cases"][0]["recentCommunications"]
    assert "nextToken" in recent
    api.call("DescribeCases", {"displayId": described["cases"][0]["displayId"]})
    api.call("DescribeCases", {"afterTime": "2000-01-01", "beforeTime": "2999-01-01T00:00:00Z"})
    api.call("DescribeCases", {"language": "ja", "includeResolvedCases": True})

    page = api.call("DescribeCommunications", {"caseId": full["caseId"], "maxResults": 10})
    assert "nextToken" in page
    api.call(
        "DescribeCommunications",
        {"caseId": full["caseId"], "maxResults": 10, "nextToken": page["nextToken"]},
    )
    api.call("DescribeCommunications", {"caseId": full["caseId"], "nextToken": recent["nextToken"]})

    api.call("ResolveCase", {"caseId": plain["caseId"]})
    api.call("ResolveCase", {"caseId": plain["caseId"]})
    api.call("DescribeCases", {"includeResolvedCases": True, "maxResults": 100})
    api.call("AddCommunicationToCase", {"caseId": plain["caseId"], "communicationBody": "again"})
    api.call("DescribeCases", {"caseIdList": [plain["caseId"]]})

    # Errors, each from a different rule.
    missing = "case-111122223333-supd-2024-0000000000000000"
    api.error("DescribeCases", {"caseIdList": [missing]})
    api.error("DescribeCommunications", {"caseId": missing})
    api.error("AddCommunicationToCase", {"communicationBody": "x"})
    api.error("ResolveCase", {"caseId": missing})
    api.error("CreateCase", {"subject": "s", "communicationBody": "b", "dryRun": True})
    api.error("CreateCase", {"subject": "s", "communicationBody": "b", "serviceCode": "nope"})
    api.error("CreateCase", {"subject": "s", "communicationBody": "b", "ccEmailAddresses": ["x"]})
    api.error("CreateCase", {"subject": "s"})
    api.error("DescribeCases", {"nextToken": "not-a-token"})
    api.error("DescribeCases", {"afterTime": "last tuesday"})
    api.error("DescribeServices", {"serviceCodeList": ["no-such-service"]})
    api.error("DescribeSeverityLevels", {"language": "xx"})
    api.error("DescribeServices", {"dryRun": True})
    api.send("DescribeCases", b"[]")
    return {"plain": plain["caseId"], "full": full["caseId"]}


def test_scenario_covers_every_implemented_operation() -> None:
    # A new handler needs a place in run_scenario so the checks below see its responses.
    assert set(HANDLERS) <= SCENARIO_OPERATIONS


def test_every_scenario_response_fits_the_model_and_botocore_reads_it(api: ApiClient) -> None:
    run_scenario(api)
    succeeded = {operation for operation, r in api.exchanges if r.status_code == 200}
    assert succeeded == SCENARIO_OPERATIONS & set(HANDLERS)
    assert any(r.status_code != 200 for _, r in api.exchanges)
    for operation, response in api.exchanges:
        check_response(operation, response)


def test_scenario_values_survive_botocore(api: ApiClient) -> None:
    made = run_scenario(api)
    response = api.send("DescribeCases", json.dumps({"caseIdList": [made["full"]]}).encode())
    parsed = parse_with_botocore("DescribeCases", response)
    case = parsed["cases"][0]
    assert case["caseId"] == made["full"]
    assert case["ccEmailAddresses"] == ["ops@example.com", "dev@example.org"]
    assert case["severityCode"] == "urgent"
    assert case["language"] == "ja"
    assert len(case["recentCommunications"]["communications"]) == 5
    first = api.call("DescribeCommunications", {"caseId": made["full"], "maxResults": 100})
    bodies = [c["body"] for c in first["communications"]]
    assert bodies[-1] == "My key [REDACTED_BY_AWS] and card [REDACTED_BY_AWS]-1111"
    for comm in first["communications"]:
        assert comm["attachmentSet"] == [] and comm["attachments"] == []


def test_shape_check_catches_what_it_should() -> None:
    # The checker itself: each of these must be reported.
    case = {
        "caseId": "case-111122223333-supd-2024-0123456789abcdef",
        "displayId": "1000000001",
        "status": "unassigned",
        "timeCreated": "2020-03-23T21:31:47.774Z",
        "ccEmailAddresses": [],
        "recentCommunications": {"communications": []},
    }
    assert shape_problems("CaseDetails", case) == []
    assert shape_problems("CaseDetails", {**case, "extra": 1})
    assert shape_problems("CaseDetails", {**case, "subject": None})
    assert shape_problems("CaseDetails", {**case, "displayId": 1000000001})
    assert shape_problems("CaseDetails", {**case, "timeCreated": "2020-03-23T21:31:47Z"})
    assert shape_problems("CaseDetails", {k: v for k, v in case.items() if k != "ccEmailAddresses"})
    assert shape_problems("AddCommunicationToCaseResponse", {"result": "true"})
    assert shape_problems("TrustedAdvisorCostOptimizingSummary", {
        "estimatedMonthlySavings": 0, "estimatedPercentMonthlySavings": 0.0
    })  # fmt: skip
    assert shape_problems("TrustedAdvisorResourcesSummary", {
        "resourcesProcessed": 1.0, "resourcesFlagged": 0, "resourcesIgnored": 0,
        "resourcesSuppressed": 0,
    })  # fmt: skip
    assert shape_problems("CompleteAttachmentUploadResponse", {"uploadStatus": "done"})


# --- responses: model-derived requests to every implemented operation ----------------

REALISTIC: dict[str, st.SearchStrategy[Any] | None] = {
    "serviceCode": st.sampled_from(["general-info", "amazon-dynamodb", "aws-lambda"]),
    "categoryCode": st.sampled_from(["using-aws", "apis", "charges"]),
    "severityCode": st.sampled_from(["low", "normal", "high", "urgent", "critical"]),
    "language": st.sampled_from(["en", "ja", "zh", "ko"]),
    "issueType": st.sampled_from(["technical", "customer-service"]),
    "ccEmailAddresses": st.lists(st.sampled_from(["a@example.com", "b@example.org"]), max_size=2),
    "afterTime": st.sampled_from(["2000-01-01", "2020-03-23T21:31:47.774Z"]),
    "beforeTime": st.sampled_from(["2999-01-01", "2999-03-23T21:31:47+02:00"]),
    "dryRun": st.just(False),
    "nextToken": None,
    "attachmentSetId": None,
    "uploadIds": None,
}


@pytest.mark.parametrize("operation", sorted(HANDLERS))
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_generated_requests_get_conforming_responses(
    api: ApiClient, operation: str, data: st.DataObject
) -> None:
    case = api.call("CreateCase", {"subject": "seed", "communicationBody": "seed"})
    overrides = {
        **REALISTIC,
        "caseId": st.just(case["caseId"]),
        "caseIdList": st.lists(st.just(case["caseId"]), max_size=2),
        "displayId": st.just(api.call("DescribeCases")["cases"][0]["displayId"]),
    }
    params = data.draw(input_for(operation, overrides), label="params")
    response = api.send(operation, serialize(operation, params)["body"])
    event(f"HTTP {response.status_code}")
    check_response(operation, response)
