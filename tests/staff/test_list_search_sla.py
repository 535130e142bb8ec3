"""Listing cases across accounts (filters, keyset pages, SLA order), SLA clocks with the
fake clock, and full-text search — through the staff API of a real server."""

from __future__ import annotations

import itertools
import json
import secrets
from datetime import datetime
from typing import Any

from tests.staff.conftest import HOUR_MS, StaffApi, StaffServer, new_case
from tests.support.clients import boto3_client


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _due_ms(case: dict[str, Any]) -> int:
    return _ms(case["sla"]["dueTime"])


def test_first_response_targets_by_severity(admin: StaffApi, customer: Any) -> None:
    expected_hours = {"low": 24, "normal": 12, "high": 4, "urgent": 1, "critical": 0.25}
    ids = {sev: new_case(customer, severityCode=sev) for sev in expected_hours}
    for severity, case_id in ids.items():
        case = admin.get(f"/cases/{case_id}")["case"]
        sla = case["sla"]
        assert (sla["target"], sla["state"], sla["breached"]) == (
            "first-response",
            "running",
            False,
        )
        assert _due_ms(case) - _ms(case["timeCreated"]) == expected_hours[severity] * HOUR_MS


def test_the_list_is_ordered_by_due_time_and_pages_by_keyset(
    admin: StaffApi, customer: Any, customer_account: str
) -> None:
    for severity in ("low", "critical", "normal", "urgent", "high", "low", "critical"):
        new_case(customer, severityCode=severity)
    seen: list[dict[str, Any]] = []
    token = None
    while True:
        params: dict[str, Any] = {"account": customer_account, "limit": 2}
        if token:
            params["nextToken"] = token
        page = admin.get("/cases", **params)
        seen.extend(page["cases"])
        token = page.get("nextToken")
        if not token:
            break
    assert len(seen) == 7 and len({c["caseId"] for c in seen}) == 7
    dues = [_due_ms(c) for c in seen]
    assert dues == sorted(dues)
    assert [c["severityCode"] for c in seen][:2] == ["critical", "critical"]

    newest_first = admin.get("/cases", account=customer_account, sort="created", limit=100)
    created = [c["displayId"] for c in newest_first["cases"]]
    assert created == sorted(created, reverse=True)


def test_filters(staff_server: StaffServer, admin: StaffApi, customer_account: str) -> None:
    client = boto3_client(staff_server.url, customer_account)
    try:
        dynamo = new_case(
            client,
            serviceCode="amazon-dynamodb",
            categoryCode="apis",
            language="ja",
            severityCode="urgent",
        )
        plain = new_case(client)
        done = new_case(client)
        client.resolve_case(caseId=done)
    finally:
        client.close()
    agent = staff_server.new_staff()
    agent.post(f"/cases/{plain}/assign", {"assignee": "me"})
    name = agent.get("/me")["staff"]["name"]

    def ids(**params: Any) -> set[str]:
        return {
            c["caseId"] for c in admin.get("/cases", account=customer_account, **params)["cases"]
        }

    assert ids() == {dynamo, plain}  # open cases by default
    assert ids(status="all") == {dynamo, plain, done}
    assert ids(status="resolved") == {done}
    assert ids(status="unassigned,resolved") == {dynamo, done}
    assert ids(service="amazon-dynamodb") == {dynamo}
    assert ids(service="amazon-dynamodb", category="apis", language="ja") == {dynamo}
    assert ids(severity="urgent") == {dynamo}
    assert ids(language="en") == {plain}
    assert ids(assignee=name) == {plain}
    assert ids(assignee="none") == {dynamo}
    assert {c["caseId"] for c in agent.get("/cases", assignee="me")["cases"]} == {plain}
    assert ids(sla="running") == {dynamo, plain}
    assert ids(sla="none", status="all") == {done}
    assert ids(createdAfter="2000-01-01", createdBefore="2000-01-02") == set()
    assert ids(createdAfter="2000-01-01") == {dynamo, plain}


