"""Demo data: accounts, cases with whole conversations, attachments and Trusted Advisor
results, for trying supportd out and for screenshots (`supportd demo`).

Everything is made through the operations a real customer and real support staff go
through (CreateCase, AddAttachmentsToSet, AddCommunicationToCase, ResolveCase, the staff
replies, notes and assignments, the Trusted Advisor seed), so the data obeys every rule
the API does. The context's clock is a `ScriptedClock` that each step sets to the time
the story gives it: cases are spread over the last weeks, answers come minutes or hours
later, and nothing lies in the future.

The same seed gives the same story (accounts, subjects, messages, statuses, times
relative to the moment of the run); ids the store draws (case ids, attachment ids) are
random as always.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from supportd.domain import advisor as advisor_rules
from supportd.domain import clock as clock_rules
from supportd.domain import lifecycle
from supportd.domain.records import Principal
from supportd.operations import accounts, attachments, cases
from supportd.operations import advisor as advisor_ops
from supportd.operations import staff as staff_ops
from supportd.operations.context import Context

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
# Cases left waiting on the customer are resolved after this long (auto-resolve runs
# with the server; the demo does it itself, so a server started on the store later
# finds nothing to do).
WAITING_LIMIT_MS = 4 * DAY_MS


class ScriptedClock:
    """The demo's clock: whatever time the story sets."""

    def __init__(self, now_ms: int) -> None:
        self.at_ms = now_ms

    def now_ms(self) -> int:
        return self.at_ms


@dataclass(frozen=True, slots=True)
class DemoRequest:
    accounts: int
    cases: int
    seed: int
    days: int = 30


@dataclass
class DemoSummary:
    accounts: list[str] = field(default_factory=list)
    staff: list[str] = field(default_factory=list)
    cases: int = 0
    customer_messages: int = 0
    support_replies: int = 0
    notes: int = 0
    attachments: int = 0
    advisor_results: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    severities: Counter[str] = field(default_factory=Counter)

    def shape(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "staff": self.staff,
            "cases": self.cases,
            "customerMessages": self.customer_messages,
            "supportReplies": self.support_replies,
            "notes": self.notes,
            "attachments": self.attachments,
            "advisorResults": self.advisor_results,
            "statuses": dict(sorted(self.statuses.items())),
            "severities": dict(sorted(self.severities.items())),
        }


class DemoError(ValueError):
    """The store cannot take the demo data (an account of the story exists already)."""


# --- the cast ---------------------------------------------------------------------------

COMPANIES = (
    "northwind",
    "bluefin-analytics",
    "cedar-logistics",
    "orbital-media",
    "lumen-health",
    "quartz-retail",
    "harbor-payments",
    "tundra-games",
)
USERS = ("maria", "jonas", "priya", "deploy-bot", "chen", "amara", "ops-oncall")
STAFF = (("alice", "admin"), ("bob", "agent"), ("carol", "agent"), ("dmitri", "agent"))
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
# Plans that may use the API, in turn (basic and developer cannot).
PLANS = ("enterprise", "business")
SEVERITIES = (("low", 30), ("normal", 35), ("high", 20), ("urgent", 10), ("critical", 5))

