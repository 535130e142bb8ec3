"""Quotas and throttling, both profiles.

`--limits aws` (here with two worker processes and a small case quota, to keep it fast):
the case-creation quota is exact across processes, because it is checked in the
transaction of the insert; the case API's TPS limit throttles with throttlingReasons.
`--limits none` (the shared SigV4 server): neither applies. Per-account limits override
the profile both ways. Nothing here depends on timing: throttling is made certain with
rates so low that no token comes back during a test, or by sending far more requests
at once than the rate allows in the time they take.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from supportd.config import Config
from tests.accounts.conftest import SigV4Server, start_sigv4_server
from tests.accounts.signer import Answer, Key, call

QUOTA = 4


@pytest.fixture(scope="module")
def aws_server(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SigV4Server]:
    data_dir = tmp_path_factory.mktemp(f"aws-limits-{store_kind}") / "data"
    server = start_sigv4_server(
        request,
        store_kind,
        data_dir,
        "--limits",
        "aws",
        "--workers",
        "2",
        "--case-creation-limit",
        str(QUOTA),
    )
    yield server
    server.process.stop()


def create(server: SigV4Server, key: Key, n: int, dry_run: bool = False) -> Answer:
    params = {"subject": f"case {n}", "communicationBody": "quota test", "dryRun": dry_run}
    return call(server.port, key, "CreateCase", params)


def burst(server: SigV4Server, key: Key, count: int, operation: str) -> list[Answer]:
    """`count` requests at once, each on its own connection (so both workers get some)."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        if operation == "CreateCase":
            return list(pool.map(lambda n: create(server, key, n), range(count)))
        return list(pool.map(lambda n: call(server.port, key, operation), range(count)))


def test_case_creation_quota_is_exact_across_two_processes(aws_server: SigV4Server) -> None:
    admin = aws_server.admin
    account_id = admin.account("enterprise")
    key = admin.key(account_id)
    # Take the TPS limit out of the way: this test is about the hourly quota.
    admin.run("accounts", "set-limits", account_id, "--case-api-tps", "none")

    answers = burst(aws_server, key, 4 * QUOTA, "CreateCase")
    codes = sorted(a.code or "OK" for a in answers)
    assert codes == ["CaseCreationLimitExceeded"] * (3 * QUOTA) + ["OK"] * QUOTA, codes
    refused = next(a for a in answers if a.code)
    assert refused.status == 400
    assert set(refused.body) == {"__type", "message"}

    listed = call(aws_server.port, key, "DescribeCases", {"includeResolvedCases": True})
    assert len(listed.body["cases"]) == QUOTA
    # A dry run checks the quota too, and resolving cases does not give any back.
    assert create(aws_server, key, 99, dry_run=True).code == "CaseCreationLimitExceeded"
    case_id = listed.body["cases"][0]["caseId"]
    assert call(aws_server.port, key, "ResolveCase", {"caseId": case_id}).status == 200
    assert create(aws_server, key, 100).code == "CaseCreationLimitExceeded"

    rows = admin.audit_rows(
        [a.request_id for a in answers], "--account", account_id, "--operation", "CreateCase"
    )
    assert sorted(rows[a.request_id]["errorCode"] or "OK" for a in answers) == codes


def test_account_limits_override_the_profile(aws_server: SigV4Server) -> None:
    admin = aws_server.admin
    account_id = admin.account("business")
    key = admin.key(account_id)
    admin.run("accounts", "set-limits", account_id, "--case-api-tps", "none")
    for n in range(QUOTA):
        assert create(aws_server, key, n).status == 200
    assert create(aws_server, key, QUOTA).code == "CaseCreationLimitExceeded"

    changed = admin.run("accounts", "set-limits", account_id, "--cases-per-hour", "none")
    assert changed["limits"] == {
        "casesPerHour": "none",
        "caseApiTps": "none",
        "advisorTps": "default",
    }
    assert create(aws_server, key, QUOTA + 1).status == 200
    # QUOTA + 1 cases exist now.
    admin.run("accounts", "set-limits", account_id, "--cases-per-hour", str(QUOTA + 1))
    assert create(aws_server, key, QUOTA + 2).code == "CaseCreationLimitExceeded"
    admin.run("accounts", "set-limits", account_id, "--cases-per-hour", "default")
    assert create(aws_server, key, QUOTA + 3).code == "CaseCreationLimitExceeded"


