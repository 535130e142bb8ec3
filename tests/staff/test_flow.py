"""The two sides together: customers through boto3, support staff through the staff API,
against one real server process (on each store)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.staff.conftest import (
    DAY_MS,
    HOUR_MS,
    StaffApi,
    StaffServer,
    customer_case,
    new_case,
    wait_for,
)


def test_support_reply_reaches_the_customer(
    admin: StaffApi, customer: Any, customer_account: str
) -> None:
    case_id = new_case(customer, subject="Database unreachable", severityCode="high")
    listed = admin.get("/cases", account=customer_account)["cases"]
    assert [(c["caseId"], c["accountId"], c["severityCode"]) for c in listed] == [
        (case_id, customer_account, "high")
    ]
    detail = admin.get(f"/cases/{case_id}")
    assert detail["case"]["status"] == "unassigned"
    assert detail["case"]["assignee"] is None

    answer = admin.post(
        f"/cases/{case_id}/reply", {"body": "Could you send the error message you see?"}
    )
    assert answer["statusChange"] == {"from": "unassigned", "to": "pending-customer-action"}
    assert answer["case"]["assignee"] == "admin"  # whoever answers picks the case up

    comms = customer.describe_communications(caseId=case_id)["communications"]
    assert [c["body"] for c in comms] == [
        "Could you send the error message you see?",
        "Testing the support side.",
    ]  # newest first
    assert comms[0]["submittedBy"] == "Amazon Web Services"
    assert comms[0]["attachmentSet"] == [] and comms[0]["caseId"] == case_id
    seen = customer_case(customer, case_id)
    assert seen["status"] == "pending-customer-action"
    recent = seen["recentCommunications"]["communications"]
    assert recent[0]["submittedBy"] == "Amazon Web Services"

    # The customer answers, then resolves.
    customer.add_communication_to_case(caseId=case_id, communicationBody="ERROR 2003")
    assert customer_case(customer, case_id)["status"] == "customer-action-completed"
    outcome = customer.resolve_case(caseId=case_id)
    assert outcome == {
        "initialCaseStatus": "customer-action-completed",
        "finalCaseStatus": "resolved",
        "ResponseMetadata": outcome["ResponseMetadata"],
    }

    # Staff see the whole thread, oldest first, who wrote what, and every change.
    detail = admin.get(f"/cases/{case_id}")
    thread = detail["communications"]
    assert [(m["authorKind"], m["staffName"]) for m in thread] == [
        ("customer", None),
        ("support", "admin"),
        ("customer", None),
    ]
    assert thread[1]["submittedBy"] == "Amazon Web Services"
    history = [(e["kind"], e["from"], e["to"], e["actor"]["kind"]) for e in detail["history"]]
    assert history == [
        ("status", None, "unassigned", "customer"),
        ("assignment", None, "admin", "staff"),
        ("status", "unassigned", "pending-customer-action", "staff"),
        ("status", "pending-customer-action", "customer-action-completed", "customer"),
        ("status", "customer-action-completed", "resolved", "customer"),
    ]
    assert detail["case"]["status"] == "resolved"
    assert detail["case"]["timeResolved"] is not None


def test_staff_pick_up_work_and_resolve(
    staff_server: StaffServer, admin: StaffApi, customer: Any
) -> None:
    agent = staff_server.new_staff()
    case_id = new_case(customer)
    display_id = customer_case(customer, case_id)["displayId"]

    picked = agent.post(f"/cases/{display_id}/assign", {"assignee": "me"})
    assert picked["statusChange"] == {"from": "unassigned", "to": "work-in-progress"}
    assert customer_case(customer, case_id)["status"] == "work-in-progress"

    # A reply that keeps working on it.
    agent.post(
        f"/cases/{case_id}/reply", {"body": "Looking into it.", "status": "work-in-progress"}
    )
    assert customer_case(customer, case_id)["status"] == "work-in-progress"
    # A customer reply to an open case other than pending leaves the status.
    customer.add_communication_to_case(caseId=case_id, communicationBody="Thanks!")
    assert customer_case(customer, case_id)["status"] == "work-in-progress"

    assert agent.post(f"/cases/{case_id}/status", {"status": "opened"})["case"]["status"] == (
        "opened"
    )
    # Setting the status it has changes nothing (and records nothing).
    same = agent.post(f"/cases/{case_id}/status", {"status": "opened"})
    assert same["changed"] is False

    resolved = agent.post(f"/cases/{case_id}/resolve")
    assert resolved["statusChange"] == {"from": "opened", "to": "resolved"}
    assert agent.post(f"/cases/{case_id}/resolve")["changed"] is False
    assert customer_case(customer, case_id)["status"] == "resolved"
    # Hidden by default, as every resolved case.
    assert customer.describe_cases()["cases"] == []

    # Unassign and reassign.
    assert agent.post(f"/cases/{case_id}/assign", {"assignee": None})["case"]["assignee"] is None
    history = admin.get(f"/cases/{case_id}")["history"]
    assignments = [(e["from"], e["to"]) for e in history if e["kind"] == "assignment"]
    assert assignments[-1][1] is None


def test_internal_notes_never_reach_the_customer(admin: StaffApi, customer: Any) -> None:
    case_id = new_case(customer, communicationBody="Hello")
    admin.post(f"/cases/{case_id}/notes", {"body": "SECRET: the host is degraded"})
    admin.post(f"/cases/{case_id}/reply", {"body": "We are on it."})
    admin.post(f"/cases/{case_id}/notes", {"body": "SECRET: second note"})

    comms = customer.describe_communications(caseId=case_id)["communications"]
    assert [c["body"] for c in comms] == ["We are on it.", "Hello"]
    described = customer.describe_cases(caseIdList=[case_id])["cases"][0]
    recent = described["recentCommunications"]["communications"]
    assert [c["body"] for c in recent] == ["We are on it.", "Hello"]
    assert "SECRET" not in repr(customer.describe_cases(includeResolvedCases=True))

    detail = admin.get(f"/cases/{case_id}")
    assert [n["body"] for n in detail["notes"]] == [
        "SECRET: the host is degraded",
        "SECRET: second note",
    ]
    assert all(n["staffName"] == "admin" for n in detail["notes"])
    # A note changes no status.
    assert detail["case"]["status"] == "pending-customer-action"


def test_the_display_name_is_configured(staff_server: StaffServer, admin: StaffApi) -> None:
    """The setting is read by the server; the shared server runs with the default, and
    the staff member's name never shows."""
    detail = admin.get("/me")
    assert detail["staff"]["name"] == "admin"


