"""Real staff API responses judged by the generated OpenAPI document.

Every response the staff tests' client receives goes through `check_response`: its
status must be one the operation declares, its body must validate against that
status's schema (jsonschema, Draft 2020-12, against the document itself), and its
Content-Type must be the declared one. A response the document does not describe fails
the test that received it.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
import jsonschema

from supportd.http import staff_openapi

PREFIX = "/staff/api"


@functools.cache
def _document() -> dict[str, Any]:
    return staff_openapi.document()


def _matches(template: str, path: str) -> bool:
    want, got = template.strip("/").split("/"), path.strip("/").split("/")
    return len(want) == len(got) and all(
        w == g or (w.startswith("{") and g != "") for w, g in zip(want, got, strict=True)
    )


def operation_of(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The declared (template, operation) a request addresses, if any."""
    local = path[len(PREFIX) :]
    for template, operations in _document()["paths"].items():
        if _matches(template, local):
            described = operations.get(method.lower())
            return (template, described) if described is not None else None
    return None


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    root = {**schema, "components": _document()["components"]}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())


def check_response(response: httpx.Response) -> None:
    """Fail unless the document describes this response of this request."""
    request = response.request
    method = "GET" if request.method == "HEAD" else request.method
    found = operation_of(method, request.url.path)
    body = response.json()
    if found is None:
        # Not a declared operation: a JSON 404 (no such path) or 405 (no such method).
        assert response.status_code in (404, 405), (request.method, request.url, response.text)
        _validator({"$ref": "#/components/schemas/Error"}).validate(body)
        if response.status_code == 405:
            assert response.headers["allow"]
        return
    template, operation = found
    declared = operation["responses"].get(str(response.status_code))
    assert declared is not None, (
        f"{method} {template} answered {response.status_code}, which it does not declare:"
        f" {response.text[:300]}"
    )
    media = response.headers["content-type"].split(";")[0]
    assert media in declared["content"], (method, template, media)
    _validator(declared["content"][media]["schema"]).validate(body)
