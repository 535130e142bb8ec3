"""DescribeCases: defaults, filters, recent communications, pagination, tokens."""

from __future__ import annotations

import base64
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest

from supportd.domain import pagination
from tests.compat.helpers import (
    all_cases,
    expect_error,
    get_case,
    new_account,
    new_case,
    post,
    unvalidated_client,
)
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["caseId"] for case in cases]


def _instant(time_created: str) -> datetime:
    return datetime.fromisoformat(time_created.replace("Z", "+00:00"))


# --- defaults -------------------------------------------------------------------


def test_resolved_cases_are_hidden_by_default(support: Any) -> None:
    open_id, resolved_id = new_case(support), new_case(support)
    support.resolve_case(caseId=resolved_id)
    assert _ids(support.describe_cases()["cases"]) == [open_id]
    assert _ids(support.describe_cases(includeResolvedCases=False)["cases"]) == [open_id]
    everything = support.describe_cases(includeResolvedCases=True)["cases"]
    assert _ids(everything) == [resolved_id, open_id]
    assert everything[0]["status"] == "resolved"


def test_include_resolved_also_applies_to_case_id_list(support: Any) -> None:
    case_id = new_case(support)
    support.resolve_case(caseId=case_id)
    assert support.describe_cases(caseIdList=[case_id])["cases"] == []
    assert _ids(
        support.describe_cases(caseIdList=[case_id], includeResolvedCases=True)["cases"]
    ) == [case_id]


def test_communications_are_included_by_default(support: Any) -> None:
    case_id = new_case(support, communicationBody="hello")
    [default] = support.describe_cases()["cases"]
    assert default["caseId"] == case_id
    assert [c["body"] for c in default["recentCommunications"]["communications"]] == ["hello"]
    [explicit] = support.describe_cases(includeCommunications=True)["cases"]
    assert explicit == default
    [without] = support.describe_cases(includeCommunications=False)["cases"]
    assert "recentCommunications" not in without
    assert {k: v for k, v in default.items() if k != "recentCommunications"} == without


def test_cases_come_newest_first(support: Any) -> None:
    created = [new_case(support, subject=f"n{n}") for n in range(4)]
    assert _ids(support.describe_cases()["cases"]) == created[::-1]


# --- recent communications ------------------------------------------------------


def _case_with_communications(client: Any, count: int) -> str:
    case_id = new_case(client, communicationBody="message 1")
    for n in range(2, count + 1):
        client.add_communication_to_case(caseId=case_id, communicationBody=f"message {n}")
    return case_id


def test_recent_communications_are_the_five_newest_plus_a_token(support: Any) -> None:
    case_id = _case_with_communications(support, 7)
    recent = get_case(support, case_id)["recentCommunications"]
    assert [c["body"] for c in recent["communications"]] == [
        f"message {n}" for n in (7, 6, 5, 4, 3)
    ]
    rest = support.describe_communications(caseId=case_id, nextToken=recent["nextToken"])
    assert [c["body"] for c in rest["communications"]] == ["message 2", "message 1"]
    assert "nextToken" not in rest


def test_exactly_five_communications_have_no_token(support: Any) -> None:
    recent = get_case(support, _case_with_communications(support, 5))["recentCommunications"]
    assert len(recent["communications"]) == 5
    assert "nextToken" not in recent


def test_recent_communications_token_pages_with_max_results(support: Any) -> None:
    case_id = _case_with_communications(support, 17)
    token = get_case(support, case_id)["recentCommunications"]["nextToken"]
    page = support.describe_communications(caseId=case_id, nextToken=token, maxResults=10)
    assert [c["body"] for c in page["communications"]] == [f"message {n}" for n in range(12, 2, -1)]
    last = support.describe_communications(
        caseId=case_id, nextToken=page["nextToken"], maxResults=10
    )
    assert [c["body"] for c in last["communications"]] == ["message 2", "message 1"]
    assert "nextToken" not in last


@pytest.mark.supportd_wording
def test_recent_communications_token_belongs_to_its_case(support: Any) -> None:
    token = get_case(support, _case_with_communications(support, 6))["recentCommunications"][
        "nextToken"
    ]
    other = new_case(support)
    message = expect_error(
        "InvalidParameterValueException",
        support.describe_communications,
        caseId=other,
        nextToken=token,
    )
    assert message == "Invalid pagination token"


