"""DescribeServices, DescribeSeverityLevels, DescribeSupportedLanguages and
DescribeCreateCaseOptions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.compat.helpers import expect_error, post, strip, unvalidated_client
from tests.support.server import ServerProcess

KNOWN_SERVICES = {
    "general-info": {"using-aws", "charges", "account-structure"},
    "amazon-dynamodb": {"apis"},
    "amazon-elastic-compute-cloud-linux": set(),
    "amazon-simple-storage-service": set(),
    "aws-lambda": set(),
    "amazon-relational-database-service": set(),
    "aws-identity-and-access-management": set(),
}
CASE_LANGUAGES = {"zh", "en", "ja", "es", "pt", "fr", "ko", "tr"}
HOURS = re.compile(r"^\d{2}:\d{2}:\d{2}\.\d{3}$")


# --- DescribeServices -----------------------------------------------------------


def test_describe_services_shape_and_known_codes(support: Any) -> None:
    response = support.describe_services()
    assert set(strip(response)) == {"services"}
    services = response["services"]
    codes = [s["code"] for s in services]
    assert len(codes) == len(set(codes))
    for service in services:
        assert set(service) == {"code", "name", "categories"}
        assert re.fullmatch(r"[0-9a-z\-_]+", service["code"])
        assert service["name"]
        assert service["categories"]
        for category in service["categories"]:
            assert set(category) == {"code", "name"}
            assert re.fullmatch(r"[0-9a-z\-_]+", category["code"])
    by_code = {s["code"]: s for s in services}
    for code, categories in KNOWN_SERVICES.items():
        assert categories <= {c["code"] for c in by_code[code]["categories"]}, code
    assert by_code["amazon-dynamodb"]["name"] == "DynamoDB"


def test_describe_services_filter(support: Any) -> None:
    services = support.describe_services(serviceCodeList=["general-info", "amazon-dynamodb"])[
        "services"
    ]
    assert sorted(s["code"] for s in services) == ["amazon-dynamodb", "general-info"]
    assert strip(support.describe_services(serviceCodeList=[])) == strip(
        support.describe_services()
    )


def test_describe_services_in_a_case_language(support: Any) -> None:
    assert (
        support.describe_services(language="ja")["services"]
        == (support.describe_services()["services"])
    )


def test_describe_services_errors(server: ServerProcess, account: str) -> None:
    client = unvalidated_client(server.url, account)
    message = expect_error(
        "InvalidParameterValueException", client.describe_services, serviceCodeList=["no-such"]
    )
    assert message == "Invalid service code"
    message = expect_error(
        "ValidationException", client.describe_services, serviceCodeList=["INVALID-CODE"]
    )
    assert message == (
        "1 validation error detected: Value 'INVALID-CODE' at 'serviceCodeList.1.member' failed "
        "to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-z\\-_]+"
    )
    message = expect_error(
        "ValidationException", client.describe_services, serviceCodeList=["aws-lambda"] * 101
    )
    assert message.endswith("Member must have length less than or equal to 100")
    message = expect_error(
        "InvalidParameterValueException", client.describe_services, language="de"
    )
    assert message == "Invalid language code"


# --- DescribeSeverityLevels -----------------------------------------------------


def test_describe_severity_levels(support: Any) -> None:
    response = strip(support.describe_severity_levels())
    assert response == {
        "severityLevels": [
            {"code": "low", "name": "Low"},
            {"code": "normal", "name": "Normal"},
            {"code": "high", "name": "High"},
            {"code": "urgent", "name": "Urgent"},
            {"code": "critical", "name": "Critical"},
        ]
    }
    assert strip(support.describe_severity_levels(language="en")) == response


def test_describe_severity_levels_unknown_language(support: Any) -> None:
    message = expect_error(
        "InvalidParameterValueException", support.describe_severity_levels, language="xx"
    )
    assert message == "Invalid language code"


# --- DescribeSupportedLanguages -------------------------------------------------


def test_describe_supported_languages(support: Any) -> None:
    technical = support.describe_supported_languages(
        issueType="technical", serviceCode="amazon-dynamodb", categoryCode="apis"
    )
    assert set(strip(technical)) == {"supportedLanguages"}
    for language in technical["supportedLanguages"]:
        assert set(language) == {"code", "language", "display"}
    assert {lang["code"] for lang in technical["supportedLanguages"]} == {"en", "ja", "zh", "ko"}
    service = support.describe_supported_languages(
        issueType="customer-service", serviceCode="general-info", categoryCode="charges"
    )
    assert {lang["code"] for lang in service["supportedLanguages"]} == CASE_LANGUAGES
    english = next(lang for lang in service["supportedLanguages"] if lang["code"] == "en")
    assert english == {"code": "en", "language": "English", "display": "English"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"issueType": "billing-questions"}, "Invalid issue type"),
        ({"serviceCode": "no-such-service"}, "Invalid service code"),
        ({"categoryCode": "no-such-category"}, "Invalid category code"),
    ],
)
def test_describe_supported_languages_unknown_codes(
    support: Any, params: dict[str, str], message: str
) -> None:
    request = {"issueType": "technical", "serviceCode": "amazon-dynamodb", "categoryCode": "apis"}
    got = expect_error(
        "InvalidParameterValueException",
        support.describe_supported_languages,
        **{**request, **params},
    )
    assert got == message


@pytest.mark.parametrize(
    ("params", "constraint"),
    [
        ({"issueType": "tech"}, "Member must have length greater than or equal to 9"),
        ({"issueType": "t" * 23}, "Member must have length less than or equal to 22"),
        (
            {"serviceCode": "INVALID-CODE"},
            "Member must satisfy regular expression pattern: [0-9a-z\\-_]+",
        ),
        (
            {"categoryCode": "Bad Category"},
            "Member must satisfy regular expression pattern: [0-9a-z\\-_]+",
        ),
        ({"serviceCode": ""}, "Member must satisfy regular expression pattern: [0-9a-z\\-_]+"),
        ({"serviceCode": "s" * 101}, "Member must have length less than or equal to 100"),
        ({"categoryCode": "c" * 101}, "Member must have length less than or equal to 100"),
    ],
)
def test_describe_supported_languages_constraints(
    server: ServerProcess, account: str, params: dict[str, str], constraint: str
) -> None:
    client = unvalidated_client(server.url, account)
    request = {"issueType": "technical", "serviceCode": "amazon-dynamodb", "categoryCode": "apis"}
    message = expect_error(
        "ValidationException", client.describe_supported_languages, **{**request, **params}
    )
    [(member, value)] = params.items()
    assert message == (
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {constraint}"
    )


def test_describe_supported_languages_required_members(server: ServerProcess, account: str) -> None:
    response = post(server.url, "DescribeSupportedLanguages", {}, account=account)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "3 validation errors detected: "
        "Value null at 'issueType' failed to satisfy constraint: Member must not be null; "
        "Value null at 'serviceCode' failed to satisfy constraint: Member must not be null; "
        "Value null at 'categoryCode' failed to satisfy constraint: Member must not be null"
    )


# --- DescribeCreateCaseOptions --------------------------------------------------


def _options(client: Any, **params: str) -> dict[str, Any]:
    request = {
        "issueType": "technical",
        "serviceCode": "amazon-dynamodb",
        "categoryCode": "apis",
        "language": "en",
        **params,
    }
    return strip(client.describe_create_case_options(**request))


def test_describe_create_case_options_shape(support: Any) -> None:
    options = _options(support)
    assert set(options) == {"languageAvailability", "communicationTypes"}
    assert options["languageAvailability"] == "available"
    types = options["communicationTypes"]
    assert [t["type"] for t in types] == ["web", "chat", "call"]
    for entry in types:
        assert set(entry) == {"type", "supportedHours", "datesWithoutSupport"}
        for hours in entry["supportedHours"]:
            assert set(hours) == {"startTime", "endTime"}
            assert HOURS.match(hours["startTime"])
            assert HOURS.match(hours["endTime"])
        assert isinstance(entry["datesWithoutSupport"], list)


def test_describe_create_case_options_by_language_and_issue_type(support: Any) -> None:
    assert _options(support, language="ja")["languageAvailability"] == "available"
    assert _options(support, language="es")["languageAvailability"] == "best_effort"
    service = _options(
        support, issueType="customer-service", serviceCode="general-info", categoryCode="charges"
    )
    for entry in service["communicationTypes"]:
        for period in entry["datesWithoutSupport"]:
            assert set(period) == {"startDateTime", "endDateTime"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"issueType": "billing"}, "Invalid issue type"),
        ({"language": "de"}, "Invalid language code"),
        ({"serviceCode": "no-such-service"}, "Invalid service code"),
        ({"categoryCode": "no-such-category"}, "Invalid category code"),
    ],
)
def test_describe_create_case_options_unknown_codes(
    support: Any, params: dict[str, str], message: str
) -> None:
    with pytest.raises(ClientError) as info:
        _options(support, **params)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    error = info.value.response["Error"]
    assert error == {"Code": "InvalidParameterValueException", "Message": message}


def test_describe_create_case_options_required_members(server: ServerProcess, account: str) -> None:
    response = post(server.url, "DescribeCreateCaseOptions", {"language": "en"}, account=account)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "3 validation errors detected: "
        "Value null at 'issueType' failed to satisfy constraint: Member must not be null; "
        "Value null at 'serviceCode' failed to satisfy constraint: Member must not be null; "
        "Value null at 'categoryCode' failed to satisfy constraint: Member must not be null"
    )