def test_case_api_tps_limit_of_the_aws_profile(aws_server: SigV4Server) -> None:
    """5 TPS per process and account: 60 requests at once cannot all pass on 2 processes
    (that would take 5 seconds of refill)."""
    admin = aws_server.admin
    key = admin.key(admin.account("enterprise"))
    answers = burst(aws_server, key, 60, "DescribeSeverityLevels")
    codes = {a.code or "OK" for a in answers}
    assert codes == {"OK", "ThrottlingException"}, codes
    throttled = next(a for a in answers if a.code)
    assert throttled.status == 400
    assert throttled.body == {
        "__type": "ThrottlingException",
        "message": "Rate exceeded",
        "throttlingReasons": [{"reason": "TransactionsPerSecondExceeded", "resource": "case-api"}],
    }


def test_no_limits_profile(sigv4_server: SigV4Server) -> None:
    """The shared server runs --limits none: more than AWS's 10 cases an hour, and more
    than 5 requests a second, all pass."""
    admin = sigv4_server.admin
    key = admin.key(admin.account("enterprise"))
    assert all(create(sigv4_server, key, n).status == 200 for n in range(12))
    assert {a.status for a in burst(sigv4_server, key, 30, "DescribeServices")} == {200}


def test_account_throttling_under_no_limits_profile(sigv4_server: SigV4Server) -> None:
    """Per-account TPS limits apply whatever the profile; the case API and Trusted
    Advisor have buckets of their own."""
    admin = sigv4_server.admin
    account_id = admin.account("enterprise")
    key = admin.key(account_id)
    # One request, then no token for 1000 seconds.
    admin.run(
        "accounts", "set-limits", account_id, "--case-api-tps", "0.001", "--advisor-tps", "0.001"
    )
    first = call(sigv4_server.port, key, "DescribeServices")
    assert first.status == 200
    second = call(sigv4_server.port, key, "DescribeServices")
    assert (second.status, second.code) == (400, "ThrottlingException")
    assert second.body["throttlingReasons"] == [
        {"reason": "TransactionsPerSecondExceeded", "resource": "case-api"}
    ]

    advisor = "DescribeTrustedAdvisorChecks"
    assert call(sigv4_server.port, key, advisor, {"language": "en"}).code != "ThrottlingException"
    again = call(sigv4_server.port, key, advisor, {"language": "en"})
    assert again.code == "ThrottlingException"
    assert again.body["throttlingReasons"][0]["resource"] == "trusted-advisor-api"

    admin.run("accounts", "set-limits", account_id, "--case-api-tps", "default")
    assert call(sigv4_server.port, key, "DescribeServices").status == 200
    rows = admin.audit_rows([second.request_id, again.request_id], "--account", account_id)
    assert rows[second.request_id]["errorCode"] == "ThrottlingException"
    assert rows[again.request_id]["eventName"] == advisor


@pytest.mark.parametrize(
    ("auth", "limits", "aws"),
    [
        ("open", "auto", False),
        ("sigv4", "auto", True),
        ("open", "aws", True),
        ("sigv4", "none", False),
    ],
)
def test_the_default_profile_follows_the_auth_mode(auth: str, limits: str, aws: bool) -> None:
    assert Config(auth=auth, limits=limits).aws_limits is aws


def test_limit_values_are_checked(sigv4_server: SigV4Server, tmp_path: Path) -> None:
    admin = sigv4_server.admin
    account_id = admin.account("enterprise")
    for bad in ("0", "-3", "many", "nan"):
        output = admin.run(
            "accounts", "set-limits", account_id, "--case-api-tps", bad, expect_ok=False
        )
        assert "limit" in output
    shown = admin.run("accounts", "set-limits", account_id, "--advisor-tps", "2.5")
    assert json.dumps(shown["limits"]) == (
        '{"casesPerHour": "default", "caseApiTps": "default", "advisorTps": 2.5}'
    )
