"""The OpenAPI description matches the staff API's routes, and is served."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.routing import Route

from supportd.config import Config
from supportd.http import staff_api, staff_openapi
from supportd.operations.context import Context
from supportd.reference import catalogue
from tests.staff.conftest import StaffServer


def _routes() -> set[tuple[str, str]]:
    ctx = Context(config=Config(), catalogue=catalogue.load(), store=None)  # type: ignore[arg-type]
    found = set()
    for route in staff_api.routes(ctx):
        assert isinstance(route, Route)
        if route.path == "/{path:path}":
            continue
        for method in route.methods or ():
            if method != "HEAD":
                found.add((route.path, method.lower()))
    return found


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_route_is_described_and_nothing_else() -> None:
    document = staff_openapi.document()
    described = {
        (path, method) for path, operations in document["paths"].items() for method in operations
    }
    assert described == _routes()


def test_every_reference_resolves() -> None:
    document = staff_openapi.document()
    schemas = document["components"]["schemas"]
    for ref in _refs(document):
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in schemas, ref
    assert document["openapi"].startswith("3.1")


def test_it_is_served_without_a_token(staff_server: StaffServer) -> None:
    response = httpx.get(staff_server.url + "/staff/api/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    # Computed afresh: the served document is the server process's own.
    assert response.json() == staff_openapi.document.__wrapped__()
