"""The JSON 1.1 protocol layer: routing, body decoding, validation against the model."""

from __future__ import annotations

import copy
import json
import re
import uuid
from typing import Any

import pytest

from supportd import api_errors
from supportd.http import protocol
from supportd.operations.registry import HANDLERS
from tests.unit.conftest import TARGET_PREFIX, ApiClient
from tests.unit.model_strategies import OPERATIONS, RAW_MODEL, SHAPES

MODEL = protocol.load_model()
PATTERN = r"[0-9a-z\-_]+"


def parse(operation: str, body: dict[str, Any]) -> dict[str, Any]:
    return protocol.parse_input(MODEL, MODEL.operations[operation], body)


def validation_message(operation: str, body: dict[str, Any]) -> str:
    with pytest.raises(api_errors.ValidationException) as caught:
        parse(operation, body)
    return caught.value.message


def one_error(value: str, path: str, constraint: str) -> str:
    return (
        f"1 validation error detected: Value {value} at '{path}' failed to satisfy "
        f"constraint: Member must {constraint}"
    )


def serialization_error(operation: str, body: dict[str, Any]) -> None:
    with pytest.raises(api_errors.SerializationException):
        parse(operation, body)


CASE = {"subject": "s", "communicationBody": "b"}


# --- routing -------------------------------------------------------------------------


def test_the_model_has_twenty_operations() -> None:
    assert len(MODEL.operations) == 20
    assert MODEL.target_prefix == TARGET_PREFIX


@pytest.mark.parametrize("name", OPERATIONS)
def test_target_routes_to_its_operation(name: str) -> None:
    operation = protocol.operation_for_target(MODEL, f"{TARGET_PREFIX}.{name}")
    assert operation.name == name
    assert operation.input_shape == RAW_MODEL["operations"][name]["input"]["shape"]


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "CreateCase",
        "AWSSupport_20130415",
        "AWSSupport_20130415.",
        "AWSSupport_20130415.createCase",
        "awssupport_20130415.CreateCase",
        "AWSSupport_20130416.CreateCase",
        "AmazonEC2.CreateCase",
        "AWSSupport_20130415.CreateCase.Extra",
        "AWSSupport_20130415.NoSuchOperation",
    ],
)
def test_unknown_targets_are_unknown_operations(target: str | None) -> None:
    with pytest.raises(api_errors.UnknownOperationException):
        protocol.operation_for_target(MODEL, target)


@pytest.mark.supportd_wording
def test_routing_error_messages() -> None:
    with pytest.raises(api_errors.UnknownOperationException, match="Missing X-Amz-Target"):
        protocol.operation_for_target(MODEL, None)
    with pytest.raises(api_errors.UnknownOperationException, match=r"Foo\.Bar is not supported"):
        protocol.operation_for_target(MODEL, "Foo.Bar")