# (service, category, subject, first message). {fields} are filled per case.
SCENARIOS: tuple[tuple[str, str, str, str], ...] = (
    (
        "amazon-elastic-compute-cloud-linux",
        "instance-issue",
        "Instance {instance} fails status checks after reboot",
        "Since a reboot at {time} our instance {instance} in {region} fails the instance "
        "status check. The system log stops after the kernel loads. Nothing changed in the "
        "AMI. Could you check the underlying host?",
    ),
    (
        "amazon-elastic-compute-cloud-linux",
        "connectivity",
        "Intermittent packet loss between {instance} and our RDS instance",
        "About 2% of connections from {instance} to our database time out. It started "
        "yesterday around {time}; security groups and NACLs are unchanged.",
    ),
    (
        "aws-lambda",
        "function-errors",
        "Lambda {function} times out calling DynamoDB since the last deploy",
        "After deploying version {version} of {function}, about one invocation in ten "
        "hits the {timeout} s timeout while calling DynamoDB. Rolling back did not help.",
    ),
    (
        "aws-lambda",
        "performance",
        "Cold starts of {function} grew from 400 ms to 3 s",
        "Init duration of {function} in {region} jumped this week. Package size and memory "
        "settings are the same. Is there anything on your side?",
    ),
    (
        "amazon-relational-database-service",
        "performance",
        "RDS {database}: CPU at 100% and replica lag after minor version upgrade",
        "Since the automatic minor version upgrade of {database}, CPU stays at 100% and the "
        "read replica lags by {lag} seconds. Performance Insights shows one query family.",
    ),
    (
        "amazon-relational-database-service",
        "backup-and-restore",
        "Point-in-time restore of {database} stuck in 'creating'",
        "We started a point-in-time restore of {database} to {time} and the new instance "
        "has been in 'creating' for six hours. We need the data for an audit.",
    ),
    (
        "amazon-simple-storage-service",
        "permissions",
        "AccessDenied on PutObject to {bucket} from another account",
        "Account {peer} gets AccessDenied writing to s3://{bucket}/incoming/ although the "
        "bucket policy grants s3:PutObject. Object ownership is BucketOwnerEnforced.",
    ),
    (
        "amazon-dynamodb",
        "performance",
        "Throttling on table {table} well below provisioned capacity",
        "Table {table} reports ThrottledRequests at {rate} writes per second while "
        "provisioned for 4000 WCU. We suspect a hot partition; can you confirm?",
    ),
    (
        "elastic-load-balancing",
        "health-checks",
        "ALB marks healthy targets unhealthy every few minutes",
        "Targets behind our ALB in {region} flap between healthy and unhealthy. The health "
        "check endpoint answers in under 20 ms in our own probes.",
    ),
    (
        "amazon-elastic-kubernetes-service",
        "cluster-upgrade",
        "EKS upgrade to {k8s} stuck, control plane 'Updating' for 5 hours",
        "The control plane upgrade of cluster {cluster} to {k8s} started five hours ago and "
        "has not finished. Workloads run, but we cannot change node groups.",
    ),
    (
        "amazon-route53",
        "connectivity",
        "Private hosted zone records not resolving from a peered VPC",
        "Instances in the peered VPC cannot resolve records of our private hosted zone "
        "internal.{company}.example. The zone is associated with both VPCs.",
    ),
    (
        "service-limit-increase",
        "service-code-ec2-instances",
        "Raise the On-Demand standard instance vCPU limit in {region}",
        "We need the On-Demand Standard (A, C, D, H, I, M, R, T, Z) vCPU limit in {region} "
        "raised from 640 to 1280 for a product launch in two weeks.",
    ),
    (
        "aws-billing-and-cost-management",
        "billing",
        "Unexpected NAT gateway data processing charges",
        "Our bill shows {amount} USD of NAT gateway data processing in {region}, ten times "
        "the usual. We could not find where the traffic comes from.",
    ),
    (
        "aws-identity-and-access-management",
        "federation",
        "SAML federation fails with 'Invalid SAML response' since certificate rotation",
        "After rotating the IdP signing certificate, federated sign-in fails for every "
        "user. We uploaded the new metadata to the IAM identity provider.",
    ),
    (
        "aws-certificate-manager",
        "renewal",
        "Certificate for api.{company}.example not renewing automatically",
        "The ACM certificate for api.{company}.example expires in {days} days and shows "
        "'Pending validation'. The CNAME validation record is still in place.",
    ),
    (
        "general-info",
        "using-aws",
        "Best way to share AMIs across our organization",
        "We build golden AMIs in a tooling account and want every account of the "
        "organization to use them. What is the recommended setup?",
    ),
)

FIRST_ANSWERS = (
    "Thank you for contacting AWS Support. I am looking into this now. Could you send the "
    "request ids of a few failed calls and the exact times (UTC) they happened?",
    "Hello, I can see the resource on our side. To narrow this down, could you attach the "
    "logs from the time of the issue?",
    "Thanks for the details. I have reproduced part of the behaviour and engaged the "
    "service team. I will update you as soon as I hear back.",
    "Hi, this looks related to a configuration change. Could you share the output of the "
    "describe call for the resource and the change history of the last two days?",
)
FOLLOW_UPS = (
    "The service team confirmed the cause and deployed a fix in your region. Could you "
    "check whether the issue still occurs?",
    "Thank you for the logs. The errors match a known issue with the underlying host; we "
    "have moved your resource to healthy capacity.",
    "I reviewed the configuration you sent. The policy needs the condition key shown "
    "below; with it, the calls should succeed.",
    "We are still investigating with the service team and will update you within 24 hours.",
)
CUSTOMER_REPLIES = (
    "Here are the logs from the time of the failure. Request ids are in the first lines.",
    "We tried the suggested change; it works in staging, rolling out to production now.",
    "It happened again at {time}. Attaching the new log.",
    "Thanks, that fixed it. You can close the case.",
    "Any update on this? It is affecting customers.",
)
NOTES = (
    "Checked the host health dashboard: degraded hardware on the host since yesterday.",
    "Engaged the service team, internal ticket SIM-{ticket}.",
    "Customer is on a launch deadline; keep an eye on this one.",
    "Same pattern as another case this week; likely the same root cause.",
)


