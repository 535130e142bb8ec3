"""CreateCase: identifiers, formats, defaults, reference-code checks, redaction."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.helpers import (
    CASE_ID,
    CASE_KEYS,
    COMMUNICATION_KEYS,
    TIME_CREATED,
    account_email,
    expect_error,
    get_case,
    new_case,
    nulls,
    post,
    strip,
    unvalidated_client,
)
from tests.support.server import ServerProcess

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
RSA_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAzUd3lfEXAMPLEc2j9rVxYzJh1AaY\n"
    "-----END RSA PRIVATE KEY-----"
)
PGP_KEY = (
    "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n"
    "lQOYBGVEXAMPLEBCAC7Zg8xY1vQy1Lr4k0ZyJ3\n"
    "-----END PGP PRIVATE KEY BLOCK-----"
)


def test_create_case_answers_only_a_case_id_in_aws_format(support: Any, account: str) -> None:
    response = support.create_case(subject="TEST CASE-Please ignore", communicationBody="hello")
    assert set(strip(response)) == {"caseId"}
    match = CASE_ID.match(response["caseId"])
    assert match is not None, response["caseId"]
    assert match.group(1) == account
    case = get_case(support, response["caseId"])
    assert match.group(2) == case["timeCreated"][:4]


def test_case_ids_are_unique(support: Any) -> None:
    ids = [new_case(support) for _ in range(5)]
    assert len(set(ids)) == 5


def test_display_ids_are_numeric_unique_and_increasing(support: Any) -> None:
    created = [new_case(support, subject=f"case {n}") for n in range(5)]
    display = [get_case(support, case_id)["displayId"] for case_id in created]
    assert all(value.isascii() and value.isdigit() for value in display), display
    numbers = [int(value) for value in display]
    assert numbers == sorted(set(numbers))


def test_new_case_defaults_and_shape(support: Any, account: str) -> None:
    case_id = new_case(support, subject="Defaults", communicationBody="First message")
    case = get_case(support, case_id)
    assert set(case) == CASE_KEYS | {"recentCommunications"}
    assert case["caseId"] == case_id
    assert case["subject"] == "Defaults"
    assert case["status"] == "unassigned"
    assert case["severityCode"] == "low"
    assert case["language"] == "en"
    assert case["ccEmailAddresses"] == []
    assert case["submittedBy"] == account_email(account)
    assert TIME_CREATED.match(case["timeCreated"]), case["timeCreated"]
    [first] = case["recentCommunications"]["communications"]
    assert set(first) == COMMUNICATION_KEYS
    assert first["caseId"] == case_id
    assert first["body"] == "First message"
    assert first["submittedBy"] == f"{account} (User) <{account_email(account)}>"
    assert first["attachmentSet"] == []
    assert first["attachments"] == []
    assert TIME_CREATED.match(first["timeCreated"]), first["timeCreated"]
    assert "nextToken" not in case["recentCommunications"]


def test_every_member_is_stored(support: Any) -> None:
    case_id = new_case(
        support,
        subject="All members",
        communicationBody="body",
        serviceCode="amazon-dynamodb",
        categoryCode="apis",
        severityCode="high",
        language="ja",
        issueType="customer-service",
        ccEmailAddresses=["ops@example.com", "Jane.Doe+support@example.org"],
    )
    case = get_case(support, case_id)
    assert case["serviceCode"] == "amazon-dynamodb"
    assert case["categoryCode"] == "apis"
    assert case["severityCode"] == "high"
    assert case["language"] == "ja"
    assert case["ccEmailAddresses"] == ["ops@example.com", "Jane.Doe+support@example.org"]


@pytest.mark.parametrize("severity", ["low", "normal", "high", "urgent", "critical"])
def test_every_severity_code_is_accepted(support: Any, severity: str) -> None:
    assert get_case(support, new_case(support, severityCode=severity))["severityCode"] == severity


@pytest.mark.parametrize("language", ["zh", "en", "ja", "es", "pt", "fr", "ko", "tr"])
def test_every_case_language_is_accepted(support: Any, language: str) -> None:
    assert get_case(support, new_case(support, language=language))["language"] == language


def test_service_code_without_category_is_accepted(support: Any) -> None:
    case = get_case(support, new_case(support, serviceCode="general-info"))
    assert case["serviceCode"] == "general-info"
    assert "categoryCode" not in case


def test_absent_optional_members_are_omitted_not_null(server: ServerProcess, account: str) -> None:
    created = post(
        server.url,
        "CreateCase",
        {"subject": "s", "communicationBody": "b"},
        account=account,
    )
    assert created.status_code == 200, created.text
    response = post(server.url, "DescribeCases", {}, account=account)
    assert response.status_code == 200, response.text
    document = response.json()
    assert list(nulls(document)) == []
    assert "nextToken" not in document
    [case] = document["cases"]
    assert "serviceCode" not in case
    assert "categoryCode" not in case
    assert case["ccEmailAddresses"] == []
    assert "nextToken" not in case["recentCommunications"]
    assert case["recentCommunications"]["communications"][0]["attachmentSet"] == []


def test_null_members_count_as_absent(server: ServerProcess, account: str) -> None:
    body = {"subject": "s", "communicationBody": "b", "severityCode": None, "language": None}
    created = post(server.url, "CreateCase", body, account=account)
    assert created.status_code == 200, created.text
    [case] = post(server.url, "DescribeCases", {}, account=account).json()["cases"]
    assert case["severityCode"] == "low"
    assert case["language"] == "en"


# --- reference codes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"serviceCode": "no-such-service", "categoryCode": "apis"}, "Invalid service code"),
        ({"serviceCode": "amazon-dynamodb", "categoryCode": "no-such"}, "Invalid category code"),
        ({"serviceCode": "amazon-dynamodb", "categoryCode": "using-aws"}, "Invalid category code"),
        ({"categoryCode": "apis"}, "Invalid category code"),
        ({"severityCode": "extreme"}, "Invalid severity code"),
        ({"language": "de"}, "Invalid language code"),
        ({"language": "EN"}, "Invalid language code"),
        ({"issueType": "billing"}, "Invalid issue type"),
        ({"issueType": "Technical"}, "Invalid issue type"),
    ],
)
def test_unknown_reference_codes_are_invalid_parameter_values(
    support: Any, params: dict[str, str], message: str
) -> None:
    got = expect_error(
        "InvalidParameterValueException",
        support.create_case,
        subject="s",
        communicationBody="b",
        **params,
    )
    assert got == message
    assert support.describe_cases(includeResolvedCases=True)["cases"] == []


def test_both_issue_types_are_accepted(support: Any) -> None:
    for issue_type in ("technical", "customer-service"):
        assert CASE_ID.match(new_case(support, issueType=issue_type))


@pytest.mark.parametrize("member", ["serviceCode", "categoryCode", "severityCode"])
def test_malformed_codes_are_validation_errors(support: Any, member: str) -> None:
    params = {"serviceCode": "amazon-dynamodb", "categoryCode": "apis", member: "INVALID-CODE"}
    message = expect_error(
        "ValidationException", support.create_case, subject="s", communicationBody="b", **params
    )
    assert message == (
        f"1 validation error detected: Value 'INVALID-CODE' at '{member}' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [0-9a-z\\-_]+"
    )


@pytest.mark.supportd_wording
@pytest.mark.parametrize("subject", ["", "   ", "\n\t"])
def test_blank_subject_is_invalid(support: Any, subject: str) -> None:
    message = expect_error(
        "InvalidParameterValueException",
        support.create_case,
        subject=subject,
        communicationBody="b",
    )
    assert message == "Subject must not be empty"


# --- cc addresses ---------------------------------------------------------------


@pytest.mark.supportd_wording
@pytest.mark.parametrize(
    "address",
    ["not-an-email", "a@b", "@example.com", "jane@", "jane doe@example.com", "jane@example.com\n"],
)
def test_cc_addresses_must_be_email_addresses(support: Any, address: str) -> None:
    message = expect_error(
        "InvalidParameterValueException",
        support.create_case,
        subject="s",
        communicationBody="b",
        ccEmailAddresses=["ok@example.com", address],
    )
    assert message == f"Invalid email address: {address}"
    assert support.describe_cases()["cases"] == []


def test_at_most_ten_cc_addresses(server: ServerProcess, account: str) -> None:
    client = unvalidated_client(server.url, account)
    ten = [f"user{n}@example.com" for n in range(10)]
    assert get_case(client, new_case(client, ccEmailAddresses=ten))["ccEmailAddresses"] == ten
    message = expect_error(
        "ValidationException",
        client.create_case,
        subject="s",
        communicationBody="b",
        ccEmailAddresses=[*ten, "eleven@example.com"],
    )
    assert message.startswith("1 validation error detected: Value '[user0@example.com, ")
    assert message.endswith(
        "at 'ccEmailAddresses' failed to satisfy constraint: "
        "Member must have length less than or equal to 10"
    )


# --- body length ----------------------------------------------------------------


def test_body_length_limits(server: ServerProcess, account: str) -> None:
    client = unvalidated_client(server.url, account)
    case_id = new_case(client, communicationBody="x" * 8000)
    comms = client.describe_communications(caseId=case_id)["communications"]
    assert comms[0]["body"] == "x" * 8000
    message = expect_error(
        "ValidationException", client.create_case, subject="s", communicationBody="x" * 8001
    )
    assert message == (
        f"1 validation error detected: Value '{'x' * 8001}' at 'communicationBody' failed to "
        "satisfy constraint: Member must have length less than or equal to 8000"
    )
    message = expect_error(
        "ValidationException", client.create_case, subject="s", communicationBody=""
    )
    assert message == (
        "1 validation error detected: Value '' at 'communicationBody' failed to satisfy "
        "constraint: Member must have length greater than or equal to 1"
    )


def test_body_length_counts_characters_not_bytes(support: Any) -> None:
    # Smithy measures string length in Unicode code points.
    case_id = new_case(support, communicationBody="😀" * 8000)
    assert support.describe_communications(caseId=case_id)["communications"][0]["body"] == (
        "😀" * 8000
    )
    expect_error(
        "ValidationException", support.create_case, subject="s", communicationBody="😀" * 8001
    )


# --- attachments (more in tests/attachments) -------------------------------------


@pytest.mark.supportd_wording
def test_unknown_attachment_set_is_not_found(support: Any) -> None:
    message = expect_error(
        "AttachmentSetIdNotFound",
        support.create_case,
        subject="s",
        communicationBody="b",
        attachmentSetId="as-0123456789abcdef",
    )
    assert message == "Attachment set ID as-0123456789abcdef not found"


def test_unknown_upload_id_is_not_found(support: Any) -> None:
    expect_error(
        "UploadIdNotFound",
        support.create_case,
        subject="s",
        communicationBody="b",
        uploadIds=["upload-0123"],
    )
    assert support.describe_cases()["cases"] == []


# --- redaction ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        (f"my key is {SECRET_KEY} oops", "my key is [REDACTED_BY_AWS] oops"),
        (f"AWS_SECRET_ACCESS_KEY={SECRET_KEY}", "AWS_SECRET_ACCESS_KEY=[REDACTED_BY_AWS]"),
        (f"aws_secret_access_key = {SECRET_KEY}\n", "aws_secret_access_key = [REDACTED_BY_AWS]\n"),
        (f'{{"SecretAccessKey": "{SECRET_KEY}"}}', '{"SecretAccessKey": "[REDACTED_BY_AWS]"}'),
        (f"key:\n{RSA_KEY}\nthanks", "key:\n[REDACTED_BY_AWS]\nthanks"),
        (f"pgp:\n{PGP_KEY}\nthanks", "pgp:\n[REDACTED_BY_AWS]\nthanks"),
        ("card 4111 1111 1111 1111 please", "card [REDACTED_BY_AWS]-1111 please"),
        ("card 4111-1111-1111-1111.", "card [REDACTED_BY_AWS]-1111."),
        ("amex 378282246310005", "amex [REDACTED_BY_AWS]-0005"),
    ],
)
def test_secrets_are_redacted_before_storing(support: Any, text: str, stored: str) -> None:
    case_id = new_case(support, subject=f"subject {text}", communicationBody=text)
    case = get_case(support, case_id)
    assert case["subject"] == f"subject {stored}"
    assert case["recentCommunications"]["communications"][0]["body"] == stored
    support.add_communication_to_case(caseId=case_id, communicationBody=f"again: {text}")
    newest = support.describe_communications(caseId=case_id)["communications"][0]
    assert newest["body"] == f"again: {stored}"


@pytest.mark.parametrize(
    "text",
    [
        "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",  # 40 hex characters
        "order 1234 5678 9012 3456",  # 16 digits failing the Luhn check
        "account 111122223333 and key id AKIAIOSFODNN7EXAMPLE",
        "an ordinary sentence about DynamoDB throttling on table orders-2024",
    ],
)
def test_text_that_is_not_a_secret_is_kept(support: Any, text: str) -> None:
    case = get_case(support, new_case(support, subject=text, communicationBody=text))
    assert case["subject"] == text
    assert case["recentCommunications"]["communications"][0]["body"] == text
