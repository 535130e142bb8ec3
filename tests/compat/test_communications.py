"""DescribeCommunications, AddCommunicationToCase and ResolveCase."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.helpers import (
    COMMUNICATION_KEYS,
    TIME_CREATED,
    account_email,
    expect_error,
    get_case,
    new_case,
    post,
    strip,
    unvalidated_client,
)
from tests.support.server import ServerProcess

UNKNOWN_CASE = "case-111122223333-supd-2026-0123456789abcdef"


def _bodies(comms: list[dict[str, Any]]) -> list[str]:
    return [c["body"] for c in comms]


def _case_with_communications(client: Any, count: int) -> str:
    case_id = new_case(client, communicationBody="message 1")
    for n in range(2, count + 1):
        client.add_communication_to_case(caseId=case_id, communicationBody=f"message {n}")
    return case_id


# --- DescribeCommunications -----------------------------------------------------


def test_communications_newest_first_with_their_shape(support: Any, account: str) -> None:
    case_id = _case_with_communications(support, 4)
    response = support.describe_communications(caseId=case_id)
    assert set(strip(response)) == {"communications"}
    comms = response["communications"]
    assert _bodies(comms) == ["message 4", "message 3", "message 2", "message 1"]
    for comm in comms:
        assert set(comm) == COMMUNICATION_KEYS
        assert comm["caseId"] == case_id
        assert comm["submittedBy"] == f"{account} (User) <{account_email(account)}>"
        assert TIME_CREATED.match(comm["timeCreated"])
        assert comm["attachmentSet"] == []
        assert comm["attachments"] == []
    times = [c["timeCreated"] for c in comms]
    assert times == sorted(times, reverse=True)


def test_communications_are_paginated(support: Any) -> None:
    case_id = _case_with_communications(support, 23)
    paginator = support.get_paginator("describe_communications")
    pages = list(paginator.paginate(caseId=case_id, PaginationConfig={"PageSize": 10}))
    assert [len(page["communications"]) for page in pages] == [10, 10, 3]
    assert "nextToken" not in pages[-1]
    walked = [c["body"] for page in pages for c in page["communications"]]
    assert walked == [f"message {n}" for n in range(23, 0, -1)]


def test_communications_max_results_range(server: ServerProcess, account: str) -> None:
    client = unvalidated_client(server.url, account)
    case_id = _case_with_communications(client, 11)
    assert (
        len(client.describe_communications(caseId=case_id, maxResults=10)["communications"]) == 10
    )
    assert (
        len(client.describe_communications(caseId=case_id, maxResults=100)["communications"]) == 11
    )
    for value, bound in ((9, "greater than or equal to 10"), (101, "less than or equal to 100")):
        message = expect_error(
            "ValidationException", client.describe_communications, caseId=case_id, maxResults=value
        )
        assert message == (
            f"1 validation error detected: Value '{value}' at 'maxResults' failed to satisfy "
            f"constraint: Member must have value {bound}"
        )


@pytest.mark.supportd_wording
def test_communication_time_filters(support: Any) -> None:
    case_id = _case_with_communications(support, 4)
    comms = support.describe_communications(caseId=case_id)["communications"]
    for comm in comms:
        instant = comm["timeCreated"]
        after = support.describe_communications(caseId=case_id, afterTime=instant)
        assert _bodies(after["communications"]) == [
            c["body"] for c in comms if c["timeCreated"] >= instant
        ]
        before = support.describe_communications(caseId=case_id, beforeTime=instant)
        assert _bodies(before["communications"]) == [
            c["body"] for c in comms if c["timeCreated"] <= instant
        ]
    day = comms[0]["timeCreated"][:10]
    assert (
        len(support.describe_communications(caseId=case_id, afterTime=day)["communications"]) == 4
    )
    assert (
        support.describe_communications(caseId=case_id, afterTime="2999-01-01")["communications"]
        == []
    )
    message = expect_error(
        "InvalidParameterValueException",
        support.describe_communications,
        caseId=case_id,
        beforeTime="not a time",
    )
    assert message.startswith("Invalid beforeTime")


def test_communication_tokens_are_bound_to_their_filters(support: Any) -> None:
    case_id = _case_with_communications(support, 12)
    token = support.describe_communications(caseId=case_id, maxResults=10)["nextToken"]
    page = support.describe_communications(caseId=case_id, nextToken=token)
    assert _bodies(page["communications"]) == ["message 2", "message 1"]
    expect_error(
        "InvalidParameterValueException",
        support.describe_communications,
        caseId=case_id,
        nextToken=token,
        afterTime="2000-01-01",
    )
    expect_error(
        "InvalidParameterValueException",
        support.describe_communications,
        caseId=case_id,
        nextToken=token[:-2],
    )
    # A communications token is not a cases token.
    expect_error("InvalidParameterValueException", support.describe_cases, nextToken=token)


def test_communications_of_unknown_case_are_not_found(support: Any) -> None:
    message = expect_error("CaseIdNotFound", support.describe_communications, caseId=UNKNOWN_CASE)
    assert UNKNOWN_CASE in message


def test_communications_need_a_case_id(server: ServerProcess, account: str) -> None:
    response = post(server.url, "DescribeCommunications", {}, account=account)
    assert response.status_code == 400
    assert response.json() == {
        "__type": "ValidationException",
        "message": "1 validation error detected: Value null at 'caseId' failed to satisfy "
        "constraint: Member must not be null",
    }


def test_communications_of_a_resolved_case_are_readable(support: Any) -> None:
    case_id = new_case(support, communicationBody="before resolving")
    support.resolve_case(caseId=case_id)
    comms = support.describe_communications(caseId=case_id)["communications"]
    assert _bodies(comms) == ["before resolving"]


# --- AddCommunicationToCase -----------------------------------------------------


def test_add_communication_answers_result_true(support: Any) -> None:
    case_id = new_case(support)
    response = support.add_communication_to_case(caseId=case_id, communicationBody="more detail")
    assert strip(response) == {"result": True}
    assert _bodies(support.describe_communications(caseId=case_id)["communications"])[0] == (
        "more detail"
    )
    # A reply to an open case does not change its status.
    assert get_case(support, case_id)["status"] == "unassigned"


@pytest.mark.supportd_wording
def test_add_communication_with_cc_addresses(support: Any) -> None:
    case_id = new_case(support)
    response = support.add_communication_to_case(
        caseId=case_id, communicationBody="cc'd", ccEmailAddresses=["team@example.com"]
    )
    assert strip(response) == {"result": True}
    message = expect_error(
        "InvalidParameterValueException",
        support.add_communication_to_case,
        caseId=case_id,
        communicationBody="bad cc",
        ccEmailAddresses=["not an address"],
    )
    assert message == "Invalid email address: not an address"
    assert "bad cc" not in _bodies(
        support.describe_communications(caseId=case_id)["communications"]
    )


def test_add_communication_limits(server: ServerProcess, account: str) -> None:
    client = unvalidated_client(server.url, account)
    case_id = new_case(client)
    assert strip(
        client.add_communication_to_case(caseId=case_id, communicationBody="y" * 8000)
    ) == {"result": True}
    message = expect_error(
        "ValidationException",
        client.add_communication_to_case,
        caseId=case_id,
        communicationBody="y" * 8001,
    )
    assert message.endswith(
        "at 'communicationBody' failed to satisfy constraint: "
        "Member must have length less than or equal to 8000"
    )
    expect_error(
        "ValidationException",
        client.add_communication_to_case,
        caseId=case_id,
        communicationBody="",
    )
    message = expect_error(
        "ValidationException",
        client.add_communication_to_case,
        caseId=case_id,
        communicationBody="eleven",
        ccEmailAddresses=[f"u{n}@example.com" for n in range(11)],
    )
    assert message.endswith("Member must have length less than or equal to 10")
    assert len(client.describe_communications(caseId=case_id)["communications"]) == 2


def test_add_communication_needs_a_body(server: ServerProcess, account: str) -> None:
    case_id = new_case(unvalidated_client(server.url, account))
    response = post(server.url, "AddCommunicationToCase", {"caseId": case_id}, account=account)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "1 validation error detected: Value null at 'communicationBody' failed to satisfy "
        "constraint: Member must not be null"
    )


def test_add_communication_to_unknown_case(server: ServerProcess, support: Any) -> None:
    message = expect_error(
        "CaseIdNotFound",
        support.add_communication_to_case,
        caseId=UNKNOWN_CASE,
        communicationBody="hello?",
    )
    assert UNKNOWN_CASE in message
    # caseId is not required by the model, but a case is needed.
    client = unvalidated_client(server.url, "111122223333")
    expect_error("CaseIdNotFound", client.add_communication_to_case, communicationBody="x")


def test_add_communication_with_unknown_attachment_set(support: Any) -> None:
    case_id = new_case(support)
    expect_error(
        "AttachmentSetIdNotFound",
        support.add_communication_to_case,
        caseId=case_id,
        communicationBody="see attached",
        attachmentSetId="as-0123456789abcdef",
    )
    assert len(support.describe_communications(caseId=case_id)["communications"]) == 1


def test_reply_to_resolved_case_reopens_it(support: Any) -> None:
    case_id = new_case(support)
    support.resolve_case(caseId=case_id)
    assert support.describe_cases()["cases"] == []
    assert strip(support.add_communication_to_case(caseId=case_id, communicationBody="back")) == {
        "result": True
    }
    [case] = support.describe_cases()["cases"]
    assert case["caseId"] == case_id
    assert case["status"] == "reopened"
    assert strip(support.resolve_case(caseId=case_id)) == {
        "initialCaseStatus": "reopened",
        "finalCaseStatus": "resolved",
    }


# --- ResolveCase ----------------------------------------------------------------


def test_resolve_case_reports_initial_and_final_status(support: Any) -> None:
    case_id = new_case(support)
    assert strip(support.resolve_case(caseId=case_id)) == {
        "initialCaseStatus": "unassigned",
        "finalCaseStatus": "resolved",
    }
    assert get_case(support, case_id)["status"] == "resolved"


def test_resolving_a_resolved_case_changes_nothing(support: Any) -> None:
    case_id = new_case(support)
    support.resolve_case(caseId=case_id)
    before = get_case(support, case_id)
    assert strip(support.resolve_case(caseId=case_id)) == {
        "initialCaseStatus": "resolved",
        "finalCaseStatus": "resolved",
    }
    assert get_case(support, case_id) == before


def test_resolve_unknown_case(support: Any) -> None:
    message = expect_error("CaseIdNotFound", support.resolve_case, caseId=UNKNOWN_CASE)
    assert UNKNOWN_CASE in message
    expect_error("CaseIdNotFound", support.resolve_case)
