"""The AWS CLI (awscli) against supportd: every implemented command and an error."""

from __future__ import annotations

from typing import Any

from tests.compat.helpers import CASE_ID, new_case
from tests.support.clients import aws_cli, cli_json
from tests.support.server import ServerProcess


def _cli(server: ServerProcess, account: str, *args: str) -> Any:
    return cli_json(aws_cli(server.url, *args, account=account))


def test_cli_case_lifecycle(server: ServerProcess, account: str) -> None:
    created = _cli(
        server,
        account,
        "create-case",
        "--subject",
        "TEST CASE-Please ignore",
        "--communication-body",
        "Created by the AWS CLI",
        "--service-code",
        "amazon-dynamodb",
        "--category-code",
        "apis",
        "--severity-code",
        "normal",
        "--language",
        "en",
        "--issue-type",
        "technical",
        "--cc-email-addresses",
        "ops@example.com",
        "dev@example.com",
    )
    case_id = created["caseId"]
    assert CASE_ID.match(case_id)

    added = _cli(
        server,
        account,
        "add-communication-to-case",
        "--case-id",
        case_id,
        "--communication-body",
        "A reply from the CLI",
    )
    assert added == {"result": True}

    comms = _cli(server, account, "describe-communications", "--case-id", case_id)
    assert [c["body"] for c in comms["communications"]] == [
        "A reply from the CLI",
        "Created by the AWS CLI",
    ]

    [case] = _cli(server, account, "describe-cases", "--case-id-list", case_id)["cases"]
    assert case["caseId"] == case_id
    assert case["status"] == "unassigned"
    assert case["severityCode"] == "normal"
    assert case["ccEmailAddresses"] == ["ops@example.com", "dev@example.com"]
    assert len(case["recentCommunications"]["communications"]) == 2

    resolved = _cli(server, account, "resolve-case", "--case-id", case_id)
    assert resolved == {"initialCaseStatus": "unassigned", "finalCaseStatus": "resolved"}
    assert _cli(server, account, "describe-cases")["cases"] == []
    everything = _cli(server, account, "describe-cases", "--include-resolved-cases")
    assert [c["status"] for c in everything["cases"]] == ["resolved"]


def test_cli_describe_cases_follows_pages(
    server: ServerProcess, support: Any, account: str
) -> None:
    created = [new_case(support, subject=f"n{n}") for n in range(23)]
    result = _cli(
        server, account, "describe-cases", "--page-size", "10", "--no-include-communications"
    )
    assert "nextToken" not in result
    assert [c["caseId"] for c in result["cases"]] == created[::-1]
    assert all("recentCommunications" not in c for c in result["cases"])


def test_cli_describe_communications_follows_pages(
    server: ServerProcess, support: Any, account: str
) -> None:
    case_id = new_case(support, communicationBody="m0")
    for n in range(1, 12):
        support.add_communication_to_case(caseId=case_id, communicationBody=f"m{n}")
    result = _cli(
        server, account, "describe-communications", "--case-id", case_id, "--page-size", "10"
    )
    assert [c["body"] for c in result["communications"]] == [f"m{n}" for n in range(11, -1, -1)]


def test_cli_reference_commands(server: ServerProcess, account: str) -> None:
    services = _cli(server, account, "describe-services", "--service-code-list", "amazon-dynamodb")
    [dynamodb] = services["services"]
    assert dynamodb["name"] == "DynamoDB"
    assert "apis" in {c["code"] for c in dynamodb["categories"]}

    levels = _cli(server, account, "describe-severity-levels")
    assert [level["code"] for level in levels["severityLevels"]] == [
        "low",
        "normal",
        "high",
        "urgent",
        "critical",
    ]

    reference = ["--service-code", "amazon-dynamodb", "--category-code", "apis"]
    languages = _cli(
        server, account, "describe-supported-languages", "--issue-type", "technical", *reference
    )
    assert {lang["code"] for lang in languages["supportedLanguages"]} == {"en", "ja", "zh", "ko"}

    options = _cli(
        server,
        account,
        "describe-create-case-options",
        "--issue-type",
        "technical",
        "--language",
        "es",
        *reference,
    )
    assert options["languageAvailability"] == "best_effort"
    assert [t["type"] for t in options["communicationTypes"]] == ["web", "chat", "call"]


def test_cli_reports_service_errors(server: ServerProcess, account: str) -> None:
    unknown = "case-111122223333-supd-2026-0123456789abcdef"
    result = aws_cli(server.url, "describe-communications", "--case-id", unknown, account=account)
    assert result.returncode in (254, 255)
    assert "CaseIdNotFound" in result.stderr
    assert "DescribeCommunications" in result.stderr
    assert result.stdout.strip() == ""


def test_cli_reports_validation_errors(server: ServerProcess, account: str) -> None:
    result = aws_cli(
        server.url,
        "create-case",
        "--subject",
        "s",
        "--communication-body",
        "x" * 8001,
        account=account,
    )
    assert result.returncode in (254, 255)
    assert "ValidationException" in result.stderr
    assert "Member must have length less than or equal to 8000" in result.stderr
