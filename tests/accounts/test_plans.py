"""Support plans: basic and developer get SubscriptionRequiredException for every
operation (Trusted Advisor included); business gets everything but severity `critical`;
enterprise gets everything. Plan changes apply to the next request. Open mode applies
the plan of an account that exists in the accounts table."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.loaders import Loader

from tests.accounts.conftest import Admin, SigV4Server, client, new_account_id
from tests.accounts.signer import call
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess

OPERATIONS = sorted(Loader().load_service_model("support", "service-2")["operations"])
SUBSCRIPTION_REQUIRED = (
    "Amazon Web Services Premium Support Subscription is required to use this service."
)


def test_the_model_has_twenty_operations() -> None:
    assert len(OPERATIONS) == 20


@pytest.mark.parametrize("plan", ["basic", "developer"])
def test_plans_without_api_access_get_subscription_required_everywhere(
    sigv4_server: SigV4Server, plan: str
) -> None:
    admin = sigv4_server.admin
    account_id = admin.account(plan)
    key = admin.key(account_id)
    request_ids = []
    for operation in OPERATIONS:
        for params in ({}, {"dryRun": True}):
            answer = call(sigv4_server.port, key, operation, params)
            assert (answer.status, answer.code) == (400, "SubscriptionRequiredException"), (
                operation,
                answer.body,
            )
            assert answer.body == {
                "__type": "SubscriptionRequiredException",
                "message": SUBSCRIPTION_REQUIRED,
            }
            request_ids.append(answer.request_id)
    rows = admin.audit_rows(request_ids, "--account", account_id)
    assert {rows[r]["errorCode"] for r in request_ids} == {"SubscriptionRequiredException"}
    assert {rows[r]["eventName"] for r in request_ids} == set(OPERATIONS)


def _error(call_: Any, **params: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as info:
        call_(**params)
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_business_gets_everything_but_critical_severity(sigv4_server: SigV4Server) -> None:
    admin = sigv4_server.admin
    support = client(sigv4_server.url, admin.key(admin.account("business")))
    levels = [level["code"] for level in support.describe_severity_levels()["severityLevels"]]
    assert levels == ["low", "normal", "high", "urgent"]
    assert _error(
        support.create_case, subject="down", communicationBody="x", severityCode="critical"
    ) == ("InvalidParameterValueException", 400)
    assert _error(
        support.create_case,
        subject="down",
        communicationBody="x",
        severityCode="critical",
        dryRun=True,
    ) == ("InvalidParameterValueException", 400)
    case_id = support.create_case(subject="slow", communicationBody="x", severityCode="urgent")[
        "caseId"
    ]
    assert support.describe_cases(caseIdList=[case_id])["cases"][0]["severityCode"] == "urgent"
    assert support.describe_services(serviceCodeList=["general-info"])["services"]


def test_enterprise_gets_critical_severity(sigv4_server: SigV4Server) -> None:
    admin = sigv4_server.admin
    support = client(sigv4_server.url, admin.key(admin.account("enterprise")))
    levels = [level["code"] for level in support.describe_severity_levels()["severityLevels"]]
    assert levels[-1] == "critical"
    case_id = support.create_case(subject="down", communicationBody="x", severityCode="critical")[
        "caseId"
    ]
    assert support.describe_cases(caseIdList=[case_id])["cases"][0]["severityCode"] == "critical"


def test_a_plan_change_applies_to_the_next_request(sigv4_server: SigV4Server) -> None:
    admin = sigv4_server.admin
    account_id = admin.account("basic")
    support = client(sigv4_server.url, admin.key(account_id))
    assert _error(support.describe_services) == ("SubscriptionRequiredException", 400)
    changed = admin.run("accounts", "set-plan", account_id, "business")
    assert changed["plan"] == "business"
    assert support.describe_services()["services"]
    admin.run("accounts", "set-plan", account_id, "developer")
    assert _error(support.describe_services) == ("SubscriptionRequiredException", 400)


def test_open_mode_applies_the_plan_of_a_listed_account(server: ServerProcess) -> None:
    """The shared open-mode server: accounts it does not list are enterprise accounts;
    a listed one has its plan and e-mail."""
    store_args = (
        ["--database", server.database_url]
        if server.database_url
        else ["--data-dir", str(server.data_dir)]
    )
    admin = Admin(store_args)
    listed = admin.account("basic", email="listed@example.com")
    unlisted = new_account_id()

    assert _error(boto3_client(server.url, listed).describe_services) == (
        "SubscriptionRequiredException",
        400,
    )
    free = boto3_client(server.url, unlisted)
    case_id = free.create_case(subject="x", communicationBody="y", severityCode="critical")[
        "caseId"
    ]
    [case] = free.describe_cases(caseIdList=[case_id])["cases"]
    assert case["submittedBy"] == f"account-{unlisted}@example.com"

    admin.run("accounts", "set-plan", listed, "business")
    support = boto3_client(server.url, listed)
    # The shared server keeps look-ups for --auth-cache-ms (1 s by default).
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            case_id = support.create_case(subject="x", communicationBody="y")["caseId"]
            break
        except ClientError as error:
            assert error.response["Error"]["Code"] == "SubscriptionRequiredException"
            time.sleep(0.1)
    [comm] = support.describe_communications(caseId=case_id)["communications"]
    assert comm["submittedBy"] == f"{listed} (User) <listed@example.com>"
    assert json.dumps(support.describe_severity_levels()["severityLevels"]).count("critical") == 0
