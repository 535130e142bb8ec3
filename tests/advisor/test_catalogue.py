"""DescribeTrustedAdvisorChecks through boto3 against a real server: the real check ids,
names and categories, our descriptions and columns, the operator's additions and
translations, and the language rules."""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import pytest

from tests.advisor.conftest import CHECKS_FILE, AdvisorServer, server_env
from tests.advisor.helpers import error_of, post, supportd
from tests.unit.model_checks import shape_problems

OPERATOR_CHECKS = {c["id"] for c in json.loads(CHECKS_FILE.read_text())["checks"] if "name" in c}
# Facts of the real service (ids, names and categories are how clients name checks).
KNOWN = {
    "DqdJqYeRm5": ("IAM Access Key Rotation", "security"),
    "Qch7DwouX1": ("Low Utilization Amazon EC2 Instances", "cost_optimizing"),
    "Pfx0RwqBli": ("Amazon S3 Bucket Permissions", "security"),
    "eW7HH0l7J9": None,  # the facts sheet's example of an unknown id
    "fW7HH0l7J9": ("Auto Scaling Groups", "service_limits"),
    "iqdCTZKCUp": ("Load Balancer Optimization", "fault_tolerance"),
    "ZRxQlPsb6c": ("High Utilization Amazon EC2 Instances", "performance"),
    "HCP4007jGY": ("Security Groups – Specific Ports Unrestricted", "security"),
}
CATEGORY_COUNTS = {
    "cost_optimizing": 22,
    "security": 21,
    "fault_tolerance": 23,
    "performance": 13,
    "service_limits": 51,
}


def test_the_catalogue_has_the_real_checks(advisor_server: AdvisorServer, client: Any) -> None:
    checks = client.describe_trusted_advisor_checks(language="en")["checks"]
    builtin = [c for c in checks if c["id"] not in OPERATOR_CHECKS]
    assert len(builtin) == 130
    assert collections.Counter(c["category"] for c in builtin) == CATEGORY_COUNTS
    by_id = {c["id"]: c for c in checks}
    assert len(by_id) == len(checks)
    for check_id, fact in KNOWN.items():
        if fact is None:
            assert check_id not in by_id
        else:
            assert (by_id[check_id]["name"], by_id[check_id]["category"]) == fact
    for check in builtin:
        assert check["description"].strip() and "<b>Alert Criteria</b>" in check["description"]
        assert check["metadata"] and all(isinstance(c, str) and c for c in check["metadata"])
    assert by_id["DqdJqYeRm5"]["metadata"] == [
        "Status",
        "IAM User",
        "Access Key",
        "Key Last Rotated",
        "Reason",
    ]
    raw = post(advisor_server, "111122223333", "DescribeTrustedAdvisorChecks", {"language": "en"})
    assert raw.status_code == 200
    assert shape_problems("DescribeTrustedAdvisorChecksResponse", raw.json()) == []


def test_the_operator_file_adds_checks(client: Any) -> None:
    checks = {c["id"]: c for c in client.describe_trusted_advisor_checks(language="en")["checks"]}
    assert set(checks) >= OPERATOR_CHECKS
    assert checks["tstQuick001"]["category"] == "operational_excellence"
    assert checks["tstQuick001"]["metadata"] == []
    # A partial entry for a known id changes only what it names.
    assert checks["ePs02jT06w"]["name"] == "Amazon EBS Public Snapshots"


@pytest.mark.parametrize("language", ["zh", "zh_TW", "fr", "de", "id", "it", "ko", "pt_BR", "es"])
def test_every_supported_language_is_served_in_english(client: Any, language: str) -> None:
    english = client.describe_trusted_advisor_checks(language="en")["checks"]
    assert client.describe_trusted_advisor_checks(language=language)["checks"] == english


def test_a_translation_is_served_where_it_exists(client: Any) -> None:
    english = {c["id"]: c for c in client.describe_trusted_advisor_checks(language="en")["checks"]}
    japanese = {c["id"]: c for c in client.describe_trusted_advisor_checks(language="ja")["checks"]}
    assert japanese["ePs02jT06w"]["name"] == "Amazon EBS パブリックスナップショット"
    assert japanese["ePs02jT06w"]["description"].startswith("公開されている")
    assert japanese["ePs02jT06w"]["metadata"] == english["ePs02jT06w"]["metadata"]
    assert japanese["DqdJqYeRm5"] == english["DqdJqYeRm5"]


@pytest.mark.supportd_wording
@pytest.mark.parametrize("language", ["xx", "EN", "pt", "zh-TW", "english"])
def test_an_unsupported_language_is_refused(client: Any, language: str) -> None:
    code, message = error_of(client.describe_trusted_advisor_checks, language=language)
    assert code == "InvalidParameterValueException"
    assert language in message and "pt_BR" in message


def test_language_is_required(advisor_server: AdvisorServer, advisor_account: str) -> None:
    response = post(advisor_server, advisor_account, "DescribeTrustedAdvisorChecks", {})
    assert response.status_code == 400
    assert response.json()["__type"] == "ValidationException"
    assert "Value null at 'language'" in response.json()["message"]


def test_the_cli_lists_checks_with_their_providers(tmp_path: Path) -> None:
    listed = supportd(
        "advisor",
        "checks",
        "--json",
        "--advisor-checks-file",
        str(CHECKS_FILE),
        env=server_env(tmp_path / "runs.log"),
    )
    assert listed.returncode == 0, listed.stderr
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert rows["DqdJqYeRm5"]["provider"].startswith("supportd: ")
    assert rows["COr6dfpM03"]["autoRefresh"] is True
    assert rows["51fC20e7I2"]["autoRefresh"] is True  # set by the operator file
    assert rows["Qch7DwouX1"]["provider"] is None
    assert rows["tstSlow0001"]["provider"] == (
        "supportd-advisor-test-checks: supportd_advisor_test_checks:slow"
    )
    assert "tstGone0001" not in rows  # a plug-in's provider for no check is ignored


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"checks": [{"id": "tstNew0001", "name": "x"}]}', "'category' must be"),
        ('{"checks": [{"id": "a b"}]}', "'id' must be"),
        ('{"checks": [{"id": "DqdJqYeRm5", "translations": {"xx": {"name": "n"}}}]}', "'xx'"),
        ("not json", "Expecting value"),
    ],
)
def test_serve_refuses_an_unusable_checks_file(tmp_path: Path, content: str, problem: str) -> None:
    bad = tmp_path / "checks.json"
    bad.write_text(content, encoding="utf-8")
    done = supportd(
        "serve",
        "--port",
        "0",
        "--data-dir",
        str(tmp_path / "data"),
        "--advisor-checks-file",
        str(bad),
    )
    assert done.returncode == 1
    assert problem in done.stderr and str(bad) in done.stderr
    assert "Traceback" not in done.stderr