def assert_error_response(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/x-amz-json-1.1"
    assert response.headers["x-amzn-errortype"] == code
    uuid.UUID(response.headers["x-amzn-requestid"])
    body = response.json()
    assert body["__type"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_app_routes_implemented_operations(api: ApiClient, name: str) -> None:
    response = api.send(name, b"{}")
    if response.status_code == 200:
        assert response.headers["content-type"] == "application/x-amz-json-1.1"
        uuid.UUID(response.headers["x-amzn-requestid"])
        assert "x-amzn-errortype" not in response.headers
    else:
        # Required members missing (or no case to act on): the operation's own answer.
        body = response.json()
        assert body["__type"] in {"ValidationException", "CaseIdNotFound"}, body
        required = SHAPES[RAW_MODEL["operations"][name]["input"]["shape"]].get("required", [])
        if body["__type"] == "ValidationException":
            assert all(f"Value null at '{member}'" in body["message"] for member in required)


def test_app_without_target_header(api: ApiClient) -> None:
    response = api.runner.run(api.client.post("/", content=b"{}"))
    body = assert_error_response(response, 400, "UnknownOperationException")
    assert "X-Amz-Target" in body["message"]


def test_app_with_unknown_target(api: ApiClient) -> None:
    assert_error_response(api.send("NoSuchOperation", b"{}"), 400, "UnknownOperationException")


@pytest.mark.parametrize(("method", "path"), [("GET", "/"), ("GET", "/cases"), ("PUT", "/x")])
def test_app_other_paths_and_methods(api: ApiClient, method: str, path: str) -> None:
    response = api.runner.run(api.client.request(method, path))
    assert_error_response(response, 404, "UnknownOperationException")


def test_request_ids_are_unique(api: ApiClient) -> None:
    seen = {api.send("DescribeSeverityLevels", b"{}").headers["x-amzn-requestid"] for _ in range(5)}
    assert len(seen) == 5
    for request_id in seen:
        parsed = uuid.UUID(request_id)
        assert str(parsed) == request_id
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


# --- body decoding -----------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"  ", b"\n", b"{}", b" {} "])
def test_empty_bodies_are_empty_input(raw: bytes) -> None:
    assert protocol.decode_body(raw) == {}


def test_body_is_decoded_as_json() -> None:
    assert protocol.decode_body(b'{"subject": "caf\\u00e9 \xe2\x98\x95"}') == {"subject": "café ☕"}


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b'"CreateCase"',
        b"5",
        b"null",
        b"true",
        b"{",
        b'{"subject": }',
        b"{'subject': 'x'}",
        b'{"subject": "x",}',
        b"\xef\xbb\xbf{}",  # byte-order mark
        b'{"subject": "\xff\xfe"}',  # invalid UTF-8 inside a string
        b"\xff\xfe{\x00}\x00",  # UTF-16
        b'{"a": NaN}',
        b'{"a": 1e400}',
        b'{"subject": "\\ud800"}',  # lone surrogate
        b"[" * 100_000 + b"]" * 100_000,  # nesting deeper than the decoder allows
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b"{}{}",
        b"\x00",
    ],
)
def test_malformed_bodies_are_serialization_exceptions(raw: bytes) -> None:
    with pytest.raises(api_errors.SerializationException):
        protocol.decode_body(raw)


@pytest.mark.parametrize(
    "raw",
    [b'{"subject": "\xff"}', b"[" * 100_000 + b"]" * 100_000, b"not json", b"[1,2]"],
)
def test_app_answers_malformed_bodies_with_400(api: ApiClient, raw: bytes) -> None:
    response = api.send("CreateCase", raw)
    assert_error_response(response, 400, "SerializationException")


# --- validation: required members ----------------------------------------------------


@pytest.mark.parametrize("name", OPERATIONS)
def test_required_members_missing(name: str) -> None:
    shape = SHAPES[RAW_MODEL["operations"][name]["input"]["shape"]]
    required = shape.get("required", [])
    if not required:
        assert parse(name, {}) == {}
        return
    noun = "error" if len(required) == 1 else "errors"
    parts = [
        f"Value null at '{member}' failed to satisfy constraint: Member must not be null"
        for member in required
    ]
    assert validation_message(name, {}) == (
        f"{len(required)} validation {noun} detected: " + "; ".join(parts)
    )


def test_create_case_without_subject_and_body() -> None:
    assert validation_message("CreateCase", {}) == (
        "2 validation errors detected: "
        "Value null at 'subject' failed to satisfy constraint: Member must not be null; "
        "Value null at 'communicationBody' failed to satisfy constraint: Member must not be null"
    )


def test_explicit_null_is_missing() -> None:
    assert validation_message("CreateCase", {"subject": None, "communicationBody": "b"}) == (
        "1 validation error detected: "
        "Value null at 'subject' failed to satisfy constraint: Member must not be null"
    )


def test_null_optional_members_are_absent() -> None:
    assert parse("CreateCase", {**CASE, "serviceCode": None, "ccEmailAddresses": None}) == CASE


def test_nested_required_members() -> None:
    assert validation_message(
        "GetAttachmentUploadLinks", {"fileName": "f", "uploadRange": {}}
    ) == one_error("null", "uploadRange.startIndex", "not be null")
    assert validation_message(
        "CompleteAttachmentUpload", {"uploadId": "u", "completedUploads": [{"partIndex": 1}, {}]}
    ) == (
        "3 validation errors detected: "
        "Value null at 'completedUploads.1.member.eTag' failed to satisfy constraint: "
        "Member must not be null; "
        "Value null at 'completedUploads.2.member.partIndex' failed to satisfy constraint: "
        "Member must not be null; "
        "Value null at 'completedUploads.2.member.eTag' failed to satisfy constraint: "
        "Member must not be null"
    )


