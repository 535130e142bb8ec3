"""The AWS JSON 1.1 wire format, checked with raw HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from supportd.operations.registry import HANDLERS
from tests.compat.helpers import JSON_11, assert_error, post
from tests.support.server import ServerProcess
from tests.unit.model_strategies import OPERATIONS as MODEL_OPERATIONS

MIB = 1_048_576


# --- success --------------------------------------------------------------------


def test_success_headers(server: ServerProcess, account: str) -> None:
    first = post(server.url, "DescribeSeverityLevels", {}, account=account)
    second = post(server.url, "DescribeSeverityLevels", {}, account=account)
    for response in (first, second):
        assert response.status_code == 200
        assert response.headers["content-type"] == JSON_11
        uuid.UUID(response.headers["x-amzn-requestid"])
        assert "x-amzn-errortype" not in response.headers
        assert response.json()["severityLevels"][0] == {"code": "low", "name": "Low"}
    assert first.headers["x-amzn-requestid"] != second.headers["x-amzn-requestid"]


def test_create_case_body_is_exactly_the_case_id(server: ServerProcess, account: str) -> None:
    response = post(
        server.url, "CreateCase", {"subject": "s", "communicationBody": "b"}, account=account
    )
    assert response.status_code == 200
    assert list(response.json()) == ["caseId"]


def test_add_communication_answers_a_json_boolean(server: ServerProcess, account: str) -> None:
    case_id = post(
        server.url, "CreateCase", {"subject": "s", "communicationBody": "b"}, account=account
    ).json()["caseId"]
    response = post(
        server.url,
        "AddCommunicationToCase",
        {"caseId": case_id, "communicationBody": "more"},
        account=account,
    )
    assert response.status_code == 200
    assert json.loads(response.content) == {"result": True}
    assert response.content.replace(b" ", b"") == b'{"result":true}'


def test_empty_body_is_an_empty_input(server: ServerProcess, account: str) -> None:
    response = post(server.url, "DescribeCases", b"", account=account)
    assert response.status_code == 200
    assert response.json() == {"cases": []}


def test_content_type_with_charset_is_accepted(server: ServerProcess, account: str) -> None:
    response = post(
        server.url,
        "DescribeSeverityLevels",
        {},
        account=account,
        headers={"Content-Type": f"{JSON_11}; charset=utf-8"},
    )
    assert response.status_code == 200


def test_unknown_members_are_ignored(server: ServerProcess, account: str) -> None:
    body = {
        "subject": "s",
        "communicationBody": "b",
        "unknownMember": {"nested": [1, 2, None]},
        "Subject": 42,
    }
    created = post(server.url, "CreateCase", body, account=account)
    assert created.status_code == 200, created.text
    [case] = post(server.url, "DescribeCases", {"bogus": True}, account=account).json()["cases"]
    assert case["caseId"] == created.json()["caseId"]
    assert case["subject"] == "s"


# --- operation routing ----------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "AWSSupport_20130415.NoSuchOperation",
        "AWSSupport_20990101.CreateCase",
        "CreateCase",  # no service prefix
        "awssupport_20130415.CreateCase",
        "AWSSupport_20130415.",
        "AWSSupport_20130415.createCase",
        "DynamoDB_20120810.ListTables",
    ],
)
def test_unknown_target_is_unknown_operation(server: ServerProcess, target: str) -> None:
    response = post(
        server.url,
        None,
        {"subject": "s", "communicationBody": "b"},
        headers={"X-Amz-Target": target},
    )
    assert_error(response, "UnknownOperationException")


def test_missing_target_is_unknown_operation(server: ServerProcess) -> None:
    response = post(server.url, None, {"subject": "s", "communicationBody": "b"})
    message = assert_error(response, "UnknownOperationException")
    assert "X-Amz-Target" in message


def test_every_operation_of_the_model_has_a_handler() -> None:
    # A botocore with operations this supportd does not know answers them with
    # UnknownOperationException ("not implemented by this version"); this one knows all.
    assert set(MODEL_OPERATIONS) == set(HANDLERS)


# --- serialization ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"{",
        b'{"subject": "s",}',
        b"[]",
        b'[{"subject": "s", "communicationBody": "b"}]',
        b"null",
        b'"a string"',
        b"42",
        b"true",
        b'{"subject": "\xff\xfe"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    ],
    ids=[
        "text",
        "truncated",
        "trailing-comma",
        "empty-array",
        "array",
        "null",
        "string",
        "number",
        "boolean",
        "invalid-utf8",
        "deep-array",
        "deep-object",
    ],
)
def test_bodies_that_are_not_json_objects(server: ServerProcess, body: bytes) -> None:
    assert_error(post(server.url, "CreateCase", body), "SerializationException")


@pytest.mark.parametrize(
    ("target", "body"),
    [
        ("CreateCase", {"subject": 1, "communicationBody": "b"}),
        ("CreateCase", {"subject": "s", "communicationBody": ["b"]}),
        ("CreateCase", {"subject": "s", "communicationBody": "b", "ccEmailAddresses": "a@b.com"}),
        ("CreateCase", {"subject": "s", "communicationBody": "b", "ccEmailAddresses": [1]}),
        ("CreateCase", {"subject": "s", "communicationBody": "b", "dryRun": "true"}),
        ("CreateCase", {"subject": {"text": "s"}, "communicationBody": "b"}),
        ("DescribeCases", {"maxResults": "10"}),
        ("DescribeCases", {"maxResults": 10.5}),
        ("DescribeCases", {"maxResults": True}),
        ("DescribeCases", {"maxResults": 2**31}),
        ("DescribeCases", {"includeResolvedCases": 1}),
        ("DescribeCases", {"caseIdList": "case-x"}),
        ("DescribeCases", {"caseIdList": [{"id": "x"}]}),
        ("DescribeCases", {"afterTime": 20261127}),
        ("DescribeServices", {"serviceCodeList": {"a": 1}}),
    ],
)
def test_members_of_the_wrong_type(server: ServerProcess, target: str, body: Any) -> None:
    assert_error(post(server.url, target, body), "SerializationException")


# --- validation messages ---------------------------------------------------------


def test_missing_required_member_message(server: ServerProcess) -> None:
    response = post(server.url, "CreateCase", {"communicationBody": "b"})
    message = assert_error(response, "ValidationException")
    assert message == (
        "1 validation error detected: Value null at 'subject' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_several_violations_are_counted(server: ServerProcess) -> None:
    message = assert_error(post(server.url, "CreateCase", {}), "ValidationException")
    assert message == (
        "2 validation errors detected: "
        "Value null at 'subject' failed to satisfy constraint: Member must not be null; "
        "Value null at 'communicationBody' failed to satisfy constraint: Member must not be null"
    )


def test_different_violations_are_joined(server: ServerProcess) -> None:
    body = {"communicationBody": "x" * 8001, "severityCode": "LOW"}
    message = assert_error(post(server.url, "CreateCase", body), "ValidationException")
    problems = message.removeprefix("3 validation errors detected: ").split("; ")
    assert message.startswith("3 validation errors detected: ")
    assert sorted(problems) == sorted(
        [
            "Value null at 'subject' failed to satisfy constraint: Member must not be null",
            "Value 'LOW' at 'severityCode' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [0-9a-z\\-_]+",
            f"Value '{'x' * 8001}' at 'communicationBody' failed to satisfy constraint: "
            "Member must have length less than or equal to 8000",
        ]
    )


def test_length_over_8000_message(server: ServerProcess, account: str) -> None:
    case_id = post(
        server.url, "CreateCase", {"subject": "s", "communicationBody": "b"}, account=account
    ).json()["caseId"]
    response = post(
        server.url,
        "AddCommunicationToCase",
        {"caseId": case_id, "communicationBody": "z" * 8001},
        account=account,
    )
    message = assert_error(response, "ValidationException")
    assert message == (
        f"1 validation error detected: Value '{'z' * 8001}' at 'communicationBody' failed to "
        "satisfy constraint: Member must have length less than or equal to 8000"
    )


def test_validation_comes_before_existence_checks(server: ServerProcess) -> None:
    body = {"caseId": "case-111122223333-supd-2026-0123456789abcdef", "maxResults": 1}
    assert_error(post(server.url, "DescribeCommunications", body), "ValidationException")


def test_case_id_not_found_wire_format(server: ServerProcess) -> None:
    body = {"caseId": "case-111122223333-supd-2026-0123456789abcdef"}
    assert_error(post(server.url, "DescribeCommunications", body), "CaseIdNotFound")


def test_dry_run_wire_format(server: ServerProcess) -> None:
    response = post(server.url, "DescribeSeverityLevels", {"dryRun": True})
    message = assert_error(response, "DryRunOperationException")
    assert message == "Request would have succeeded, but DryRun flag is set."


# --- body size --------------------------------------------------------------------


def _body_of_size(size: int) -> bytes:
    """A valid CreateCase body of exactly `size` bytes (the subject has no length limit)."""
    template = '{"communicationBody": "b", "subject": "%s"}'
    padding = size - len(template % "")
    return (template % ("x" * padding)).encode()


def test_body_at_the_limit_is_accepted(server: ServerProcess, account: str) -> None:
    body = _body_of_size(MIB)
    assert len(body) == MIB
    response = post(server.url, "CreateCase", body, account=account)
    assert response.status_code == 200, response.text[:200]


def test_body_over_the_limit_is_too_large(server: ServerProcess, account: str) -> None:
    response = post(server.url, "CreateCase", _body_of_size(MIB + 1), account=account)
    message = assert_error(response, "RequestEntityTooLargeException", status=413)
    assert str(MIB) in message
    assert post(server.url, "DescribeCases", {}, account=account).json() == {"cases": []}


def test_streamed_body_over_the_limit_is_too_large(server: ServerProcess, account: str) -> None:
    # No Content-Length (chunked): the limit is enforced while reading.
    def chunks() -> Iterator[bytes]:
        yield b'{"communicationBody": "b", "subject": "'
        for _ in range(17):
            yield b"x" * 65_536
        yield b'"}'

    response = httpx.post(
        server.url + "/",
        content=chunks(),
        headers={
            "Content-Type": JSON_11,
            "X-Amz-Target": "AWSSupport_20130415.CreateCase",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/support/"
            "aws4_request, SignedHeaders=host, Signature=0",
        },
        timeout=30,
    )
    assert "content-length" not in response.request.headers
    assert_error(response, "RequestEntityTooLargeException", status=413)
    assert post(server.url, "DescribeCases", {}, account=account).json() == {"cases": []}


# --- other paths -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("GET", "/cases"), ("POST", "/other"), ("PUT", "/"), ("DELETE", "/")],
)
def test_other_paths_answer_a_json_error(server: ServerProcess, method: str, path: str) -> None:
    response = httpx.request(method, server.url + path, timeout=30)
    assert response.status_code < 500
    assert_error(response, "UnknownOperationException", status=404)


def test_healthz(server: ServerProcess) -> None:
    response = httpx.get(server.url + "/healthz", timeout=30)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