# --- caseIdList and displayId ---------------------------------------------------


def test_case_id_list_selects_cases(support: Any) -> None:
    first, _, third = (new_case(support) for _ in range(3))
    assert _ids(support.describe_cases(caseIdList=[first, third])["cases"]) == [third, first]
    assert _ids(support.describe_cases(caseIdList=[first, first])["cases"]) == [first]


def test_unknown_case_id_is_not_found(support: Any) -> None:
    known = new_case(support)
    unknown = "case-111122223333-supd-2026-0123456789abcdef"
    message = expect_error("CaseIdNotFound", support.describe_cases, caseIdList=[unknown])
    assert unknown in message
    expect_error("CaseIdNotFound", support.describe_cases, caseIdList=[known, unknown])
    expect_error("CaseIdNotFound", support.describe_cases, caseIdList=["nonsense"])


def test_another_accounts_case_id_is_not_found(server: ServerProcess, support: Any) -> None:
    other = boto3_client(server.url, new_account())
    theirs = new_case(other)
    expect_error("CaseIdNotFound", support.describe_cases, caseIdList=[theirs])
    expect_error(
        "CaseIdNotFound", support.describe_cases, caseIdList=[theirs], includeResolvedCases=True
    )


def test_at_most_one_hundred_case_ids(server: ServerProcess, account: str) -> None:
    client = unvalidated_client(server.url, account)
    case_id = new_case(client)
    assert _ids(client.describe_cases(caseIdList=[case_id] * 100)["cases"]) == [case_id]
    message = expect_error("ValidationException", client.describe_cases, caseIdList=[case_id] * 101)
    assert message.startswith("1 validation error detected: Value '[")
    assert message.endswith(
        "at 'caseIdList' failed to satisfy constraint: "
        "Member must have length less than or equal to 100"
    )


def test_display_id_selects_one_case(server: ServerProcess, support: Any) -> None:
    wanted = new_case(support)
    new_case(support)
    display_id = get_case(support, wanted)["displayId"]
    assert _ids(support.describe_cases(displayId=display_id)["cases"]) == [wanted]
    assert _ids(support.describe_cases(displayId=display_id, caseIdList=[wanted])["cases"]) == [
        wanted
    ]
    # A display id naming no case of this account selects nothing; it is not an error.
    assert support.describe_cases(displayId="999999999999")["cases"] == []
    assert support.describe_cases(displayId="not-a-number")["cases"] == []
    other = boto3_client(server.url, new_account())
    assert other.describe_cases(displayId=display_id)["cases"] == []


# --- time filters ---------------------------------------------------------------


def test_time_filters_are_inclusive_instants(support: Any) -> None:
    created = [get_case(support, new_case(support)) for _ in range(3)]
    for case in created:
        instant = case["timeCreated"]
        same = support.describe_cases(afterTime=instant, beforeTime=instant)["cases"]
        assert case["caseId"] in _ids(same)
        assert {c["timeCreated"] for c in same} == {instant}
        after = support.describe_cases(afterTime=instant)["cases"]
        assert set(_ids(after)) == {c["caseId"] for c in created if c["timeCreated"] >= instant}
        before = support.describe_cases(beforeTime=instant)["cases"]
        assert set(_ids(before)) == {c["caseId"] for c in created if c["timeCreated"] <= instant}