@pytest.mark.parametrize("days", [13])
def test_a_customer_reopens_within_14_days(
    staff_server: StaffServer, admin: StaffApi, customer: Any, days: int
) -> None:
    case_id = new_case(customer)
    admin.post(f"/cases/{case_id}/resolve")
    staff_server.clock.advance(days * DAY_MS)
    customer.add_communication_to_case(caseId=case_id, communicationBody="It happened again")
    assert customer_case(customer, case_id)["status"] == "reopened"
    # Reopening starts a next-response target for support.
    sla = admin.get(f"/cases/{case_id}")["case"]["sla"]
    assert sla["target"] == "next-response" and sla["state"] == "running"


def test_after_14_days_a_reply_is_refused(
    staff_server: StaffServer, admin: StaffApi, customer: Any
) -> None:
    case_id = new_case(customer)
    customer.resolve_case(caseId=case_id)
    staff_server.clock.advance(14 * DAY_MS + HOUR_MS)
    with pytest.raises(ClientError) as raised:
        customer.add_communication_to_case(caseId=case_id, communicationBody="Still broken")
    error = raised.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert "14 days" in error["Message"]
    # Nothing was written.
    assert len(admin.get(f"/cases/{case_id}")["communications"]) == 1
    assert customer_case(customer, case_id)["status"] == "resolved"


def test_cases_waiting_on_the_customer_auto_resolve(
    staff_server: StaffServer, admin: StaffApi, customer: Any
) -> None:
    waiting = new_case(customer, subject="waiting")
    answered = new_case(customer, subject="answered")
    working = new_case(customer, subject="working")
    for case_id in (waiting, answered):
        admin.post(f"/cases/{case_id}/reply", {"body": "Can you check the logs?"})
    admin.post(f"/cases/{working}/assign", {"assignee": "me"})
    auto = admin.get(f"/cases/{waiting}")["case"]["autoResolveTime"]
    assert auto is not None
    customer.add_communication_to_case(caseId=answered, communicationBody="Here they are")

    # Default: 120 hours. Just before, nothing happens.
    staff_server.clock.advance(119 * HOUR_MS)
    assert customer_case(customer, waiting)["status"] == "pending-customer-action"
    staff_server.clock.advance(2 * HOUR_MS)

    def resolved() -> bool:
        return bool(customer_case(customer, waiting)["status"] == "resolved")

    assert wait_for(resolved), "the auto-resolve job did not run"
    assert customer_case(customer, answered)["status"] == "customer-action-completed"
    assert customer_case(customer, working)["status"] == "work-in-progress"
    history = admin.get(f"/cases/{waiting}")["history"]
    last = history[-1]
    assert (last["from"], last["to"], last["actor"]) == (
        "pending-customer-action",
        "resolved",
        {"kind": "system", "name": "system:auto-resolve"},
    )
    # Exactly once: one resolution in the history, whatever the worker ran since.
    assert sum(e["to"] == "resolved" for e in history) == 1