# --- validation: lengths, sizes, ranges, patterns ----------------------------------------


def test_communication_body_length() -> None:
    assert parse("CreateCase", {"subject": "s", "communicationBody": "x" * 8000})
    assert parse("CreateCase", {"subject": "s", "communicationBody": "x"})
    assert validation_message(
        "AddCommunicationToCase", {"communicationBody": "x" * 8001}
    ) == one_error(f"'{'x' * 8001}'", "communicationBody", "have length less than or equal to 8000")
    assert validation_message("AddCommunicationToCase", {"communicationBody": ""}) == one_error(
        "''", "communicationBody", "have length greater than or equal to 1"
    )


def test_length_counts_characters_not_bytes() -> None:
    assert parse("CreateCase", {"subject": "s", "communicationBody": "é" * 8000})


def test_list_sizes() -> None:
    emails = [f"a{i}@example.com" for i in range(11)]
    assert (
        parse("CreateCase", {**CASE, "ccEmailAddresses": emails[:10]})["ccEmailAddresses"]
        == (emails[:10])
    )
    assert validation_message("CreateCase", {**CASE, "ccEmailAddresses": emails}) == one_error(
        "'[" + ", ".join(emails) + "]'",
        "ccEmailAddresses",
        "have length less than or equal to 10",
    )
    ids = [f"case-{i}" for i in range(101)]
    assert parse("DescribeCases", {"caseIdList": ids[:100]}) == {"caseIdList": ids[:100]}
    assert validation_message("DescribeCases", {"caseIdList": ids}).startswith(
        "1 validation error detected: Value '[case-0, case-1, "
    )
    assert validation_message("DescribeCases", {"caseIdList": ids}).endswith(
        "case-100]' at 'caseIdList' failed to satisfy constraint: "
        "Member must have length less than or equal to 100"
    )
    codes = ["general-info"] * 101
    assert validation_message("DescribeServices", {"serviceCodeList": codes}).endswith(
        "at 'serviceCodeList' failed to satisfy constraint: "
        "Member must have length less than or equal to 100"
    )
    uploads = [f"u{i}" for i in range(11)]
    assert validation_message("CreateCase", {**CASE, "uploadIds": uploads}) == one_error(
        "'[" + ", ".join(uploads) + "]'", "uploadIds", "have length less than or equal to 10"
    )


def test_list_member_constraints_name_the_member() -> None:
    assert validation_message("CreateCase", {**CASE, "uploadIds": ["u", ""]}) == one_error(
        "''", "uploadIds.2.member", "have length greater than or equal to 1"
    )
    assert validation_message(
        "DescribeAttachmentUploadStatus", {"uploadId": "u" * 2049}
    ) == one_error(f"'{'u' * 2049}'", "uploadId", "have length less than or equal to 2048")


@pytest.mark.parametrize("operation", ["DescribeCases", "DescribeCommunications"])
def test_max_results_range(operation: str) -> None:
    base = {"caseId": "c"} if operation == "DescribeCommunications" else {}
    assert parse(operation, {**base, "maxResults": 10})["maxResults"] == 10
    assert parse(operation, {**base, "maxResults": 100})["maxResults"] == 100
    assert validation_message(operation, {**base, "maxResults": 9}) == one_error(
        "'9'", "maxResults", "have value greater than or equal to 10"
    )
    assert validation_message(operation, {**base, "maxResults": 101}) == one_error(
        "'101'", "maxResults", "have value less than or equal to 100"
    )
    assert validation_message(operation, {**base, "maxResults": -5}) == one_error(
        "'-5'", "maxResults", "have value greater than or equal to 10"
    )