def test_time_filters_accept_offsets_and_other_iso_forms(support: Any) -> None:
    case = get_case(support, new_case(support))
    moment = _instant(case["timeCreated"])
    plus_two = moment.astimezone(timezone(timedelta(hours=2)))
    forms = [
        plus_two.isoformat(timespec="milliseconds"),  # 2026-11-27T21:11:17.214+02:00
        moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z",  # microseconds
        moment.isoformat(timespec="milliseconds"),  # +00:00 instead of Z
    ]
    for form in forms:
        found = support.describe_cases(afterTime=form, beforeTime=form)["cases"]
        assert _ids(found) == [case["caseId"]], form
    earlier = (moment - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")  # no fraction
    assert _ids(support.describe_cases(afterTime=earlier)["cases"]) == [case["caseId"]]
    assert support.describe_cases(beforeTime=earlier)["cases"] == []


def test_time_without_offset_is_utc(support: Any) -> None:
    case = get_case(support, new_case(support))
    naive = case["timeCreated"].removesuffix("Z")  # 2026-11-27T19:11:17.214
    found = support.describe_cases(afterTime=naive, beforeTime=naive)["cases"]
    assert _ids(found) == [case["caseId"]]


def test_after_time_later_than_before_time_selects_nothing(support: Any) -> None:
    new_case(support)
    assert support.describe_cases(afterTime="2000-01-02", beforeTime="2000-01-01")["cases"] == []
    assert support.describe_cases(afterTime="2999-01-01", beforeTime="2000-01-01")["cases"] == []


def test_time_filters_accept_dates(support: Any) -> None:
    case = get_case(support, new_case(support))
    day = _instant(case["timeCreated"]).date()
    today, tomorrow = day.isoformat(), (day + timedelta(days=1)).isoformat()
    assert _ids(support.describe_cases(afterTime=today)["cases"]) == [case["caseId"]]
    assert _ids(support.describe_cases(beforeTime=tomorrow)["cases"]) == [case["caseId"]]
    assert support.describe_cases(afterTime=tomorrow)["cases"] == []
    # A date is midnight UTC: `beforeTime` of the case's own day is before the case.
    assert support.describe_cases(beforeTime=today)["cases"] == []
    assert support.describe_cases(afterTime="2999-01-01")["cases"] == []
    assert support.describe_cases(beforeTime="2000-01-01")["cases"] == []


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2026-13-01", "2026-02-30", "2026-11-27T25:00:00Z", "27/11/2026", "", "  "],
)
@pytest.mark.parametrize("member", ["afterTime", "beforeTime"])
def test_unparseable_times_are_invalid(support: Any, member: str, value: str) -> None:
    message = expect_error(
        "InvalidParameterValueException", support.describe_cases, **{member: value}
    )
    assert message.startswith(f"Invalid {member}")


# --- language -------------------------------------------------------------------


def test_language_filter(support: Any) -> None:
    english = new_case(support, language="en")
    japanese = new_case(support, language="ja")
    assert _ids(support.describe_cases(language="ja")["cases"]) == [japanese]
    assert _ids(support.describe_cases(language="en")["cases"]) == [english]
    assert support.describe_cases(language="ko")["cases"] == []
    assert _ids(support.describe_cases()["cases"]) == [japanese, english]


def test_unknown_language_filter_is_invalid(support: Any) -> None:
    message = expect_error("InvalidParameterValueException", support.describe_cases, language="de")
    assert message == "Invalid language code"


# --- maxResults and pagination --------------------------------------------------


def test_max_results_range(server: ServerProcess, account: str) -> None:
    client = unvalidated_client(server.url, account)
    for _ in range(11):
        new_case(client)
    assert len(client.describe_cases(maxResults=10)["cases"]) == 10
    assert len(client.describe_cases(maxResults=100)["cases"]) == 11
    message = expect_error("ValidationException", client.describe_cases, maxResults=9)
    assert message == (
        "1 validation error detected: Value '9' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 10"
    )
    message = expect_error("ValidationException", client.describe_cases, maxResults=101)
    assert message == (
        "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 100"
    )


def test_max_results_below_minimum_over_raw_http(server: ServerProcess, account: str) -> None:
    response = post(server.url, "DescribeCases", {"maxResults": 0}, account=account)
    assert response.status_code == 400
    assert response.json()["__type"] == "ValidationException"


def test_paginator_walks_every_case_once(support: Any) -> None:
    created = [new_case(support, subject=f"n{n}") for n in range(25)]
    pages = list(
        support.get_paginator("describe_cases").paginate(PaginationConfig={"PageSize": 10})
    )
    assert [len(page["cases"]) for page in pages] == [10, 10, 5]
    assert "nextToken" in pages[0]
    assert "nextToken" in pages[1]
    assert "nextToken" not in pages[2]
    walked = [case["caseId"] for page in pages for case in page["cases"]]
    assert walked == created[::-1]
    display = [int(case["displayId"]) for page in pages for case in page["cases"]]
    assert display == sorted(display, reverse=True)


def test_default_page_holds_one_hundred_cases(support: Any) -> None:
    for n in range(101):
        new_case(support, subject=f"n{n}")
    first = support.describe_cases(includeCommunications=False)
    assert len(first["cases"]) == 100
    rest = support.describe_cases(includeCommunications=False, nextToken=first["nextToken"])
    assert len(rest["cases"]) == 1
    assert "nextToken" not in rest