# --- filling the store ----------------------------------------------------------------


async def fill(ctx: Context, clock: ScriptedClock, request: DemoRequest) -> DemoSummary:
    """Make the demo's accounts, staff, cases and Trusted Advisor results."""
    rng = random.Random(request.seed)
    end_ms = clock.now_ms()
    start_ms = end_ms - request.days * DAY_MS
    summary = DemoSummary()

    people = await _accounts(ctx, rng, request.accounts, start_ms, clock, summary)
    summary.staff = await _staff(ctx, clock, start_ms)
    # More cases lately than weeks ago (the older ones are mostly resolved by now).
    span = end_ms - 5 * MINUTE_MS - start_ms
    created = sorted(
        end_ms - 5 * MINUTE_MS - int(span * rng.random() ** 1.5) for _ in range(request.cases)
    )
    for created_ms in created:
        account = rng.choice(people)
        await _case(ctx, clock, rng, account, created_ms, end_ms, summary)
    for account in people:
        clock.at_ms = end_ms - rng.randrange(HOUR_MS, DAY_MS)
        summary.advisor_results += await _advisor(ctx, rng, account.account_id)
    clock.at_ms = end_ms
    return summary


@dataclass(frozen=True, slots=True)
class _Customer:
    account_id: str
    company: str
    plan: str
    users: tuple[Principal, ...]


async def _accounts(
    ctx: Context,
    rng: random.Random,
    count: int,
    start_ms: int,
    clock: ScriptedClock,
    summary: DemoSummary,
) -> list[_Customer]:
    clock.at_ms = start_ms - 30 * DAY_MS
    ids = rng.sample(range(100_000_000_000, 1_000_000_000_000), count)
    # All checked before anything is written: a refused run leaves the store as it was.
    for number in ids:
        if await ctx.store.get_account(str(number)) is not None:
            raise DemoError(
                f"account {number} exists already: use another --seed, or an empty store"
            )
    people = []
    for n, number in enumerate(ids):
        account_id = str(number)
        company = COMPANIES[n % len(COMPANIES)] + (f"-{n // len(COMPANIES)}" if n >= 8 else "")
        plan = PLANS[n % len(PLANS)]
        email = f"aws-{company}@{company}.example"
        try:
            await accounts.create_account(ctx.store, account_id, email, plan, clock.now_ms())
        except accounts.AdminError as exc:
            raise DemoError(f"{exc}: use another --seed, or an empty store") from None
        users = tuple(
            Principal(account_id, email, f"{user} (User)", f"AKIA{account_id}", plan)
            for user in rng.sample(USERS, 3)
        )
        people.append(_Customer(account_id, company, plan, users))
        summary.accounts.append(account_id)
    return people


async def _staff(ctx: Context, clock: ScriptedClock, start_ms: int) -> list[str]:
    clock.at_ms = start_ms - 60 * DAY_MS
    names = []
    for name, role in STAFF:
        body = {"name": name, "email": f"{name}@support.example", "role": role}
        try:
            await staff_ops.create_staff(ctx, None, body)
        except staff_ops.StaffError as exc:
            if exc.code != "staff_exists":
                raise
        names.append(name)
    return names


