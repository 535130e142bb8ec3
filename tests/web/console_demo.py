"""Realistic data for the console's screenshots: customers of three accounts file cases
through boto3 (one with a log file attached), at moments the fake clock sets so that
the queue shows every SLA state — breached, due within the hour, due later, paused —
and staff answer, note, assign and resolve through the staff API; admins write canned
replies in the console."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.clients import boto3_client
from tests.web.console_kit import ConsoleServer, Staff

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS

ACCOUNTS = {
    "acme": "111122223333",
    "globex": "444455556666",
    "initech": "777788889999",
}
CANNED = {
    "Ask for logs": (
        "Thank you for the details. To find the cause we need the logs from the time of"
        " the problem: please attach /var/log/messages (or the application's log) from one"
        " hour before until one hour after, and the exact time the problem began, in UTC."
    ),
    "Greeting": "Hello,\n\nThank you for contacting AWS Support. I am looking into this now.",
    "Closing: resolved": (
        "As the issue is resolved, I am closing this case. If anything else comes up, reply"
        " within 14 days and the case opens again.\n\nBest regards"
    ),
}


@dataclass
class Demo:
    cases: dict[str, str] = field(default_factory=dict)  # key -> display id
    staff: dict[str, Staff] = field(default_factory=dict)


def _case(server: ConsoleServer, account: str, **params: Any) -> str:
    client = boto3_client(server.url, ACCOUNTS[account])
    try:
        case_id = client.create_case(language="en", issueType="technical", **params)["caseId"]
        found = client.describe_cases(caseIdList=[case_id])["cases"][0]
        return str(found["displayId"])
    finally:
        client.close()


def seed(server: ConsoleServer) -> Demo:
    """Fill the server with demo data; the clock ends at offset 0 (now)."""
    demo = Demo()
    demo.staff["admin"] = server.staff["admin"]
    demo.staff["maria"] = server.add_staff("admin", name="maria.garcia")
    demo.staff["devon"] = server.add_staff("agent", name="devon.lee")
    demo.staff["priya"] = server.add_staff("agent", name="priya.natarajan")
    demo.staff["sam"] = server.add_staff("agent", name="sam.okafor")
    server.cli("staff", "disable", "sam.okafor")
    api = httpx.Client(
        base_url=server.url + "/staff/api",
        headers={"Authorization": f"Bearer {server.token('maria.garcia')}"},
        timeout=30,
    )

    def act(display_id: str, path: str, body: dict[str, Any]) -> None:
        response = api.post(f"/cases/{display_id}/{path}", json=body)
        assert response.status_code == 200, response.text

    # Two days ago: a case long answered and resolved.
    server.clock.set(-48 * HOUR_MS)
    demo.cases["resolved"] = _case(
        server,
        "globex",
        subject="S3 bucket policy denies access to our CI role",
        communicationBody=(
            "Our build role gets AccessDenied on s3:GetObject for build-artifacts-prod"
            " since this morning. Nothing changed on our side as far as we know."
        ),
        serviceCode="amazon-simple-storage-service",
        categoryCode="permissions",
        severityCode="normal",
    )
    server.clock.set(-47 * HOUR_MS)
    act(demo.cases["resolved"], "reply", {
        "body": "The bucket policy has an explicit Deny for principals outside the VPC"
        " endpoint. Your CI role now runs outside it; add the endpoint condition or an"
        " Allow for the role.",
        "status": "pending-customer-action",
    })  # fmt: skip
    act(demo.cases["resolved"], "resolve", {})

    # Four hours ago: an instance that fails its checks (answered: waiting on the customer).
    server.clock.set(-4 * HOUR_MS)
    demo.cases["paused"] = _case(
        server,
        "initech",
        subject="EC2 instance i-0a1b2c3d4e5f fails status checks after reboot",
        communicationBody=(
            "After a scheduled reboot the instance fails the instance status check. The"
            " system log stops at 'Mounting /data'. We have a snapshot from yesterday."
        ),
        serviceCode="amazon-elastic-compute-cloud-linux",
        categoryCode="instance-issue",
        severityCode="high",
    )
    server.clock.set(-3 * HOUR_MS)
    act(demo.cases["paused"], "reply", {
        "body": "The instance waits for /data, which is listed in /etc/fstab without"
        " nofail. Can you detach the volume, start the instance and send us the output of"
        " lsblk and the fstab file?",
    })  # fmt: skip

    # Seventy minutes ago: a critical outage, its 15-minute first response long breached.
    server.clock.set(-70 * MINUTE_MS)
    demo.cases["breached"] = _case(
        server,
        "acme",
        subject="Production database cluster unreachable after failover",
        communicationBody=(
            "Since 13:05 UTC our Aurora PostgreSQL cluster prod-main is unreachable from"
            " the application subnets. The failover completed according to the console,"
            " but connections time out. This stops all orders.\n\nCluster: prod-main\n"
            "Region: eu-west-1"
        ),
        serviceCode="amazon-aurora-postgresql",
        categoryCode="connectivity",
        severityCode="critical",
        ccEmailAddresses=["oncall@acme.example.com"],
    )
    server.clock.set(-60 * MINUTE_MS)
    act(demo.cases["breached"], "notes", {
        "body": "Checked the cluster: the writer moved to eu-west-1b. Security group of"
        " the new writer looks fine. Asking the RDS team about the DNS TTL.",
    })  # fmt: skip
    act(demo.cases["breached"], "assign", {"assignee": "devon.lee"})

    # Twenty-five minutes ago: urgent, due within the hour.
    server.clock.set(-25 * MINUTE_MS)
    demo.cases["soon"] = _case(
        server,
        "acme",
        subject="Elevated 5xx errors on the checkout API behind the ALB",
        communicationBody=(
            "About 4% of requests to checkout.acme.example.com return 502 since the last"
            " deployment. Targets are healthy. Could this be the idle timeout?"
        ),
        serviceCode="elastic-load-balancing",
        categoryCode="health-checks",
        severityCode="urgent",
    )
    server.clock.set(-10 * MINUTE_MS)
    demo.cases["normal"] = _case(
        server,
        "globex",
        subject=(
            "Request to raise the Lambda concurrent executions quota for the"
            " reporting-pipeline account in us-east-1 and eu-central-1 before the"
            " quarter-end batch runs next week"
        ),
        communicationBody="We expect about 3,000 concurrent executions at peak.",
        serviceCode="aws-lambda",
        categoryCode="general-guidance",
        severityCode="normal",
    )
    demo.cases["low"] = _case(
        server,
        "initech",
        subject='Billing question: "Reserved Instance" <m5.large> shows as unused',
        communicationBody="The RI report shows 0% utilisation although the instances run.",
        serviceCode="general-info",
        categoryCode="charges",
        severityCode="low",
    )
    server.clock.set(0)
    act(demo.cases["soon"], "assign", {"assignee": "priya.natarajan"})

    # The customer of the critical case writes again, with a log file attached.
    acme = boto3_client(server.url, ACCOUNTS["acme"])
    try:
        attached = acme.add_attachments_to_set(
            attachments=[
                {
                    "fileName": "prod-main-failover.log",
                    "data": b"13:05:12 failover started\n13:05:41 new writer eu-west-1b\n"
                    b"13:06:02 connect timeout (10.0.3.17:5432)\n",
                }
            ]
        )
        case_id = acme.describe_cases(displayId=demo.cases["breached"])["cases"][0]["caseId"]
        acme.add_communication_to_case(
            caseId=case_id,
            communicationBody="Attaching the application's log around the failover.",
            attachmentSetId=attached["attachmentSetId"],
        )
    finally:
        acme.close()
    api.close()

    session = server.session(demo.staff["maria"])
    try:
        for title, body in CANNED.items():
            response = session.post("/console/canned", {"title": title, "body": body})
            assert response.status_code == 303, response.text
    finally:
        session.close()
    return demo
