"""supportd.testing.SupportdServer: a real server for other people's suites, and the
support side it plays (on both stores)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from supportd.testing import SupportdError, SupportdServer
from tests.support import postgres

CASE = {
    "subject": "Instance does not start",
    "communicationBody": "It stopped at boot.",
    "serviceCode": "amazon-elastic-compute-cloud-linux",
    "categoryCode": "instance-issue",
}
UNUSED_ACCESS_KEY_CHECK = "Pfx0RwqBli"  # Amazon S3 Bucket Permissions: 6 columns


@pytest.fixture(scope="module")
def kit(request: pytest.FixtureRequest, store_kind: str) -> Iterator[SupportdServer]:
    url = ""
    if store_kind == "postgresql":
        databases: postgres.ThrowawayDatabases = request.getfixturevalue("postgres_databases")
        url = databases.new_database()
    with SupportdServer(database_url=url) as server:
        yield server


def _status(client: Any, case_id: str) -> str:
    cases = client.describe_cases(caseIdList=[case_id], includeResolvedCases=True)["cases"]
    return str(cases[0]["status"])


def test_the_whole_story_support_answers_and_time_resolves(kit: SupportdServer) -> None:
    support = kit.client(kit.new_account())
    case_id = support.create_case(**CASE)["caseId"]
    answer = kit.reply(case_id, "Could you send the system log?")
    assert answer["case"]["status"] == "pending-customer-action"
    comms = support.describe_communications(caseId=case_id)["communications"]
    assert comms[0]["body"] == "Could you send the system log?"
    assert comms[0]["submittedBy"] == "Amazon Web Services"
    support.add_communication_to_case(caseId=case_id, communicationBody="Here it is.")
    assert _status(support, case_id) == "customer-action-completed"
    kit.reply(case_id, "A host issue; fixed. Anything else?")
    # Five days without an answer: auto-resolve has run when advance_clock returns.
    kit.advance_clock(5 * 24 * 3600 + 60)
    assert _status(support, case_id) == "resolved"
    assert kit.clock_offset_s == 5 * 24 * 3600 + 60


def test_notes_statuses_and_resolution_as_support(kit: SupportdServer) -> None:
    support = kit.client(kit.new_account())
    case_id = support.create_case(**CASE)["caseId"]
    kit.note(case_id, "internal: host degraded")
    assert kit.set_status(case_id, "work-in-progress")["case"]["status"] == "work-in-progress"
    seen = kit.case(case_id)
    assert [n["body"] for n in seen["notes"]] == ["internal: host degraded"]
    # The customer never sees the note.
    comms = support.describe_communications(caseId=case_id)["communications"]
    assert [c["body"] for c in comms] == ["It stopped at boot."]
    assert kit.resolve(case_id)["case"]["status"] == "resolved"
    assert _status(support, case_id) == "resolved"


def test_a_display_id_names_the_case_too(kit: SupportdServer) -> None:
    support = kit.client(kit.new_account())
    case_id = support.create_case(**CASE)["caseId"]
    display_id = support.describe_cases(caseIdList=[case_id])["cases"][0]["displayId"]
    kit.reply(display_id, "Looking into it.", status="work-in-progress")
    assert _status(support, case_id) == "work-in-progress"


def test_each_new_account_sees_only_its_own_cases(kit: SupportdServer) -> None:
    first, second = kit.new_account(), kit.new_account()
    assert first != second and len(first) == 12 and first.isdigit()
    kit.client(first).create_case(**CASE)
    assert len(kit.client(first).describe_cases()["cases"]) == 1
    assert kit.client(second).describe_cases()["cases"] == []


def test_the_default_account_is_the_servers_own(kit: SupportdServer) -> None:
    assert kit.client().describe_cases()["cases"] == []
    assert kit.credentials()["aws_access_key_id"] == kit.account_id


def test_plans_are_the_accounts_own(kit: SupportdServer) -> None:
    developer = kit.client(kit.new_account(plan="developer"))
    with pytest.raises(ClientError) as refused:
        developer.describe_cases()
    assert refused.value.response["Error"]["Code"] == "SubscriptionRequiredException"
    business = kit.client(kit.new_account(plan="business"))
    with pytest.raises(ClientError) as critical:
        business.create_case(**CASE, severityCode="critical")
    assert "not available with your AWS Support plan" in str(critical.value)
    assert business.create_case(**CASE, severityCode="urgent")["caseId"]


def test_an_unknown_plan_is_refused(kit: SupportdServer) -> None:
    with pytest.raises(SupportdError, match="unknown plan 'gold'"):
        kit.new_account(plan="gold")


def test_advisor_results_are_seeded_through_the_staff_api(kit: SupportdServer) -> None:
    account = kit.new_account()
    resource = {
        "status": "error",
        "region": "us-east-1",
        "resourceId": "arn:aws:s3:::open-bucket",
        "metadata": ["Red", "us-east-1", "open-bucket", "Yes", "Yes", "No"],
    }
    kit.set_advisor_result(account, UNUSED_ACCESS_KEY_CHECK, "error", resources=[resource])
    result = kit.client(account).describe_trusted_advisor_check_result(
        checkId=UNUSED_ACCESS_KEY_CHECK
    )["result"]
    assert result["status"] == "error"
    assert [r["resourceId"] for r in result["flaggedResources"]] == ["arn:aws:s3:::open-bucket"]
    # Another account's result of the check is untouched.
    other = kit.client(kit.new_account()).describe_trusted_advisor_check_result(
        checkId=UNUSED_ACCESS_KEY_CHECK
    )["result"]
    assert other["status"] == "not_available"


def test_a_bad_advisor_result_is_refused_with_the_reason(kit: SupportdServer) -> None:
    with pytest.raises(SupportdError) as unknown:
        kit.set_advisor_result(kit.new_account(), "no-such-check", "ok")
    assert (unknown.value.status, unknown.value.code) == (404, "check_not_found")
    with pytest.raises(SupportdError) as short:
        kit.set_advisor_result(
            kit.new_account(),
            UNUSED_ACCESS_KEY_CHECK,
            "warning",
            resources=[{"status": "warning", "resourceId": "x", "metadata": ["one"]}],
        )
    assert short.value.code == "invalid_result"
    assert "6 columns" in str(short.value)


def test_support_actions_on_unknown_cases_and_illegal_moves_say_why(kit: SupportdServer) -> None:
    with pytest.raises(SupportdError) as missing:
        kit.reply("case-123456789012-supd-2026-0000000000000000", "hello")
    assert (missing.value.status, missing.value.code) == (404, "case_not_found")
    support = kit.client(kit.new_account())
    case_id = support.create_case(**CASE)["caseId"]
    with pytest.raises(SupportdError) as bad:
        kit.set_status(case_id, "sleeping")
    assert (bad.value.status, bad.value.code) == (400, "invalid_parameter")
    with pytest.raises(SupportdError) as empty:
        kit.note(case_id, "   ")
    assert empty.value.code == "empty_body"
    assert _status(support, case_id) == "unassigned"  # nothing was written


def test_the_clock_moves_only_forward(kit: SupportdServer) -> None:
    before = kit.clock_offset_s
    with pytest.raises(ValueError, match="only moves forward"):
        kit.advance_clock(-1)
    assert kit.clock_offset_s == before


def test_the_clock_moves_expiry_too(kit: SupportdServer) -> None:
    support = kit.client(kit.new_account())
    set_id = support.add_attachments_to_set(attachments=[{"fileName": "a.log", "data": b"x"}])[
        "attachmentSetId"
    ]
    kit.advance_clock(3601)  # attachment sets expire after an hour
    with pytest.raises(ClientError) as expired:
        support.create_case(**CASE, attachmentSetId=set_id)
    assert expired.value.response["Error"]["Code"] == "AttachmentSetExpired"


def test_boto3_arguments_reach_the_client(kit: SupportdServer) -> None:
    from botocore.config import Config

    client = kit.client(config=Config(read_timeout=7), region_name="us-east-1")
    assert client.meta.config.read_timeout == 7
    assert client.meta.config.retries["total_max_attempts"] == 1  # the kit's, merged
    assert client.meta.endpoint_url == kit.endpoint_url


def test_the_aws_cli_works_from_the_environment(kit: SupportdServer) -> None:
    account = kit.new_account()
    kit.client(account).create_case(**CASE)
    env = {
        **os.environ,
        **kit.environ(account),
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    aws = Path(sys.executable).with_name("aws")
    # awscli v1 does not read AWS_ENDPOINT_URL: give it as the option, as docs/testing.md does.
    result = subprocess.run(
        [str(aws), "support", "describe-cases", "--endpoint-url", env["AWS_ENDPOINT_URL"]],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert [c["subject"] for c in json.loads(result.stdout)["cases"]] == [CASE["subject"]]


# --- signing, settings, starting and stopping ----------------------------------------------


@pytest.fixture(scope="module")
def signed() -> Iterator[SupportdServer]:
    with SupportdServer(auth="sigv4") as server:
        yield server


def test_sigv4_accounts_get_real_keys(signed: SupportdServer) -> None:
    account = signed.new_account()
    key = signed.credentials(account)["aws_access_key_id"]
    assert key != account and key.startswith("AKIA")
    support = signed.client(account)
    case_id = support.create_case(**CASE)["caseId"]
    assert case_id.startswith(f"case-{account}-")
    signed.reply(case_id, "Hello from support")
    assert _status(support, case_id) == "pending-customer-action"


def test_sigv4_checks_the_signature(signed: SupportdServer) -> None:
    account = signed.new_account()
    forged = signed.client(account, aws_secret_access_key="not-the-secret")
    with pytest.raises(ClientError) as refused:
        forged.describe_cases()
    assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"
    unsigned_account = "999999999999"
    with pytest.raises(SupportdError, match="no access key for account 999999999999"):
        signed.client(unsigned_account)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"auth": "telepathy"}, "auth must be one of open, sigv4"),
        ({"colour": "blue"}, "unexpected keyword argument 'colour'"),
        ({"worker_poll_ms": 1}, "worker_poll_ms must be at least 10"),
    ],
)
def test_bad_settings_are_refused_before_anything_starts(
    settings: dict[str, Any], message: str
) -> None:
    server = SupportdServer(settings=settings)
    with pytest.raises(SupportdError, match=message):
        server.start()
    assert server.directory is None  # stopped and cleaned up


def test_a_database_that_cannot_be_migrated_is_named_as_the_reason(
    postgres_databases: postgres.ThrowawayDatabases,
) -> None:
    missing = postgres.with_database(postgres_databases.url, "supportd_no_such_database")
    server = SupportdServer(database_url=missing)
    with pytest.raises(SupportdError, match="could not migrate the database") as failed:
        server.start()
    assert "supportd_no_such_database" in str(failed.value)
    assert server.port == 0  # no server was started


def test_a_server_that_cannot_start_says_why_and_cleans_up(tmp_path: Path) -> None:
    server = SupportdServer(settings={"advisor_checks_file": str(tmp_path / "missing.json")})
    with pytest.raises(SupportdError, match="supportd exited at start") as failed:
        server.start()
    assert "missing.json" in str(failed.value)  # the server's own words
    assert server.port == 0 and server.directory is None


def test_settings_reach_the_server_and_a_given_directory_is_kept(tmp_path: Path) -> None:
    given = tmp_path / "kept"
    settings = {"support_display_name": "Example Support"}
    with SupportdServer(settings=settings, directory=given) as server:
        support = server.client()
        case_id = support.create_case(**CASE)["caseId"]
        server.reply(case_id, "hi")
        comms = support.describe_communications(caseId=case_id)["communications"]
        assert comms[0]["submittedBy"] == "Example Support"
    assert (given / "data" / "supportd.db").exists()
    assert "fake clock" in (given / "supportd.log").read_text()
    server.stop()  # twice is fine
    with pytest.raises(SupportdError, match="not started"):
        _ = server.endpoint_url


def test_stop_removes_a_directory_of_its_own() -> None:
    with SupportdServer() as own:
        directory = own.directory
        assert directory is not None and (directory / "data" / "supportd.db").exists()
    assert not directory.exists()


def test_the_kit_acts_as_a_staff_member_of_its_own(kit: SupportdServer) -> None:
    me = kit.staff_api("GET", "/me")["staff"]
    assert me["name"] == kit.staff_name and kit.staff_name.startswith("kit-")
    assert me["role"] == "admin"