def _fields(rng: random.Random, company: str, at_ms: int) -> dict[str, str]:
    return {
        "instance": f"i-0{rng.getrandbits(64):016x}",
        "region": rng.choice(REGIONS),
        "time": clock_rules.format_advisor_time(at_ms - rng.randrange(HOUR_MS, 20 * HOUR_MS)),
        "function": rng.choice(("ingest-events", "resize-images", "billing-export", "auth-hook")),
        "version": str(rng.randrange(12, 240)),
        "timeout": str(rng.choice((3, 15, 30))),
        "database": rng.choice(("orders-prod", "ledger-db", "catalog-replica", "users-main")),
        "lag": str(rng.randrange(40, 900)),
        "bucket": f"{company}-{rng.choice(('uploads', 'exports', 'backups'))}",
        "peer": str(rng.randrange(100_000_000_000, 1_000_000_000_000)),
        "table": rng.choice(("Sessions", "Orders", "DeviceEvents", "Carts")),
        "rate": str(rng.randrange(300, 1500)),
        "k8s": rng.choice(("1.30", "1.31", "1.32")),
        "cluster": f"{company}-{rng.choice(('prod', 'staging'))}",
        "company": company,
        "amount": f"{rng.randrange(2_000, 40_000):,}",
        "days": str(rng.randrange(3, 20)),
        "ticket": str(rng.randrange(10_000, 99_999)),
    }


def _severity(rng: random.Random, plan: str) -> str:
    codes = [code for code, _ in SEVERITIES]
    weights = [weight for _, weight in SEVERITIES]
    severity = rng.choices(codes, weights)[0]
    return "urgent" if severity == "critical" and plan != "enterprise" else severity


def _log_file(rng: random.Random, at_ms: int, fields: dict[str, str]) -> bytes:
    lines = []
    t = at_ms - rng.randrange(HOUR_MS, 6 * HOUR_MS)
    for _ in range(rng.randrange(20, 120)):
        t += rng.randrange(50, 60_000)
        level = rng.choices(("INFO", "WARN", "ERROR"), (70, 20, 10))[0]
        request_id = f"{rng.getrandbits(128):032x}"
        outcome = rng.choice(("ok", "retrying", "timeout after 3000 ms", "connection reset"))
        stamp = clock_rules.format_advisor_time(t)
        lines.append(f"{stamp} {level} [{fields['region']}] request {request_id} {outcome}")
    return ("\n".join(lines) + "\n").encode()


async def _attach(
    ctx: Context, rng: random.Random, user: Principal, at_ms: int, fields: dict[str, str]
) -> str:
    name = rng.choice(("app.log", "error.log", "debug-output.txt", "trace.log"))
    result = await attachments.add_attachments_to_set(
        ctx, user, {"attachments": [{"fileName": name, "data": _log_file(rng, at_ms, fields)}]}
    )
    return str(result["attachmentSetId"])


async def _case(
    ctx: Context,
    clock: ScriptedClock,
    rng: random.Random,
    account: _Customer,
    created_ms: int,
    end_ms: int,
    summary: DemoSummary,
) -> None:
    service, category, subject, body = rng.choice(SCENARIOS)
    fields = _fields(rng, account.company, created_ms)
    user = rng.choice(account.users)
    severity = _severity(rng, account.plan)
    params: dict[str, Any] = {
        "subject": subject.format(**fields),
        "communicationBody": body.format(**fields),
        "serviceCode": service,
        "categoryCode": category,
        "severityCode": severity,
        "language": "en",
        "issueType": "customer-service" if category in ("billing", "using-aws") else "technical",
    }
    if rng.random() < 0.3:
        params["ccEmailAddresses"] = [f"oncall@{account.company}.example"]
    clock.at_ms = created_ms
    if rng.random() < 0.25:
        params["attachmentSetId"] = await _attach(ctx, rng, user, created_ms, fields)
        summary.attachments += 1
    case_id = str((await cases.create_case(ctx, user, params))["caseId"])
    summary.cases += 1
    summary.customer_messages += 1
    summary.severities[severity] += 1

    # Support's first answer comes sooner for more severe cases; some recent cases have
    # none yet.
    delay = {"critical": 10, "urgent": 45, "high": 180, "normal": 600, "low": 1200}[severity]
    t = created_ms + rng.randrange(2, delay) * MINUTE_MS
    agent = rng.choice(STAFF)[0]
    status = lifecycle.UNASSIGNED
    rounds = rng.choices((0, 1, 2, 3, 4), (10, 30, 30, 20, 10))[0]
    if t < end_ms and rng.random() < 0.92:
        clock.at_ms = t
        await staff_ops.assign(ctx, None, case_id, {"assignee": agent}, as_name=agent)
        if rng.random() < 0.3:
            note = rng.choice(NOTES).format(**fields)
            await staff_ops.add_note(ctx, None, case_id, {"body": note}, as_name=agent)
            summary.notes += 1
        status = await _support_reply(ctx, rng, case_id, agent, rng.choice(FIRST_ANSWERS))
        summary.support_replies += 1
        for _ in range(rounds):
            t += rng.randrange(20, 36 * 60) * MINUTE_MS
            if t >= end_ms:
                break
            clock.at_ms = t
            text = rng.choice(CUSTOMER_REPLIES).format(**fields)
            reply: dict[str, Any] = {"caseId": case_id, "communicationBody": text}
            if "log" in text and rng.random() < 0.8:
                reply["attachmentSetId"] = await _attach(ctx, rng, user, t, fields)
                summary.attachments += 1
            await cases.add_communication_to_case(ctx, user, reply)
            summary.customer_messages += 1
            status = lifecycle.status_after_customer_reply(status, None, t)
            if text.startswith("Thanks, that fixed it"):
                await cases.resolve_case(ctx, user, {"caseId": case_id})
                status = lifecycle.RESOLVED
                break
            t += rng.randrange(10, 8 * 60) * MINUTE_MS
            if t >= end_ms or rng.random() < 0.1:
                break  # support has not answered this one yet
            clock.at_ms = t
            status = await _support_reply(ctx, rng, case_id, agent, rng.choice(FOLLOW_UPS))
            summary.support_replies += 1
        if status == lifecycle.PENDING_CUSTOMER_ACTION and end_ms - t > WAITING_LIMIT_MS:
            # Nobody answered: support closes it, as auto-resolve would have.
            clock.at_ms = t + WAITING_LIMIT_MS
            await staff_ops.resolve(ctx, None, case_id, {}, as_name=agent)
            status = lifecycle.RESOLVED
        elif status != lifecycle.RESOLVED and rng.random() < 0.15 and t + HOUR_MS < end_ms:
            clock.at_ms = t + HOUR_MS
            await cases.resolve_case(ctx, user, {"caseId": case_id})
            status = lifecycle.RESOLVED
    summary.statuses[status] += 1


