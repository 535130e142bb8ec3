"""The OpenAPI 3.1 description of the staff API, served at /staff/api/openapi.json.

Generated, not written: the paths from staff_schema.OPERATIONS (the same table the
server routes by), the schemas from the Structs the server decodes requests with
(msgspec.json.schema_components). The reference data the server was started with
supplies the enums of the filters that name it (severity, service, category, language),
so the document is built per server (staff_api builds it once, at start).
"""

from __future__ import annotations

from typing import Any

import msgspec

from supportd import __version__
from supportd.http import staff_schema
from supportd.http.staff_schema import OPERATIONS, Operation
from supportd.reference import catalogue as catalogue_module
from supportd.reference.catalogue import Catalogue

REF = "#/components/schemas/{name}"
QUERY_SHAPES = (staff_schema.CaseListQuery, staff_schema.SearchQuery)


def _component_types() -> list[Any]:
    types: list[Any] = [staff_schema.Error]
    for operation in OPERATIONS:
        types.append(operation.result)
        types.extend(operation.body)
    return types


def _field_schemas(shape: type[msgspec.Struct]) -> dict[str, tuple[dict[str, Any], bool]]:
    """Each field of a flat Struct: its schema (inline) and whether it is required."""
    _, components = msgspec.json.schema_components([shape], ref_template=REF)
    own = components[shape.__name__]
    required = set(own.get("required", ()))
    return {name: (prop, name in required) for name, prop in own["properties"].items()}


# Query parameters that take several values (repeated: `?status=a&status=b`).
ARRAY_QUERY_PARAMETERS = frozenset(
    name
    for shape in QUERY_SHAPES
    for name, (prop, _) in _field_schemas(shape).items()
    if prop.get("type") == "array"
)


def _reference_enums(catalogue: Catalogue) -> dict[str, list[str]]:
    """Filters whose values the reference data lists."""
    return {
        "severity": list(catalogue.severity_codes),
        "service": sorted(catalogue.categories_by_service),
        "category": sorted(
            {c for categories in catalogue.categories_by_service.values() for c in categories}
        ),
        "language": list(catalogue.language_codes),
    }


def _parameter_schema(tp: Any) -> dict[str, Any]:
    schema: dict[str, Any] = msgspec.json.schema(tp)
    return schema


def _path_parameters(path: str) -> list[dict[str, Any]]:
    parameters = []
    for segment in path.split("/"):
        if segment.startswith("{"):
            name = segment[1:-1]
            schema = _parameter_schema(staff_schema.PATH_PARAMETERS[name])
            description = schema.pop("description", "")
            parameters.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "description": description,
                    "schema": schema,
                }
            )
    return parameters


def _query_parameters(
    shape: type[msgspec.Struct], enums: dict[str, list[str]]
) -> list[dict[str, Any]]:
    parameters = []
    for name, (schema, required) in _field_schemas(shape).items():
        schema = dict(schema)
        description = schema.pop("description", "") or staff_schema.QUERY_DESCRIPTIONS.get(name, "")
        if name in enums:
            schema["enum"] = enums[name]
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": required,
            "description": description,
            "schema": schema,
        }
        if name in ARRAY_QUERY_PARAMETERS:
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    return parameters


def _ref(tp: type[msgspec.Struct]) -> dict[str, str]:
    return {"$ref": REF.format(name=tp.__name__)}


def _operation(operation: Operation, enums: dict[str, list[str]]) -> dict[str, Any]:
    parameters = _path_parameters(operation.path)
    if operation.query is not None:
        parameters += _query_parameters(operation.query, enums)
    described: dict[str, Any] = {
        "summary": operation.summary,
        "operationId": f"{operation.method}{operation.path}",
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": _ref(operation.result)}},
            },
            **{
                str(status): {
                    "description": text,
                    "content": {"application/json": {"schema": _ref(staff_schema.Error)}},
                }
                for status, text in staff_schema.ERROR_CODES.items()
                if status != 413 or operation.body
            },
        },
    }
    if operation.description:
        described["description"] = operation.description
    if operation.body:
        shapes = [_ref(shape) for shape in operation.body]
        described["requestBody"] = {
            "required": operation.body_required,
            "content": {
                "application/json": {"schema": shapes[0] if len(shapes) == 1 else {"anyOf": shapes}}
            },
        }
    return described


def document(catalogue: Catalogue | None = None) -> dict[str, Any]:
    """The OpenAPI document of a server using this reference data (default: the
    built-in)."""
    enums = _reference_enums(catalogue or catalogue_module.load())
    _, schemas = msgspec.json.schema_components(_component_types(), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {
        "/openapi.json": {
            "get": {
                "summary": "This description.",
                "operationId": "get/openapi.json",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        }
    }
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method] = _operation(operation, enums)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "supportd staff API",
            "version": __version__,
            "description": "The support side of supportd: cases across accounts, replies as"
            " support, internal notes, assignment, status, SLA clocks and search. Every"
            " route but this description needs `Authorization: Bearer <staff token>`"
            " (`supportd staff token NAME`). Errors are JSON: "
            '`{"error": {"code": ..., "message": ...}}`; a method a path does not declare'
            " is 405 `method_not_allowed` with `Allow`, a path that does not exist 404"
            " `not_found`.",
        },
        "servers": [{"url": "/staff/api"}],
        "security": [{"staffToken": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "staffToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A staff token (`sdst_...`); AWS access keys are refused.",
                }
            },
            "schemas": schemas,
        },
    }