def test_long_ranges() -> None:
    links = {"fileName": "big.bin"}
    assert parse("GetAttachmentUploadLinks", {**links, "fileSizeBytes": 157286400})
    assert validation_message(
        "GetAttachmentUploadLinks", {**links, "fileSizeBytes": 0}
    ) == one_error("'0'", "fileSizeBytes", "have value greater than or equal to 1")
    assert validation_message(
        "GetAttachmentUploadLinks", {**links, "fileSizeBytes": 157286401}
    ) == one_error("'157286401'", "fileSizeBytes", "have value less than or equal to 157286400")
    assert validation_message(
        "GetAttachmentUploadLinks", {**links, "uploadRange": {"startIndex": 0, "endIndex": 1}}
    ) == (
        "2 validation errors detected: "
        "Value '0' at 'uploadRange.startIndex' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1; "
        "Value '1' at 'uploadRange.endIndex' failed to satisfy constraint: "
        "Member must have value greater than or equal to 2"
    )


def test_issue_type_length_of_describe_supported_languages() -> None:
    base = {"serviceCode": "general-info", "categoryCode": "using-aws"}
    assert parse("DescribeSupportedLanguages", {**base, "issueType": "technical"})
    assert validation_message(
        "DescribeSupportedLanguages", {**base, "issueType": "tech"}
    ) == one_error("'tech'", "issueType", "have length greater than or equal to 9")
    assert validation_message(
        "DescribeSupportedLanguages", {**base, "issueType": "x" * 23}
    ) == one_error(f"'{'x' * 23}'", "issueType", "have length less than or equal to 22")


def test_service_code_pattern_message_is_awss() -> None:
    assert validation_message("CreateCase", {**CASE, "serviceCode": "INVALID-CODE"}) == (
        "1 validation error detected: Value 'INVALID-CODE' at 'serviceCode' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [0-9a-z\\-_]+"
    )


@pytest.mark.parametrize("member", ["serviceCode", "categoryCode", "severityCode"])
@pytest.mark.parametrize(
    "value", ["Amazon-EC2", "", " ", "low ", "a.b", "a/b", "é", "low\n", "\nlow", "a b"]
)
def test_code_pattern_rejects(member: str, value: str) -> None:
    assert validation_message("CreateCase", {**CASE, member: value}) == one_error(
        f"'{value}'", member, f"satisfy regular expression pattern: {PATTERN}"
    )


@pytest.mark.parametrize("member", ["serviceCode", "categoryCode", "severityCode"])
@pytest.mark.parametrize("value", ["amazon-dynamodb", "general-info", "low", "a_b-9", "0"])
def test_code_pattern_accepts(member: str, value: str) -> None:
    assert parse("CreateCase", {**CASE, member: value})[member] == value


def test_pattern_applies_to_service_code_list_members() -> None:
    message = validation_message(
        "DescribeServices", {"serviceCodeList": ["amazon-dynamodb", "EC2"]}
    )
    assert message == one_error(
        "'EC2'", "serviceCodeList.2.member", f"satisfy regular expression pattern: {PATTERN}"
    )


def test_several_violations_are_counted_and_joined() -> None:
    emails = [f"a{i}@example.com" for i in range(11)]
    message = validation_message(
        "CreateCase",
        {"communicationBody": "", "serviceCode": "BAD", "ccEmailAddresses": emails},
    )
    prefix = "4 validation errors detected: "
    assert message.startswith(prefix)
    parts = message[len(prefix) :].split("; ")
    assert sorted(parts) == sorted(
        [
            "Value null at 'subject' failed to satisfy constraint: Member must not be null",
            "Value '' at 'communicationBody' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1",
            "Value 'BAD' at 'serviceCode' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {PATTERN}",
            "Value '[" + ", ".join(emails) + "]' at 'ccEmailAddresses' failed to satisfy "
            "constraint: Member must have length less than or equal to 10",
        ]
    )


def test_one_value_breaking_two_constraints_counts_twice() -> None:
    message = validation_message(
        "DescribeSupportedLanguages",
        {"issueType": "x" * 23, "serviceCode": "a", "categoryCode": "b"},
    )
    assert message.startswith("1 validation error detected: ")
    message = validation_message(
        "CreateCase", {**CASE, "severityCode": "", "categoryCode": "X", "serviceCode": "Y"}
    )
    assert message.startswith("3 validation errors detected: ")
    assert message.count("failed to satisfy constraint") == 3


# --- enums and doubles, on a model extended with them --------------------------------


