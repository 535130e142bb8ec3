"""Checks of supportd's responses against botocore's Support model, shared by the unit
round-trip tests and the fuzz test against the real server."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

from botocore.model import ServiceModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from supportd import api_errors
from supportd.domain import ids
from supportd.http import protocol
from tests.unit.model_strategies import RAW_MODEL, SHAPES, output_shape

BOTOCORE = ServiceModel(RAW_MODEL, service_name="support")
INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
CASE_STATUSES = {
    "unassigned",
    "work-in-progress",
    "pending-customer-action",
    "customer-action-completed",
    "opened",
    "reopened",
    "resolved",
}
# Formats clients see verbatim, by the shape a member uses.
FORMATS: dict[str, re.Pattern[str]] = {
    "CaseId": ids.CASE_ID_PATTERN,
    "DisplayId": re.compile(r"[1-9][0-9]{9,17}"),
    "TimeCreated": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"),
    "ExpiryTime": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000"),
    "NextToken": re.compile(r"[A-Za-z0-9_-]+"),
    "AttachmentSetId": re.compile(r"as-[A-Za-z0-9_-]{16,}"),
    "AttachmentId": re.compile(r"attachment-[A-Za-z0-9_-]{16,}"),
    "Status": re.compile("|".join(sorted(CASE_STATUSES))),
    "CaseStatus": re.compile("|".join(sorted(CASE_STATUSES))),
}
# Model patterns supportd deliberately does not follow, and what it follows instead.
# HttpsUrl: presigned links are built from --public-url or the request's own scheme and
# host, so a server reached over plain HTTP, by IP address or as localhost, hands out
# such links (docs/compatibility.md); the path is supportd's own.
INSTEAD_OF_PATTERN: dict[str, re.Pattern[str]] = {
    "HttpsUrl": re.compile(r"https?://[A-Za-z0-9.:\[\]-]+/attachments/[A-Za-z0-9_/-]+\?\S+"),
}


def serialize(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """The request botocore would send for these parameters (validating them first)."""
    serializer = create_serializer("json", include_validation=True)
    return serializer.serialize_to_request(params, BOTOCORE.operation_model(operation))


def shape_problems(shape_name: str, value: Any, path: str = "$") -> list[str]:
    """Everything about `value` that the model's shape does not allow."""
    shape = SHAPES[shape_name]
    kind = shape["type"]
    if value is None:
        return [f"{path}: null (absent members must be omitted)"]
    problems: list[str] = []
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, expected an object"]
        members: Mapping[str, Any] = shape.get("members", {})
        for name in value:
            if name not in members:
                problems.append(f"{path}.{name}: not a member of {shape_name}")
        for name in shape.get("required", ()):
            if name not in value:
                problems.append(f"{path}.{name}: required member missing")
        for name, member in members.items():
            if SHAPES[member["shape"]]["type"] == "list" and name not in value:
                problems.append(f"{path}.{name}: list omitted (empty lists are present)")
        for name, item in value.items():
            if name in members:
                problems += shape_problems(members[name]["shape"], item, f"{path}.{name}")
    elif kind == "list":
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, expected a list"]
        if not shape.get("min", 0) <= len(value) <= shape.get("max", len(value)):
            problems.append(f"{path}: {len(value)} items, outside the model's bounds")
        for index, item in enumerate(value):
            problems += shape_problems(shape["member"]["shape"], item, f"{path}[{index}]")
    elif kind == "string":
        if not isinstance(value, str):
            return [f"{path}: {type(value).__name__}, expected a string"]
        if not shape.get("min", 0) <= len(value) <= shape.get("max", len(value)):
            problems.append(f"{path}: length {len(value)} outside the model's bounds")
        if "enum" in shape and value not in shape["enum"]:
            problems.append(f"{path}: {value!r} not in the enum {shape['enum']}")
        pattern = INSTEAD_OF_PATTERN.get(shape_name)
        if pattern is not None:
            if not pattern.fullmatch(value):
                problems.append(f"{path}: {value!r} does not match {pattern.pattern}")
        elif "pattern" in shape and not re.search(shape["pattern"], value):
            problems.append(f"{path}: {value!r} does not match {shape['pattern']}")
        if shape_name in FORMATS and not FORMATS[shape_name].fullmatch(value):
            problems.append(f"{path}: {value!r} is not in supportd's {shape_name} format")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: {value!r}, expected a boolean")
    elif kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: {value!r}, expected an integer")
        elif not max(low, shape.get("min", low)) <= value <= min(high, shape.get("max", high)):
            problems.append(f"{path}: {value} outside the model's range")
    elif kind in ("double", "float"):
        if not isinstance(value, float):
            problems.append(f"{path}: {value!r}, expected a float (some SDKs cast strictly)")
    elif kind == "blob":
        if not isinstance(value, str):
            problems.append(f"{path}: {value!r}, expected base64 text")
        else:
            try:
                base64.b64decode(value, validate=True)
            except ValueError:
                problems.append(f"{path}: not valid base64")
    else:
        problems.append(f"{path}: shape type {kind} unknown to this check")
    return problems


def botocore_view(shape_name: str, value: Any) -> Any:
    """What botocore's parser should make of a conforming JSON value."""
    shape = SHAPES[shape_name]
    kind = shape["type"]
    if kind == "structure":
        members = shape.get("members", {})
        return {name: botocore_view(members[name]["shape"], item) for name, item in value.items()}
    if kind == "list":
        return [botocore_view(shape["member"]["shape"], item) for item in value]
    if kind == "blob":
        return base64.b64decode(value)
    return value


def parse_with_botocore(operation: str, response: Any) -> dict[str, Any]:
    parser = create_parser("json")
    return parser.parse(
        {
            "status_code": response.status_code,
            "headers": dict(response.headers),
            "body": response.content,
        },
        BOTOCORE.operation_model(operation).output_shape,
    )


def check_response(operation: str, response: Any) -> None:
    assert response.headers["content-type"] == protocol.CONTENT_TYPE
    request_id = response.headers["x-amzn-requestid"]
    parsed = parse_with_botocore(operation, response)
    assert parsed["ResponseMetadata"]["RequestId"] == request_id
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == response.status_code
    body = json.loads(response.content)
    if response.status_code == 200:
        assert "x-amzn-errortype" not in response.headers
        problems = shape_problems(output_shape(operation), body)
        assert not problems, (operation, problems)
        del parsed["ResponseMetadata"]
        assert parsed == botocore_view(output_shape(operation), body)
        return
    code = body["__type"]
    assert code in api_errors.ERRORS, body
    assert response.status_code == api_errors.ERRORS[code].status
    assert response.headers["x-amzn-errortype"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) - {"__type"} <= set(SHAPES.get(code, {}).get("members", {"message": None}))
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == body["message"]
