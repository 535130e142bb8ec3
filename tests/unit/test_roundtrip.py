"""botocore <-> supportd, in both directions, and every response against the model.

Requests: botocore's own JSON serializer turns model-derived inputs into bodies;
supportd's parser must give back exactly those inputs. Responses: what supportd's
operations answer (the app in process) must be what botocore's parser reads, and must
fit the operation's output shape member by member.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from supportd.http import protocol
from supportd.operations.registry import HANDLERS
from tests.unit.conftest import ApiClient
from tests.unit.model_checks import check_response, parse_with_botocore, serialize, shape_problems
from tests.unit.model_strategies import OPERATIONS, input_for

MODEL = protocol.load_model()


# --- requests: botocore's serializer -> supportd's parser ---------------------------


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


# --- responses: a scenario through every implemented operation -----------------------

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SCENARIO_OPERATIONS = {
    "CreateCase",
    "DescribeCases",
    "DescribeCommunications",
    "AddCommunicationToCase",
    "ResolveCase",
    "AddAttachmentsToSet",
    "DescribeAttachment",
    "GetAttachmentUploadLinks",
    "CompleteAttachmentUpload",
    "DescribeAttachmentUploadStatus",
    "GetAttachmentDownloadLink",
    "DescribeServices",
    "DescribeSeverityLevels",
    "DescribeSupportedLanguages",
    "DescribeCreateCaseOptions",
    "DescribeTrustedAdvisorChecks",
    "DescribeTrustedAdvisorCheckResult",
    "DescribeTrustedAdvisorCheckSummaries",
    "DescribeTrustedAdvisorCheckRefreshStatuses",
    "RefreshTrustedAdvisorCheck",
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

    # Attachments (no worker runs in process: a completed upload stays not ready).
    files = [{"fileName": "log.txt", "data": "bG9n"}, {"fileName": "日本.png", "data": ""}]
    made_set = api.call("AddAttachmentsToSet", {"attachments": files[:1]})
    api.call("AddAttachmentsToSet", {**made_set, "attachments": files[1:]})
    with_files = api.call(
        "CreateCase",
        {
            "subject": "files",
            "communicationBody": "b",
            "attachmentSetId": made_set["attachmentSetId"],
        },
    )
    comms = api.call("DescribeCommunications", {"caseId": with_files["caseId"]})["communications"]
    attachment_id = comms[0]["attachmentSet"][0]["attachmentId"]
    api.call("DescribeCases", {"caseIdList": [with_files["caseId"]]})
    api.call("DescribeAttachment", {"attachmentId": attachment_id})
    link = api.call("GetAttachmentDownloadLink", {"attachmentId": attachment_id})
    assert api.runner.run(api.client.get(link["downloadUrl"]["url"])).content == b"log"
    links = api.call("GetAttachmentUploadLinks", {"fileName": "big.bin", "fileSizeBytes": 3})
    api.call(
        "GetAttachmentUploadLinks",
        {"fileName": "big.bin", "uploadId": links["uploadId"], "uploadRange": {"startIndex": 1}},
    )
    put = api.runner.run(api.client.put(links["uploadUrls"][0]["url"], content=b"abc"))
    done = [{"partIndex": 1, "eTag": put.headers["etag"]}]
    api.call("CompleteAttachmentUpload", {"uploadId": links["uploadId"], "completedUploads": done})
    api.call("DescribeAttachmentUploadStatus", {"uploadId": links["uploadId"]})
    api.error("AddAttachmentsToSet", {"attachments": [{"fileName": "x", "data": "eA=="}] * 4})
    api.error("AddAttachmentsToSet", {**made_set, "attachments": files[:1]})
    api.error("DescribeAttachment", {"attachmentId": "attachment-nope"})
    api.error("GetAttachmentDownloadLink", {"attachmentId": "attachment-nope"})
    api.error("GetAttachmentUploadLinks", {"fileName": "f", "uploadId": "upload-nope"})
    api.error("CompleteAttachmentUpload", {"uploadId": "upload-nope", "completedUploads": done})
    api.error("DescribeAttachmentUploadStatus", {"uploadId": "upload-nope"})
    api.error("CreateCase", {"subject": "s", "communicationBody": "b", "uploadIds": ["u"]})

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

    # Trusted Advisor (no worker runs in process: a refresh stays enqueued).
    checks = api.call("DescribeTrustedAdvisorChecks", {"language": "en"})["checks"]
    api.call("DescribeTrustedAdvisorChecks", {"language": "pt_BR"})
    api.call("DescribeTrustedAdvisorCheckResult", {"checkId": "Z4AUBRNSmz"})
    api.call("DescribeTrustedAdvisorCheckResult", {"checkId": "DqdJqYeRm5", "language": "ja"})
    api.call("DescribeTrustedAdvisorCheckSummaries", {"checkIds": [c["id"] for c in checks]})
    api.call("RefreshTrustedAdvisorCheck", {"checkId": "DqdJqYeRm5"})
    api.call("RefreshTrustedAdvisorCheck", {"checkId": "DqdJqYeRm5"})
    api.call(
        "DescribeTrustedAdvisorCheckRefreshStatuses", {"checkIds": ["DqdJqYeRm5", "Pfx0RwqBli"]}
    )
    api.error("DescribeTrustedAdvisorCheckResult", {"checkId": "eW7HH0l7J9"})
    api.error("DescribeTrustedAdvisorCheckSummaries", {"checkIds": []})
    api.error("DescribeTrustedAdvisorCheckSummaries", {"checkIds": ["DqdJqYeRm5", "nope"]})
    api.error("DescribeTrustedAdvisorCheckRefreshStatuses", {"checkIds": ["COr6dfpM03"]})
    api.error("RefreshTrustedAdvisorCheck", {"checkId": "COr6dfpM03"})
    api.error("DescribeTrustedAdvisorChecks", {"language": "xx"})
    api.error("DescribeTrustedAdvisorChecks", {})
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
    "checkId": st.sampled_from(["DqdJqYeRm5", "Z4AUBRNSmz", "COr6dfpM03", "eW7HH0l7J9"]),
    "checkIds": st.lists(st.sampled_from(["DqdJqYeRm5", "Z4AUBRNSmz", "Pfx0RwqBli"]), max_size=3),
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