def extended_model() -> protocol.ServiceModel:
    raw = copy.deepcopy(RAW_MODEL)
    raw["shapes"]["IssueType"]["enum"] = ["technical", "customer-service"]
    raw["shapes"]["Ratio"] = {"type": "double", "min": 0, "max": 1}
    raw["shapes"]["CreateCaseRequest"]["members"]["ratio"] = {"shape": "Ratio"}
    return protocol.ServiceModel(raw)


def test_enum_values() -> None:
    model = extended_model()
    operation = model.operations["CreateCase"]
    assert protocol.parse_input(model, operation, {**CASE, "issueType": "technical"}) == {
        **CASE,
        "issueType": "technical",
    }
    with pytest.raises(api_errors.ValidationException) as caught:
        protocol.parse_input(model, operation, {**CASE, "issueType": "billing"})
    assert caught.value.message == one_error(
        "'billing'", "issueType", "satisfy enum value set: [technical, customer-service]"
    )


def test_doubles() -> None:
    model = extended_model()
    operation = model.operations["CreateCase"]
    parsed = protocol.parse_input(model, operation, {**CASE, "ratio": 1})
    assert parsed["ratio"] == 1.0 and isinstance(parsed["ratio"], float)
    assert protocol.parse_input(model, operation, {**CASE, "ratio": 0.25})["ratio"] == 0.25
    with pytest.raises(api_errors.ValidationException) as caught:
        protocol.parse_input(model, operation, {**CASE, "ratio": 2.5})
    assert caught.value.message == one_error("'2.5'", "ratio", "have value less than or equal to 1")
    for wrong in (True, "0.5", [0.5], {"v": 0.5}):
        with pytest.raises(api_errors.SerializationException):
            protocol.parse_input(model, operation, {**CASE, "ratio": wrong})


# --- wrong JSON types ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("DescribeCases", {"maxResults": True}),  # bool for int
        ("DescribeCases", {"maxResults": "10"}),
        ("DescribeCases", {"maxResults": 10.5}),
        ("DescribeCases", {"maxResults": [10]}),
        ("CreateCase", {"subject": 5, "communicationBody": "b"}),  # int for string
        ("CreateCase", {"subject": True, "communicationBody": "b"}),
        ("CreateCase", {"subject": ["s"], "communicationBody": "b"}),
        ("CreateCase", {"subject": {"s": 1}, "communicationBody": "b"}),
        ("DescribeCases", {"caseIdList": "case-1"}),  # string for list
        ("DescribeCases", {"caseIdList": {"0": "case-1"}}),
        ("DescribeCases", {"caseIdList": [5]}),
        ("DescribeCases", {"includeResolvedCases": "true"}),
        ("DescribeCases", {"includeResolvedCases": 1}),
        ("CreateCase", {**CASE, "dryRun": "yes"}),
        ("AddAttachmentsToSet", {"attachments": [{"data": "!!!!"}]}),  # bad base64
        ("AddAttachmentsToSet", {"attachments": [{"data": "YWJ"}]}),  # bad padding
        ("AddAttachmentsToSet", {"attachments": [{"data": "YW Jj"}]}),
        ("AddAttachmentsToSet", {"attachments": [{"data": "aGk_Pz4-"}]}),  # URL-safe alphabet
        ("AddAttachmentsToSet", {"attachments": [{"data": 5}]}),
        ("AddAttachmentsToSet", {"attachments": ["x"]}),
        ("AddAttachmentsToSet", {"attachments": {"fileName": "x"}}),
        ("GetAttachmentUploadLinks", {"fileName": "f", "uploadRange": [1, 2]}),
        ("CompleteAttachmentUpload", {"uploadId": "u", "completedUploads": [[1, "e"]]}),
        (
            "CompleteAttachmentUpload",
            {"uploadId": "u", "completedUploads": [{"partIndex": 2**31, "eTag": "e"}]},
        ),
        ("GetAttachmentUploadLinks", {"fileName": "f", "fileSizeBytes": 2**63}),
        ("GetAttachmentUploadLinks", {"fileName": "f", "fileSizeBytes": -(2**63) - 1}),
    ],
)
def test_wrong_json_types_are_serialization_exceptions(operation: str, body: Any) -> None:
    serialization_error(operation, body)


def test_type_errors_win_over_constraint_violations() -> None:
    serialization_error("CreateCase", {"communicationBody": 5})
    serialization_error("DescribeCases", {"maxResults": 5, "caseIdList": "x"})


