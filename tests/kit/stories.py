"""Test files of a suite that uses the pytest plugin, run by tests/kit in a pytest of
their own (from the source tree here, from the built wheel in test_wheel.py)."""

from __future__ import annotations

# The done-when test, as a user of supportd would write it.
STORY = """
CASE = {
    "subject": "Our instance does not start",
    "communicationBody": "It stops at boot since this morning.",
    "serviceCode": "amazon-elastic-compute-cloud-linux",
    "categoryCode": "instance-issue",
    "severityCode": "high",
}


def _case(client, case_id):
    found = client.describe_cases(caseIdList=[case_id], includeResolvedCases=True)["cases"]
    return found[0]


def test_support_asks_for_logs_then_time_resolves_the_case(support_client, supportd_server):
    case_id = support_client.create_case(**CASE)["caseId"]

    supportd_server.reply(case_id, "Could you send the system log?")
    assert _case(support_client, case_id)["status"] == "pending-customer-action"
    last = support_client.describe_communications(caseId=case_id)["communications"][0]
    assert last["body"] == "Could you send the system log?"

    support_client.add_communication_to_case(caseId=case_id, communicationBody="Attached.")
    assert _case(support_client, case_id)["status"] == "customer-action-completed"

    supportd_server.reply(case_id, "A host problem, now fixed. Anything else?")
    supportd_server.advance_clock(5 * 24 * 3600 + 60)  # five days without an answer
    assert _case(support_client, case_id)["status"] == "resolved"


def test_each_test_has_an_account_of_its_own_a(support_client):
    assert support_client.describe_cases(includeResolvedCases=True)["cases"] == []
    support_client.create_case(**CASE)


def test_each_test_has_an_account_of_its_own_b(support_client):
    assert support_client.describe_cases(includeResolvedCases=True)["cases"] == []
    support_client.create_case(**CASE)
"""

# What the options change.
OPTIONS = """
import pytest
from botocore.exceptions import ClientError


def test_the_options_reach_the_server(request, supportd_server, support_client):
    assert supportd_server.auth == request.config.getoption("--supportd-auth")
    assert supportd_server.database_url == (request.config.getoption("--supportd-database") or "")
    assert support_client.describe_cases()["cases"] == []


def test_sigv4_signs_with_real_keys(request, supportd_server):
    if request.config.getoption("--supportd-auth") != "sigv4":
        return
    account = supportd_server.new_account()
    assert supportd_server.credentials(account)["aws_access_key_id"].startswith("AKIA")
    forged = supportd_server.client(account, aws_secret_access_key="wrong")
    with pytest.raises(ClientError) as refused:
        forged.describe_cases()
    assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"
"""
