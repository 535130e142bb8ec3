"""DescribeTrustedAdvisorCheckResult and DescribeTrustedAdvisorCheckSummaries through boto3
against a real server: results seeded with `supportd advisor set-result`, the
not_available default, the wire formats (no milliseconds, doubles as floats), unknown
ids and bad lists."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.advisor.conftest import AdvisorServer
from tests.advisor.helpers import error_of, post, seed, set_result, supportd
from tests.unit.model_checks import check_response, shape_problems

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
COST_CHECK = "Z4AUBRNSmz"  # Unassociated Elastic IP Addresses: two columns
S3_CHECK = "Pfx0RwqBli"  # Amazon S3 Bucket Permissions: six columns
SEEDED = {
    "status": "warning",
    "timestamp": "2024-05-13T21:38:05.123Z",
    "resourcesSummary": {
        "resourcesProcessed": 12,
        "resourcesFlagged": 2,
        "resourcesIgnored": 1,
        "resourcesSuppressed": 1,
    },
    "flaggedResources": [
        {
            "status": "warning",
            "region": "eu-west-1",
            "resourceId": "bucket-hash-1",
            "isSuppressed": False,
            "metadata": ["Yellow", "eu-west-1", "logs", "Yes", "No", "No"],
        },
        {
            "status": "error",
            "region": "us-east-1",
            "resourceId": "bucket-hash-2",
            "isSuppressed": True,
            "metadata": ["Red", "us-east-1", "dröp", "Yes", "Yes", ""],
        },
    ],
}


def test_a_check_without_result_is_not_available(
    advisor_server: AdvisorServer, client: Any, advisor_account: str
) -> None:
    result = client.describe_trusted_advisor_check_result(checkId=S3_CHECK)["result"]
    assert result == {
        "checkId": S3_CHECK,
        "timestamp": "1970-01-01T00:00:00Z",
        "status": "not_available",
        "resourcesSummary": {
            "resourcesProcessed": 0,
            "resourcesFlagged": 0,
            "resourcesIgnored": 0,
            "resourcesSuppressed": 0,
        },
        "categorySpecificSummary": {},
        "flaggedResources": [],
    }
    raw = post(
        advisor_server,
        advisor_account,
        "DescribeTrustedAdvisorCheckResult",
        {"checkId": COST_CHECK},
    )
    assert (
        b'"costOptimizing":{"estimatedMonthlySavings":0.0,"estimatedPercentMonthlySavings":0.0}'
        in raw.content
    )
    check_response("DescribeTrustedAdvisorCheckResult", raw)


def test_a_seeded_result_is_served_as_seeded(
    advisor_server: AdvisorServer, client: Any, advisor_account: str
) -> None:
    seed(advisor_server, advisor_account, S3_CHECK, SEEDED)
    result = client.describe_trusted_advisor_check_result(checkId=S3_CHECK, language="ja")["result"]
    assert result == {
        "checkId": S3_CHECK,
        "timestamp": "2024-05-13T21:38:05Z",  # whole seconds
        "status": "warning",
        "resourcesSummary": SEEDED["resourcesSummary"],
        "categorySpecificSummary": {},
        "flaggedResources": SEEDED["flaggedResources"],
    }
    [summary] = client.describe_trusted_advisor_check_summaries(checkIds=[S3_CHECK])["summaries"]
    assert summary == {
        "checkId": S3_CHECK,
        "timestamp": "2024-05-13T21:38:05Z",
        "status": "warning",
        "hasFlaggedResources": True,
        "resourcesSummary": SEEDED["resourcesSummary"],
        "categorySpecificSummary": {},
    }
    raw = post(
        advisor_server, advisor_account, "DescribeTrustedAdvisorCheckResult", {"checkId": S3_CHECK}
    )
    check_response("DescribeTrustedAdvisorCheckResult", raw)
    # Another account sees nothing of it.
    other = post(
        advisor_server, "999999999999", "DescribeTrustedAdvisorCheckResult", {"checkId": S3_CHECK}
    )
    assert other.json()["result"]["status"] == "not_available"


def test_a_minimal_seed_gets_derived_counts_and_float_savings(
    advisor_server: AdvisorServer, client: Any, advisor_account: str
) -> None:
    seed(
        advisor_server,
        advisor_account,
        COST_CHECK,
        {
            "categorySpecificSummary": {"costOptimizing": {"estimatedMonthlySavings": 3}},
            "flaggedResources": [
                {
                    "status": "warning",
                    "resourceId": "eipalloc-1",
                    "metadata": ["us-east-1", "203.0.113.1"],
                },
                {
                    "status": "warning",
                    "resourceId": "eipalloc-2",
                    "metadata": ["us-east-1", "203.0.113.2"],
                },
            ],
        },
    )
    raw = post(
        advisor_server,
        advisor_account,
        "DescribeTrustedAdvisorCheckSummaries",
        {"checkIds": [COST_CHECK]},
    )
    check_response("DescribeTrustedAdvisorCheckSummaries", raw)
    assert b'"estimatedMonthlySavings":3.0,"estimatedPercentMonthlySavings":0.0' in raw.content
    [summary] = raw.json()["summaries"]
    assert summary["status"] == "warning"
    assert summary["resourcesSummary"] == {
        "resourcesProcessed": 2,
        "resourcesFlagged": 2,
        "resourcesIgnored": 0,
        "resourcesSuppressed": 0,
    }
    assert TIMESTAMP.fullmatch(summary["timestamp"])
    result = client.describe_trusted_advisor_check_result(checkId=COST_CHECK)["result"]
    assert [r["resourceId"] for r in result["flaggedResources"]] == ["eipalloc-1", "eipalloc-2"]
    assert all("region" not in r and r["isSuppressed"] is False for r in result["flaggedResources"])


def test_the_aws_cli_output_format_is_accepted_and_replaces_the_result(
    advisor_server: AdvisorServer, client: Any, advisor_account: str
) -> None:
    seed(advisor_server, advisor_account, S3_CHECK, SEEDED)
    wrapped = {"result": {"checkId": S3_CHECK, "status": "ok", "flaggedResources": []}}
    seed(advisor_server, advisor_account, S3_CHECK, wrapped)
    result = client.describe_trusted_advisor_check_result(checkId=S3_CHECK)["result"]
    assert (result["status"], result["flaggedResources"]) == ("ok", [])


def flagged(metadata: list[Any]) -> dict[str, Any]:
    return {"flaggedResources": [{"status": "warning", "resourceId": "r", "metadata": metadata}]}


def savings(amount: Any) -> dict[str, Any]:
    return {"categorySpecificSummary": {"costOptimizing": {"estimatedMonthlySavings": amount}}}


REFUSED = (  # check id, file content, what the message says
    ("nOpE000000", {}, "Unknown ID: nOpE000000"),
    (S3_CHECK, "not json", "Expecting value"),
    (S3_CHECK, {"status": "green"}, "status must be one of"),
    (S3_CHECK, flagged(["a"]), "has 1 values; the check has 6 columns"),
    (S3_CHECK, flagged([None] * 6), "must be a list of strings"),
    (S3_CHECK, savings(0.0), "only for cost-optimizing checks"),
    (COST_CHECK, savings("3"), "must be a number"),
    (S3_CHECK, {"timestamp": "last tuesday"}, "is not a time"),
    (S3_CHECK, {"resourcesSummary": {"resourcesProcessed": -1}}, "at least 0"),
    (S3_CHECK, {"flagged": []}, "unknown member 'flagged'"),
    (S3_CHECK, {"checkId": COST_CHECK}, "is not the check"),
)  # fmt: skip


def test_set_result_refuses_what_it_cannot_store(
    advisor_server: AdvisorServer, advisor_account: str
) -> None:
    seed(advisor_server, advisor_account, S3_CHECK, SEEDED)
    for check_id, body, message in REFUSED:
        done = set_result(advisor_server, advisor_account, check_id, body)
        assert done.returncode != 0
        assert message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    # Nothing was written.
    response = post(
        advisor_server, advisor_account, "DescribeTrustedAdvisorCheckResult", {"checkId": S3_CHECK}
    )
    assert response.json()["result"]["status"] == "warning"


def test_set_result_refuses_a_bad_account(advisor_server: AdvisorServer) -> None:
    done = set_result(advisor_server, "12345", S3_CHECK, {})
    assert done.returncode != 0 and "12-digit account id" in done.stderr


def test_set_result_refuses_a_missing_sqlite_database(tmp_path: Path) -> None:
    done = supportd(
        "advisor", "set-result", "111122223333", S3_CHECK, "--file", "-",
        "--data-dir", str(tmp_path / "nowhere"), stdin="{}",
    )  # fmt: skip
    assert done.returncode == 1 and "no supportd database at" in done.stderr
    assert not (tmp_path / "nowhere").exists()


def test_clear_result(advisor_server: AdvisorServer, client: Any, advisor_account: str) -> None:
    seed(advisor_server, advisor_account, S3_CHECK, SEEDED)
    args = ["advisor", "clear-result", advisor_account, S3_CHECK, *advisor_server.store_args]
    assert "result removed" in supportd(*args).stdout
    assert result_status(client) == "not_available"
    assert "had no result" in supportd(*args).stdout


def result_status(client: Any) -> str:
    return str(client.describe_trusted_advisor_check_result(checkId=S3_CHECK)["result"]["status"])


def test_summaries_of_every_check_in_request_order(
    advisor_server: AdvisorServer, client: Any, advisor_account: str
) -> None:
    seed(advisor_server, advisor_account, S3_CHECK, SEEDED)
    ids = [c["id"] for c in client.describe_trusted_advisor_checks(language="en")["checks"]]
    ids.reverse()
    raw = post(
        advisor_server,
        advisor_account,
        "DescribeTrustedAdvisorCheckSummaries",
        {"checkIds": ids + ids[:3]},
    )
    check_response("DescribeTrustedAdvisorCheckSummaries", raw)
    summaries = raw.json()["summaries"]
    assert [s["checkId"] for s in summaries] == ids  # repeated ids answered once
    by_id = {s["checkId"]: s for s in summaries}
    assert by_id[S3_CHECK]["status"] == "warning"
    assert {s["status"] for s in summaries if s["checkId"] != S3_CHECK} == {"not_available"}
    costs = [s for s in summaries if "costOptimizing" in s["categorySpecificSummary"]]
    assert len(costs) == 22
    assert all(shape_problems("TrustedAdvisorCheckSummary", s) == [] for s in summaries)


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("describe_trusted_advisor_check_result", {"checkId": "eW7HH0l7J9"}),
        ("describe_trusted_advisor_check_summaries", {"checkIds": ["eW7HH0l7J9"]}),
        ("describe_trusted_advisor_check_summaries", {"checkIds": [S3_CHECK, "eW7HH0l7J9", "x"]}),
        ("describe_trusted_advisor_check_refresh_statuses", {"checkIds": [S3_CHECK, "eW7HH0l7J9"]}),
        ("refresh_trusted_advisor_check", {"checkId": "eW7HH0l7J9"}),
    ],
)  # fmt: skip
def test_unknown_ids_are_invalid_parameter_values(
    client: Any, operation: str, params: dict[str, Any]
) -> None:
    code, message = error_of(getattr(client, operation), **params)
    assert (code, message) == ("InvalidParameterValueException", "Unknown ID: eW7HH0l7J9")


@pytest.mark.supportd_wording
@pytest.mark.parametrize(
    "operation",
    ["DescribeTrustedAdvisorCheckSummaries", "DescribeTrustedAdvisorCheckRefreshStatuses"],
)
def test_empty_and_oversized_id_lists_are_refused(
    advisor_server: AdvisorServer, advisor_account: str, operation: str
) -> None:
    for ids, message in (([], "at least one check"), ([S3_CHECK] * 501, "at most 500")):
        response = post(advisor_server, advisor_account, operation, {"checkIds": ids})
        assert response.status_code == 400
        body = response.json()
        assert body["__type"] == "InvalidParameterValueException"
        assert message in body["message"]
    response = post(advisor_server, advisor_account, operation, {"checkIds": "DqdJqYeRm5"})
    assert response.json()["__type"] == "SerializationException"
    response = post(advisor_server, advisor_account, operation, {})
    assert response.json()["__type"] == "ValidationException"


def test_result_language_is_checked(client: Any) -> None:
    code, message = error_of(
        client.describe_trusted_advisor_check_result, checkId=S3_CHECK, language="xx"
    )
    assert code == "InvalidParameterValueException" and "xx" in message


def test_reads_change_nothing(advisor_server: AdvisorServer, advisor_account: str) -> None:
    seed(advisor_server, advisor_account, S3_CHECK, SEEDED)
    calls = [
        ("DescribeTrustedAdvisorCheckResult", {"checkId": S3_CHECK}),
        ("DescribeTrustedAdvisorCheckSummaries", {"checkIds": [S3_CHECK, COST_CHECK]}),
        ("DescribeTrustedAdvisorCheckRefreshStatuses", {"checkIds": [S3_CHECK, "tstQuick001"]}),
    ]
    first = [post(advisor_server, advisor_account, op, p).json() for op, p in calls]
    for _ in range(3):
        assert [post(advisor_server, advisor_account, op, p).json() for op, p in calls] == first
    assert json.dumps(first).count("not_available") == 1