def test_paginator_is_stable_while_cases_are_created_between_pages(support: Any) -> None:
    existing = [new_case(support, subject=f"old {n}") for n in range(23)]
    walked: list[str] = []
    added: list[str] = []
    pages = support.get_paginator("describe_cases").paginate(PaginationConfig={"PageSize": 10})
    for page in pages:
        walked.extend(case["caseId"] for case in page["cases"])
        added.extend(new_case(support, subject="new") for _ in range(3))
    assert walked == existing[::-1]
    # Cases created during the walk are newer than its start and show up in a new walk.
    assert _ids(all_cases(support)) == added[::-1] + existing[::-1]


def test_paginator_is_stable_while_cases_are_created_concurrently(
    server: ServerProcess, account: str, support: Any
) -> None:
    existing = [new_case(support, subject=f"old {n}") for n in range(30)]
    writer = boto3_client(server.url, account)
    stop = threading.Event()
    added: list[str] = []
    failures: list[BaseException] = []

    def create() -> None:
        try:
            while not stop.is_set():
                added.append(new_case(writer, subject="concurrent"))
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    thread = threading.Thread(target=create)
    thread.start()
    try:
        walked = _ids(all_cases(support, PaginationConfig={"PageSize": 10}))
    finally:
        stop.set()
        thread.join()
    assert failures == []
    assert len(walked) == len(set(walked))
    assert walked[-len(existing) :] == existing[::-1]
    assert set(walked) <= set(existing) | set(added)


def _token_for(client: Any, **params: Any) -> str:
    for n in range(11):
        new_case(client, subject=f"n{n}")
    return str(client.describe_cases(maxResults=10, **params)["nextToken"])


@pytest.mark.supportd_wording
@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: ("A" if t[0] != "A" else "B") + t[1:],
        lambda t: t[: len(t) // 2],
        lambda t: t + "AAAA",
        lambda t: "not a token",
        lambda t: "",
    ],
    ids=["last-char", "first-char", "truncated", "extended", "garbage", "empty"],
)
def test_tampered_tokens_are_invalid(support: Any, mutate: Any) -> None:
    token = _token_for(support)
    message = expect_error(
        "InvalidParameterValueException", support.describe_cases, nextToken=mutate(token)
    )
    assert message == "Invalid pagination token"


@pytest.mark.supportd_wording
def test_tokens_are_bound_to_their_filters(support: Any) -> None:
    token = _token_for(support)
    for params in (
        {"language": "en"},
        {"includeResolvedCases": True},
        {"afterTime": "2000-01-01"},
        {"beforeTime": "2999-01-01"},
    ):
        message = expect_error(
            "InvalidParameterValueException", support.describe_cases, nextToken=token, **params
        )
        assert message == "Invalid pagination token"
    # maxResults and includeCommunications may change between pages.
    page = support.describe_cases(nextToken=token, maxResults=50, includeCommunications=False)
    assert len(page["cases"]) == 1


def test_tokens_are_bound_to_their_account(server: ServerProcess, support: Any) -> None:
    token = _token_for(support)
    other = boto3_client(server.url, new_account())
    new_case(other)
    expect_error("InvalidParameterValueException", other.describe_cases, nextToken=token)


def test_case_tokens_are_not_communication_tokens(support: Any) -> None:
    token = _token_for(support)
    case_id = support.describe_cases()["cases"][0]["caseId"]
    expect_error(
        "InvalidParameterValueException",
        support.describe_communications,
        caseId=case_id,
        nextToken=token,
    )


@pytest.mark.supportd_wording
@pytest.mark.parametrize("position", [2**63, 2**64 + 5, 10**30])
def test_forged_token_with_an_impossible_position_is_invalid(support: Any, position: int) -> None:
    # Tokens carry an unkeyed checksum: anyone can rebuild one. A well-formed token with a
    # position no database holds must be refused like any other bad token, not crash.
    token = _token_for(support)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    kind, scope, _ = msgspec.json.decode(raw[6:])
    forged = pagination.encode(pagination.Cursor(kind, scope, position))
    message = expect_error(
        "InvalidParameterValueException", support.describe_cases, nextToken=forged
    )
    assert message == "Invalid pagination token"
