"""Seeding Trusted Advisor results through the staff API (/staff/api/advisor/...), what a
test suite playing support uses against a running server: the customer sees the result
at once through boto3."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tests.advisor.conftest import AdvisorServer
from tests.advisor.helpers import supportd

CHECK = "Z4AUBRNSmz"
SEED = {
    "categorySpecificSummary": {"costOptimizing": {"estimatedMonthlySavings": 3.6}},
    "flaggedResources": [
        {"status": "warning", "resourceId": "eipalloc-1", "metadata": ["us-east-1", "1.2.3.4"]}
    ],
}


@pytest.fixture(scope="module")
def token(advisor_server: AdvisorServer) -> str:
    name = f"advisor-{secrets.token_hex(3)}"
    store = advisor_server.store_args
    made = supportd("staff", "create", name, "--email", f"{name}@example.com", *store)
    assert made.returncode == 0, made.stderr
    issued = supportd("staff", "token", name, *store)
    assert issued.returncode == 0, issued.stderr
    return issued.stdout.split()[-1]


def staff(server: AdvisorServer, token: str, method: str, path: str, **kw: Any) -> httpx.Response:
    return httpx.request(
        method,
        f"{server.url}/staff/api/advisor/{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        **kw,
    )


def test_seed_read_and_clear_through_the_staff_api(
    advisor_server: AdvisorServer, token: str, client: Any, advisor_account: str
) -> None:
    path = f"{advisor_account}/{CHECK}"
    empty = staff(advisor_server, token, "GET", path)
    assert empty.status_code == 200
    assert empty.json()["source"] is None
    assert empty.json()["result"]["status"] == "not_available"

    seeded = staff(advisor_server, token, "PUT", path, json=SEED)
    assert seeded.status_code == 200, seeded.text
    body = seeded.json()
    assert (body["accountId"], body["source"]) == (advisor_account, "seeded")
    customer = client.describe_trusted_advisor_check_result(checkId=CHECK)["result"]
    assert customer == body["result"]
    assert customer["status"] == "warning"
    assert b'"estimatedMonthlySavings":3.6' in seeded.content

    cleared = staff(advisor_server, token, "DELETE", path)
    assert cleared.json() == {"accountId": advisor_account, "checkId": CHECK, "deleted": True}
    assert client.describe_trusted_advisor_check_result(checkId=CHECK)["result"]["status"] == (
        "not_available"
    )
    assert staff(advisor_server, token, "DELETE", path).json()["deleted"] is False


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("111122223333/eW7HH0l7J9", {}, 404, "check_not_found"),
        ("12345/Z4AUBRNSmz", {}, 400, "invalid_parameter"),
        ("111122223333/Z4AUBRNSmz", {"status": "green"}, 400, "invalid_result"),
        ("111122223333/Pfx0RwqBli", {"flaggedResources": [{}]}, 400, "invalid_result"),
    ],
)
def test_bad_seeds_are_refused(
    advisor_server: AdvisorServer, token: str, path: str, body: Any, status: int, code: str
) -> None:
    response = staff(advisor_server, token, "PUT", path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_the_staff_api_needs_a_token(advisor_server: AdvisorServer) -> None:
    response = httpx.put(
        f"{advisor_server.url}/staff/api/advisor/111122223333/{CHECK}", json=SEED, timeout=30
    )
    assert response.status_code == 401