async def _support_reply(
    ctx: Context, rng: random.Random, case_id: str, agent: str, text: str
) -> str:
    status = rng.choices((lifecycle.PENDING_CUSTOMER_ACTION, lifecycle.WORK_IN_PROGRESS), (75, 25))[
        0
    ]
    body = {"body": text, "status": status}
    result = await staff_ops.reply(ctx, None, case_id, body, as_name=agent)
    return str(result["case"]["status"])


# --- Trusted Advisor --------------------------------------------------------------------


def _cell(rng: random.Random, column: str, status: str, region: str) -> str:
    lowered = column.lower()
    if lowered == "status":
        return {"ok": "Green", "warning": "Yellow", "error": "Red"}[status]
    if "region" in lowered or "zone" in lowered:
        return region if "zone" not in lowered else region + rng.choice("abc")
    if "savings" in lowered or "cost" in lowered:
        return f"${rng.randrange(5, 900)}.{rng.randrange(100):02d}"
    if lowered.endswith(" id") or lowered.endswith(" arn") or "name" in lowered:
        return f"{lowered.split()[0]}-{rng.getrandbits(40):010x}"
    if any(word in lowered for word in ("count", "size", "days", "vcpu", "units", "%")):
        return str(rng.randrange(1, 500))
    return rng.choice(("Yes", "No", "Enabled", "Disabled", "-"))


async def _advisor(ctx: Context, rng: random.Random, account_id: str) -> int:
    """Results for a dozen checks of the account: most fine, some with findings."""
    checks = rng.sample(list(ctx.advisor_checks.checks), min(12, len(ctx.advisor_checks)))
    for check in checks:
        status = rng.choices(
            (advisor_rules.OK, advisor_rules.WARNING, advisor_rules.ERROR), (55, 30, 15)
        )[0]
        resources = []
        if status != advisor_rules.OK:
            for _ in range(rng.randrange(1, 6)):
                region = rng.choice(REGIONS)
                flagged = rng.choice((status, advisor_rules.WARNING))
                resources.append(
                    {
                        "status": flagged,
                        "region": region,
                        "resourceId": f"{rng.getrandbits(80):020x}",
                        "metadata": [_cell(rng, c, flagged, region) for c in check.metadata],
                    }
                )
        data = {"status": status, "flaggedResources": resources}
        await advisor_ops.set_result(ctx, account_id, check.id, data)
    return len(checks)
