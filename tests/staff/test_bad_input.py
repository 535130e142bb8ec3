"""Every bad input of the staff API gets a clear 4xx with a JSON error, and leaves the
case as it was."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from supportd.domain import lifecycle
from tests.staff.conftest import StaffApi, StaffServer, customer_case, new_case

STAFF_CANNOT_SET = ["unassigned", "customer-action-completed", "reopened"]


def _unchanged(admin: StaffApi, case_id: str, before: dict[str, Any]) -> None:
    after = admin.get(f"/cases/{case_id}")
    assert after == before


def test_unknown_case(admin: StaffApi) -> None:
    for ref in ("case-123456789012-supd-2026-0000000000000000", "999999999999", "nonsense"):
        admin.error("GET", f"/cases/{ref}", 404, "case_not_found")
        admin.error("POST", f"/cases/{ref}/reply", 404, "case_not_found", json={"body": "hi"})
        admin.error("POST", f"/cases/{ref}/resolve", 404, "case_not_found", json={})


@pytest.mark.parametrize("status", STAFF_CANNOT_SET)
def test_statuses_staff_cannot_set(admin: StaffApi, customer: Any, status: str) -> None:
    case_id = new_case(customer)
    before = admin.get(f"/cases/{case_id}")
    message = admin.error(
        "POST", f"/cases/{case_id}/status", 409, "illegal_transition", json={"status": status}
    )
    assert status in message
    admin.error(
        "POST",
        f"/cases/{case_id}/reply",
        409,
        "illegal_transition",
        json={"body": "hello", "status": status},
    )
    _unchanged(admin, case_id, before)


def test_nothing_but_a_customer_reply_moves_a_resolved_case(admin: StaffApi, customer: Any) -> None:
    case_id = new_case(customer)
    customer.resolve_case(caseId=case_id)
    before = admin.get(f"/cases/{case_id}")
    for status in sorted(lifecycle.STATUSES - {lifecycle.RESOLVED}):
        admin.error(
            "POST", f"/cases/{case_id}/status", 409, "illegal_transition", json={"status": status}
        )
    message = admin.error(
        "POST", f"/cases/{case_id}/reply", 409, "illegal_transition", json={"body": "hello?"}
    )
    assert "resolved" in message
    _unchanged(admin, case_id, before)
    assert customer_case(customer, case_id)["status"] == "resolved"
    # A note is not a transition: staff may still write one.
    admin.post(f"/cases/{case_id}/notes", {"body": "closed after the customer's fix"})


def test_unknown_status(admin: StaffApi, customer: Any) -> None:
    case_id = new_case(customer)
    for status in ("all-open", "closed", 7, None, ""):
        admin.error(
            "POST", f"/cases/{case_id}/status", 400, "invalid_parameter", json={"status": status}
        )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "empty_body"),
        ({"body": ""}, "empty_body"),
        ({"body": "   \n\t"}, "empty_body"),
        ({"body": "x" * 8001}, "body_too_long"),
        ({"body": 42}, "invalid_parameter"),
        ({"body": "nul \x00 inside"}, "invalid_parameter"),
    ],
)
def test_bad_reply_and_note_bodies(
    admin: StaffApi, customer: Any, body: dict[str, Any], code: str
) -> None:
    case_id = new_case(customer)
    before = admin.get(f"/cases/{case_id}")
    admin.error("POST", f"/cases/{case_id}/reply", 400, code, json=body)
    admin.error("POST", f"/cases/{case_id}/notes", 400, code, json=body)
    _unchanged(admin, case_id, before)
    assert len(customer.describe_communications(caseId=case_id)["communications"]) == 1


def test_a_reply_of_exactly_8000_characters(admin: StaffApi, customer: Any) -> None:
    case_id = new_case(customer)
    admin.post(f"/cases/{case_id}/reply", {"body": "y" * 8000})
    latest = customer.describe_communications(caseId=case_id)["communications"][0]
    assert latest["body"] == "y" * 8000


def test_bodies_that_are_not_json_objects(admin: StaffApi, customer: Any) -> None:
    case_id = new_case(customer)
    for content in (b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"):
        admin.error(
            "POST",
            f"/cases/{case_id}/reply",
            400,
            "invalid_json",
            content=content,
            headers={"content-type": "application/json"},
        )
    admin.error(
        "POST",
        f"/cases/{case_id}/notes",
        413,
        "body_too_large",
        content=b'{"body": "' + b"z" * 2_000_000 + b'"}',
    )


def test_assigning_nobody_that_exists(admin: StaffApi, customer: Any) -> None:
    case_id = new_case(customer)
    admin.error("POST", f"/cases/{case_id}/assign", 404, "staff_not_found", json={"assignee": "x"})
    admin.error("POST", f"/cases/{case_id}/assign", 400, "invalid_parameter", json={})


def test_bad_list_and_search_parameters(admin: StaffApi) -> None:
    for params in (
        {"status": "bogus"},
        {"severity": "extreme"},
        {"sla": "late"},
        {"sort": "random"},
        {"limit": "0"},
        {"limit": "101"},
        {"account": "12"},
        {"createdAfter": "yesterday"},
        {"language": "xx"},
    ):
        admin.error("GET", "/cases", 400, "invalid_parameter", params=params)
    admin.error("GET", "/cases", 400, "invalid_token", params={"nextToken": "forged"})
    admin.error("GET", "/search", 400, "empty_query")
    admin.error("GET", "/search", 400, "invalid_query", params={"q": "-only -excluded"})
    admin.error("GET", "/search", 400, "invalid_query", params={"q": "..."})


def test_a_page_token_is_bound_to_its_query(admin: StaffApi, customer: Any) -> None:
    for _ in range(3):
        new_case(customer)
    page = admin.get("/cases", limit=1)
    admin.error(
        "GET",
        "/cases",
        400,
        "invalid_token",
        params={"limit": 1, "nextToken": page["nextToken"], "sort": "created"},
    )


# --- tokens -----------------------------------------------------------------------------


def test_no_token(staff_server: StaffServer) -> None:
    for path in ("/cases", "/me", "/search?q=x", "/cases/1000000001"):
        response = httpx.get(staff_server.url + "/staff/api" + path, timeout=30)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "missing_token"
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer nonsense",
        "Basic YWRtaW46cGFzcw==",
        "Bearer",
        "Bearer sdst_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_invalid_tokens(staff_server: StaffServer, authorization: str) -> None:
    response = httpx.get(
        staff_server.url + "/staff/api/cases", headers={"Authorization": authorization}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_a_wrong_secret_for_a_real_token_id(admin: StaffApi) -> None:
    token_id = admin.token.split("_")[1]
    forged = f"sdst_{token_id}_{'B' * 43}"
    StaffApi(admin.url, forged).error("GET", "/me", 401, "invalid_token")


def test_revoked_tokens_and_disabled_staff(staff_server: StaffServer, admin: StaffApi) -> None:
    agent = staff_server.new_staff()
    me = agent.get("/me")["staff"]["name"]
    tokens = agent.get(f"/staff/{me}/tokens")["tokens"]
    assert len(tokens) == 1 and tokens[0]["active"]
    agent.post(f"/tokens/{tokens[0]['tokenId']}/revoke")
    agent.error("GET", "/cases", 401, "revoked_token")

    # Disabling a staff member ends all their tokens, for good: enabling them again
    # brings none back; they need a new one.
    second = admin.post(f"/staff/{me}/tokens")["token"]
    StaffApi(admin.url, second).get("/me")
    admin.post(f"/staff/{me}/disable")
    StaffApi(admin.url, second).error("GET", "/me", 401, "staff_disabled")
    admin.error("POST", f"/staff/{me}/tokens", 409, "staff_disabled")
    admin.post(f"/staff/{me}/enable")
    StaffApi(admin.url, second).error("GET", "/me", 401, "revoked_token")
    listed = admin.get(f"/staff/{me}/tokens")["tokens"]
    assert [t["active"] for t in listed] == [False, False]
    assert all(t["timeRevoked"] for t in listed)
    third = admin.post(f"/staff/{me}/tokens")["token"]
    assert StaffApi(admin.url, third).get("/me")["staff"]["name"] == me
    # Enabling an active member again revokes nothing.
    admin.post(f"/staff/{me}/enable")
    assert StaffApi(admin.url, third).get("/me")["staff"]["name"] == me


def test_agents_cannot_administer(staff_server: StaffServer, admin: StaffApi) -> None:
    agent = staff_server.new_staff()
    agent.error(
        "POST",
        "/staff",
        403,
        "admin_required",
        json={"name": "sneaky", "email": "s@example.com", "role": "admin"},
    )
    agent.error("POST", "/staff/admin/disable", 403, "admin_required")
    agent.error("POST", "/staff/admin/tokens", 403, "admin_required")
    admin_token = admin.get("/staff/admin/tokens")["tokens"][0]["tokenId"]
    agent.error("POST", f"/tokens/{admin_token}/revoke", 403, "admin_required")
    admin.error("POST", "/staff/admin/disable", 409, "cannot_disable_self")
    admin.error(
        "POST",
        "/staff",
        409,
        "staff_exists",
        json={"name": "admin", "email": "a@example.com"},
    )
    for body in (
        {"name": "Bad Name", "email": "b@example.com"},
        {"name": "none", "email": "b@example.com"},
        {"name": "fine", "email": "not-an-address"},
        {"name": "fine", "email": "f@example.com", "role": "root"},
    ):
        admin.error("POST", "/staff", 400, "invalid_parameter", json=body)


def test_a_customer_access_key_is_refused(staff_server: StaffServer, customer_account: str) -> None:
    url = staff_server.url + "/staff/api/cases"
    # A real SigV4 signature of a customer's key, as boto3 would send it.
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(customer_account, "secret"), "support", "us-east-1").add_auth(request)
    signed = httpx.get(url, headers=dict(request.headers.items()))
    assert signed.status_code == 401
    assert signed.json()["error"]["code"] == "customer_credentials"
    for authorization in (f"Bearer {customer_account}", "Bearer AKIAIOSFODNN7EXAMPLE"):
        response = httpx.get(url, headers={"Authorization": authorization})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "customer_credentials"
    presigned = httpx.get(url, params={"X-Amz-Credential": f"{customer_account}/x"})
    assert presigned.json()["error"]["code"] == "customer_credentials"


def test_staff_tokens_are_not_customer_keys(staff_server: StaffServer, admin: StaffApi) -> None:
    """The other way round: the staff API's token means nothing to the Support API, and
    paths under /staff/api that do not exist answer the staff API's JSON 404."""
    missing = httpx.get(staff_server.url + "/staff/api/nope", headers={"Authorization": "x"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    described = httpx.get(staff_server.url + "/staff/api/openapi.json")
    assert described.status_code == 200


def test_text_no_store_can_hold_is_refused_before_the_store(admin: StaffApi, customer: Any) -> None:
    """U+0000 cannot be stored in PostgreSQL: nowhere may it reach the store (a 4xx on
    both stores alike, never a 500)."""
    case_id = new_case(customer)
    # Not a name the schema allows (its pattern): refused as bad input.
    admin.error(
        "POST", f"/cases/{case_id}/assign", 400, "invalid_parameter", json={"assignee": "\x00"}
    )
    for params in ({"category": "\x00"}, {"assignee": "a\x00"}, {"service": "\x00"}):
        admin.error("GET", "/cases", 400, "invalid_parameter", params=params)
    admin.error("GET", "/cases/case-%00", 404, "case_not_found")
    admin.error("POST", "/tokens/%00/revoke", 404, "token_not_found")
    admin.error("POST", "/staff/a%00/disable", 404, "staff_not_found")
    admin.error("GET", "/staff/a%00/tokens", 404, "staff_not_found")
    admin.error(
        "POST", "/staff", 400, "invalid_parameter", json={"name": "x", "email": "a\x00@b.com"}
    )
    assert admin.get("/search", q="\x00 restart")["results"] is not None