def test_breach_pause_and_resume_with_the_fake_clock(
    staff_server: StaffServer, admin: StaffApi, customer: Any, customer_account: str
) -> None:
    urgent = new_case(customer, severityCode="urgent")  # 1 hour
    low = new_case(customer, severityCode="low")  # 24 hours
    staff_server.clock.advance(2 * HOUR_MS)

    breaching = admin.get("/cases", account=customer_account, sla="breaching")["cases"]
    assert [c["caseId"] for c in breaching] == [urgent]
    assert breaching[0]["sla"]["breached"] is True
    listed = staff_server.cli(
        "cases", "list", "--breaching", "--account", customer_account, "--json"
    )
    assert [c["caseId"] for c in json.loads(listed.output)["cases"]] == [urgent]

    # Waiting on the customer pauses the clock with the time that was left...
    paused = admin.post(f"/cases/{low}/status", {"status": "pending-customer-action"})
    sla = paused["case"]["sla"]
    assert sla["state"] == "paused" and sla["dueTime"] is None
    assert 21 * HOUR_MS < sla["remainingMs"] <= 22 * HOUR_MS
    staff_server.clock.advance(30 * HOUR_MS)
    assert admin.get(f"/cases/{low}")["case"]["sla"]["breached"] is False
    # ... and the customer's answer resumes it (30 hours later: not breached).
    customer.add_communication_to_case(caseId=low, communicationBody="done")
    resumed = admin.get(f"/cases/{low}")["case"]
    assert resumed["status"] == "customer-action-completed"
    assert resumed["sla"]["state"] == "running" and resumed["sla"]["target"] == "first-response"
    left = _due_ms(resumed) - staff_server.clock.now_ms()
    assert 20 * HOUR_MS < left <= 22 * HOUR_MS

    # A support reply meets the target: the clock stops.
    admin.post(f"/cases/{urgent}/reply", {"body": "Sorry for the wait."})
    assert admin.get(f"/cases/{urgent}")["case"]["sla"]["state"] == "none"
    # The customer's next message starts a next-response target.
    customer.add_communication_to_case(caseId=urgent, communicationBody="Still down")
    again = admin.get(f"/cases/{urgent}")["case"]
    assert again["sla"]["target"] == "next-response"
    assert _due_ms(again) - staff_server.clock.now_ms() <= HOUR_MS


def test_search_is_ranked_with_highlights(
    staff_server: StaffServer, admin: StaffApi, customer_account: str
) -> None:
    word = "zq" + secrets.token_hex(4)  # a word no other test uses
    client = boto3_client(staff_server.url, customer_account)
    try:
        in_subject = new_case(
            client, subject=f"{word} fails after restarting", communicationBody="See subject."
        )
        in_body = new_case(
            client,
            subject="Something else",
            communicationBody=f"The {word} service keeps restarting every night.",
        )
        unrelated = new_case(client, subject="Billing question", communicationBody="Invoice")
        client.resolve_case(caseId=unrelated)
    finally:
        client.close()
    admin.post(f"/cases/{in_body}/reply", {"body": f"We restarted the {word} node for you."})
    admin.post(f"/cases/{in_body}/notes", {"body": f"internal {word}"})

    answer = admin.get("/search", q=word)
    assert answer["truncated"] is False  # far fewer matches than a search ranks
    results = answer["results"]
    assert [r["case"]["caseId"] for r in results] == [in_subject, in_body]  # subject ranks first
    assert results[0]["score"] >= results[1]["score"]
    subject = results[0]["highlights"][0]
    assert subject["field"] == "subject"
    start, end = subject["matches"][0]
    assert subject["text"][start:end] == word
    bodies = results[1]["highlights"]
    assert {h["authorKind"] for h in bodies} == {"customer", "support"}
    for h in bodies:
        assert h["field"] == "communication"
        assert [h["text"][s:e].lower() for s, e in h["matches"]] == [word]
        assert "internal" not in h["text"]  # notes are not searched

    # Stemming, phrases, exclusions, filters.
    assert {r["case"]["caseId"] for r in admin.get("/search", q=f"{word} restart")["results"]} == {
        in_subject,
        in_body,
    }
    phrase = admin.get("/search", q=f'"keeps restarting" {word}')["results"]
    assert [r["case"]["caseId"] for r in phrase] == [in_body]
    # Matching is per subject or message: excluding a word of the subject leaves that case
    # out (its messages lack the word looked for).
    assert [r["case"]["caseId"] for r in admin.get("/search", q=f"{word} -fails")["results"]] == [
        in_body
    ]
    assert admin.get("/search", q=word, account="000000000000")["results"] == []
    assert admin.get("/search", q=f"{word} invoice")["results"] == []

    # Pages by position.
    first = admin.get("/search", q=word, limit=1)
    second = admin.get("/search", q=word, limit=1, nextToken=first["nextToken"])
    assert [r["case"]["caseId"] for r in first["results"] + second["results"]] == [
        in_subject,
        in_body,
    ]
    assert "nextToken" not in second


def test_cases_across_accounts(staff_server: StaffServer, admin: StaffApi) -> None:
    accounts = [str(n) for n in itertools.islice(itertools.count(800_000_000_000, 13), 2)]
    created = []
    for account in accounts:
        client = boto3_client(staff_server.url, account)
        try:
            created.append(new_case(client))
        finally:
            client.close()
    listed = admin.get("/cases", sort="created", limit=100)["cases"]
    by_id = {c["caseId"]: c["accountId"] for c in listed}
    assert [by_id[c] for c in created] == accounts