def test_type_error_messages_name_the_member() -> None:
    with pytest.raises(api_errors.SerializationException) as caught:
        parse("DescribeCases", {"caseIdList": ["case-1", 7]})
    assert "caseIdList.2.member" in caught.value.message


def test_blobs_are_decoded() -> None:
    parsed = parse(
        "AddAttachmentsToSet", {"attachments": [{"fileName": "a.txt", "data": "aGk/Pz4+"}]}
    )
    assert parsed == {"attachments": [{"fileName": "a.txt", "data": b"hi??>>"}]}
    assert parse("AddAttachmentsToSet", {"attachments": [{"data": ""}]}) == {
        "attachments": [{"data": b""}]
    }


def test_long_members_take_64_bit_values() -> None:
    parsed = parse("GetAttachmentUploadLinks", {"fileName": "f", "fileSizeBytes": 157286400})
    assert parsed["fileSizeBytes"] == 157286400
    assert validation_message(
        "GetAttachmentUploadLinks", {"fileName": "f", "fileSizeBytes": 2**63 - 1}
    ) == one_error(f"'{2**63 - 1}'", "fileSizeBytes", "have value less than or equal to 157286400")


def test_app_answers_wrong_types_with_400(api: ApiClient) -> None:
    response = api.send("DescribeCases", json.dumps({"maxResults": True}).encode())
    assert_error_response(response, 400, "SerializationException")


# --- unknown members --------------------------------------------------------------


def test_unknown_members_are_ignored() -> None:
    body = {
        **CASE,
        "Subject": "other",
        "unknown": {"nested": [1, None, {"x": True}]},
        "__type": "x",
    }
    assert parse("CreateCase", body) == CASE


def test_unknown_members_of_nested_structures_are_ignored() -> None:
    body = {"fileName": "f", "uploadRange": {"startIndex": 1, "bogus": "x"}}
    assert parse("GetAttachmentUploadLinks", body) == {
        "fileName": "f",
        "uploadRange": {"startIndex": 1},
    }


def test_unknown_member_with_wrong_type_is_harmless(api: ApiClient) -> None:
    response = api.send("DescribeSeverityLevels", b'{"severity": [1, 2], "language": "en"}')
    assert response.status_code == 200
    assert [level["code"] for level in response.json()["severityLevels"]] == [
        "low",
        "normal",
        "high",
        "urgent",
        "critical",
    ]


def test_validation_comes_before_dry_run(api: ApiClient) -> None:
    status, body = api.error("CreateCase", {"subject": "s", "dryRun": True})
    assert status == 400
    assert body == {
        "__type": "ValidationException",
        "message": one_error("null", "communicationBody", "not be null"),
    }


def test_app_validation_error_response(api: ApiClient) -> None:
    response = api.send("CreateCase", json.dumps({**CASE, "serviceCode": "EC2"}).encode())
    body = assert_error_response(response, 400, "ValidationException")
    assert body == {
        "__type": "ValidationException",
        "message": one_error(
            "'EC2'", "serviceCode", f"satisfy regular expression pattern: {PATTERN}"
        ),
    }
    assert re.fullmatch(r"[0-9a-f-]{36}", response.headers["x-amzn-requestid"])


@pytest.mark.parametrize("member", ["serviceCode", "categoryCode"])
def test_code_pattern_applies_to_describe_supported_languages(member: str) -> None:
    body = {"issueType": "technical", "serviceCode": "general-info", "categoryCode": "using-aws"}
    assert parse("DescribeSupportedLanguages", body) == body
    assert validation_message("DescribeSupportedLanguages", {**body, member: "EC2"}) == one_error(
        "'EC2'", member, f"satisfy regular expression pattern: {PATTERN}"
    )


@pytest.mark.parametrize(
    "content_type",
    ["application/x-amz-json-1.1", "application/x-amz-json-1.1; charset=utf-8"],
)
def test_app_accepts_json_11_content_types(api: ApiClient, content_type: str) -> None:
    response = api.send("DescribeSeverityLevels", b"{}", headers={"Content-Type": content_type})
    assert response.status_code == 200, response.text
    assert len(response.json()["severityLevels"]) == 5
