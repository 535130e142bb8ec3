"""The OpenAPI document is generated from what the server decodes with, describes every
route, is served, and the server keeps to it at its edges: undeclared methods and paths,
unknown members, values the schema forbids."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from supportd.http import staff_openapi, staff_schema
from supportd.reference import catalogue
from tests.staff.conftest import StaffApi, StaffServer, new_case
from tests.support.staff_openapi_check import check_response


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_operation_is_described_and_nothing_else() -> None:
    document = staff_openapi.document()
    described = {
        (path, method)
        for path, operations in document["paths"].items()
        for method in operations
        if path != "/openapi.json"
    }
    assert described == {op.key[::-1] for op in staff_schema.OPERATIONS}
    assert len(described) == len(staff_schema.OPERATIONS)


def test_every_reference_resolves_and_objects_are_closed() -> None:
    document = staff_openapi.document()
    schemas = document["components"]["schemas"]
    for ref in _refs(document):
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in schemas, ref
    assert document["openapi"].startswith("3.1")
    for name, schema in schemas.items():
        assert schema["additionalProperties"] is False, name


def test_the_schemas_are_the_structs_the_server_decodes_with() -> None:
    """Generated, not written: the document's component is msgspec's schema of the Struct."""
    schemas = staff_openapi.document()["components"]["schemas"]
    _, components = msgspec.json.schema_components(
        [staff_schema.Reply, staff_schema.NewStaff, staff_schema.CaseList],
        ref_template="#/components/schemas/{name}",
    )
    for name, schema in components.items():
        assert schemas[name] == schema
    account = staff_openapi.document()["paths"]["/advisor/{account}/{check}"]["get"]
    assert account["parameters"][0]["schema"]["pattern"] == "^[0-9]{12}$"


def test_filters_of_reference_data_list_its_codes() -> None:
    reference = catalogue.load()
    parameters = {
        p["name"]: p for p in staff_openapi.document()["paths"]["/cases"]["get"]["parameters"]
    }
    assert parameters["severity"]["schema"]["enum"] == reference.severity_codes
    assert parameters["language"]["schema"]["enum"] == reference.language_codes
    assert set(parameters["service"]["schema"]["enum"]) == set(reference.categories_by_service)
    assert parameters["status"]["schema"]["type"] == "array"
    assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}


def test_it_is_served_without_a_token(staff_server: StaffServer) -> None:
    response = httpx.get(staff_server.url + "/staff/api/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    # The served document is the server process's own, built from the same reference data.
    assert response.json() == staff_openapi.document()


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/me", "GET, HEAD"),
        ("DELETE", "/staff", "GET, HEAD, POST"),
        ("PATCH", "/advisor/123456789012/Z4AUBRNSmz", "GET, HEAD, PUT, DELETE"),
        ("GET", "/cases/1000000001/reply", "POST"),
        ("OPTIONS", "/search", "GET, HEAD"),
        ("POST", "/openapi.json", "GET, HEAD"),
    ],
)
def test_an_undeclared_method_is_405_with_allow(
    admin: StaffApi, method: str, path: str, allow: str
) -> None:
    response = admin.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_head_answers_as_get_without_a_body(admin: StaffApi) -> None:
    response = httpx.head(
        admin.url + "/staff/api/me", headers={"Authorization": f"Bearer {admin.token}"}
    )
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize("path", ["/nope", "/cases/1/reply/more", "/cases/a%0Ab/nope", "", "/%0A"])
def test_every_unknown_path_below_the_prefix_is_a_json_404(admin: StaffApi, path: str) -> None:
    response = admin.request("POST", path, json={})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_path_no_route_matches_anywhere_is_an_aws_error(staff_server: StaffServer) -> None:
    # Starlette's own fallback would answer in plain text.
    response = httpx.get(staff_server.url + "/x%0Ay", timeout=30)
    assert response.status_code == 404
    assert response.json()["__type"] == "UnknownOperationException"


def test_what_the_schema_forbids_the_server_refuses(admin: StaffApi, customer: Any) -> None:
    """The issue's examples: an account of '0' (now forbidden by the schema's pattern,
    and refused), and members the schema does not declare (additionalProperties false,
    and refused)."""
    assert (
        staff_openapi.document()["components"]["schemas"]["Reply"]["additionalProperties"] is False
    )
    admin.error("GET", "/advisor/0/Z4AUBRNSmz", 400, "invalid_parameter")
    admin.error("GET", "/cases", 400, "invalid_parameter", params={"account": "0"})
    case_id = new_case(customer)
    before = admin.get(f"/cases/{case_id}")
    message = admin.error(
        "POST", f"/cases/{case_id}/notes", 400, "invalid_parameter", json={"body": "x", "y": 1}
    )
    assert "unknown field `y`" in message
    admin.error(
        "POST",
        "/staff",
        400,
        "invalid_parameter",
        json={"name": "extra", "email": "e@example.com", "admin": True},
    )
    admin.error("POST", f"/cases/{case_id}/resolve", 400, "invalid_parameter", json={"now": 1})
    assert admin.get(f"/cases/{case_id}") == before


def test_what_the_schema_allows_the_server_accepts(admin: StaffApi, customer: Any) -> None:
    """Values at the schema's edges: blanks other than ASCII whitespace are text, an
    integral number is an integer, a comma-separated status list, an RFC 3339 time with
    an offset."""
    case_id = new_case(customer)
    admin.post(f"/cases/{case_id}/notes", {"body": "\u00a0"})
    page = admin.get(
        "/cases",
        status="open,resolved",
        createdAfter="2000-01-01T00:00:00.5+05:30",
        assignee="none",
        limit=100,
    )
    assert case_id in {c["caseId"] for c in page["cases"]}
    seeded = admin.request(
        "PUT",
        "/advisor/123456789012/Z4AUBRNSmz",
        json={"resourcesSummary": {"resourcesIgnored": 2.0}},
    )
    assert seeded.status_code == 200, seeded.text
    assert seeded.json()["result"]["resourcesSummary"]["resourcesIgnored"] == 2


def test_a_body_an_operation_requires_may_not_be_missing(admin: StaffApi) -> None:
    message = admin.error("PUT", "/advisor/123456789012/Z4AUBRNSmz", 400, "invalid_json")
    assert "body" in message


def test_looser_iso_times_are_refused(admin: StaffApi) -> None:
    for value in ("2026-05-01T09:30", "20260501", "2026-05-01 09:30:00Z", "2026-05-01\n"):
        admin.error("GET", "/cases", 400, "invalid_parameter", params={"createdAfter": value})


def test_the_checker_refuses_an_undescribed_response() -> None:
    """The check the staff tests run on every response can fail."""
    request = httpx.Request("GET", "http://x/staff/api/me")
    wrong = httpx.Response(200, json={"staff": {"name": "x"}}, request=request)
    with pytest.raises(Exception, match="required property"):
        check_response(wrong)
    undeclared = httpx.Response(418, json={"error": {"code": "x", "message": "y"}}, request=request)
    with pytest.raises(AssertionError, match="does not declare"):
        check_response(undeclared)
