"""The staff HTTP API under /staff/api/: JSON in and out, bearer tokens.

A thin layer: it authenticates the token, checks the request against its declared
shape (supportd.http.staff_schema: the same Structs the OpenAPI document is generated
from), calls operations.staff and writes the result (or the StaffError) as JSON.

Routing is its own: every path under /staff/api answers JSON, whatever it holds (an
undeclared path 404, an undeclared method 405 with `Allow`), which Starlette's routing,
whose default answers are plain text, does not give.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from supportd import logs
from supportd.domain.staff import StaffMember
from supportd.http import staff_openapi, staff_schema
from supportd.http.observe import Observer
from supportd.http.staff_schema import Operation
from supportd.operations import advisor, notifications
from supportd.operations import staff as ops
from supportd.operations.context import Context
from supportd.operations.staff import StaffError
from supportd.storage.base import StoreUnavailable

log = logging.getLogger("supportd.staff_api")

PREFIX = "/staff/api"
JSON = "application/json"
_encoder = msgspec.json.Encoder()

# (request, acting staff member, path parameters, the request body) -> JSON-ready result
Endpoint = Callable[[Request, StaffMember, Mapping[str, str], Any], Awaitable[dict[str, Any]]]
# A body's own rules, which explain a refused body with their specific error code.
BodyRules = Callable[[Mapping[str, str], dict[str, Any]], object]


def _request_id() -> str:
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


def _json(status: int, body: Any, request_id: str) -> Response:
    return Response(
        _encoder.encode(body),
        status_code=status,
        media_type=JSON,
        headers={"cache-control": "no-store", "x-request-id": request_id},
    )


def _error(error: StaffError, request_id: str) -> Response:
    response = _json(error.status, error.body(), request_id)
    if error.status == 401:
        response.headers["www-authenticate"] = 'Bearer realm="supportd staff API"'
    return response


def _params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


def _integral(value: Any) -> Any:
    """JSON does not tell 1 from 1.0, and JSON Schema counts both as integers: a number
    without a fraction is read as an integer, wherever it is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


async def _raw_body(request: Request, limit: int, required: bool) -> dict[str, Any]:
    """The request's JSON object (an empty body is an empty object, where the operation
    does not require one)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise StaffError(413, "body_too_large", f"the request body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise StaffError(413, "body_too_large", f"the request body is over {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        if required:
            raise StaffError(400, "invalid_json", "the request needs a JSON object as its body")
        return {}
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise StaffError(400, "invalid_json", "the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise StaffError(400, "invalid_json", "the request body must be a JSON object")
    result: dict[str, Any] = _integral(value)
    return result


def _refused(error: msgspec.ValidationError, code: str = "invalid_parameter") -> StaffError:
    return StaffError(400, code, str(error).replace("`$.", "`").replace("`$`", "the body"))


def check_body(
    value: dict[str, Any],
    shapes: Sequence[type[msgspec.Struct]],
    rules: BodyRules,
    path: Mapping[str, str],
    code: str = "invalid_parameter",
) -> None:
    """Refuse a body that none of its declared shapes admits. The body's own rules run
    first on a refused body, so that the error names the rule (empty_body,
    body_too_long, ...); whatever else the shape refuses (an unknown member, a wrong
    type) is `code`."""
    first: msgspec.ValidationError | None = None
    for shape in shapes:
        try:
            msgspec.convert(value, shape)
            return
        except msgspec.ValidationError as exc:
            first = first or exc
    assert first is not None
    rules(path, value)
    raise _refused(first, code)


def query_values(params: Mapping[str, list[str]], shape: type[msgspec.Struct]) -> dict[str, Any]:
    """The declared query parameters as the Struct takes them: a list for array
    parameters, else the single value (undeclared parameters are ignored, as HTTP
    allows)."""
    values: dict[str, Any] = {}
    for f in msgspec.structs.fields(shape):
        given = params.get(f.encode_name)
        if given is None:
            continue
        if f.encode_name in staff_openapi.ARRAY_QUERY_PARAMETERS:
            values[f.encode_name] = given
        elif len(given) > 1:
            raise StaffError(400, "invalid_parameter", f"give {f.encode_name} once")
        else:
            values[f.encode_name] = given[0]
    return values


def check_query(
    params: Mapping[str, list[str]], shape: type[msgspec.Struct], rules: Callable[[], object]
) -> None:
    try:
        msgspec.convert(query_values(params, shape), shape, strict=False)
    except msgspec.ValidationError as exc:
        rules()
        raise _refused(exc) from None


def _no_rules(path: Mapping[str, str], body: dict[str, Any]) -> None:
    return None


@dataclass(slots=True)
class _Outcome:
    """What a request was (for the metrics): its operation and error code."""

    operation: str = "unknown"
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Bound:
    operation: Operation
    endpoint: Endpoint
    rules: BodyRules


class _Resource:
    """One path template and the methods declared on it."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.segments = template.strip("/").split("/")
        self.methods: dict[str, _Bound] = {}

    def match(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for pattern, segment in zip(self.segments, segments, strict=True):
            if pattern.startswith("{"):
                if not segment:
                    return None
                params[pattern[1:-1]] = segment
            elif pattern != segment:
                return None
        return params

    @property
    def allow(self) -> str:
        methods: list[str] = []
        for method in self.methods:
            methods += ["GET", "HEAD"] if method == "get" else [method.upper()]
        return ", ".join(methods)


class StaffApi:
    """The ASGI app of every path under /staff/api."""

    def __init__(self, ctx: Context, observer: Observer) -> None:
        self.ctx = ctx
        self.observer = observer
        self.limit = ctx.config.max_body_bytes
        self.document_bytes = _encoder.encode(staff_openapi.document(ctx.catalogue))
        self.resources: list[_Resource] = []
        endpoints = _endpoints(ctx)
        by_path: dict[str, _Resource] = {}
        for operation in staff_schema.OPERATIONS:
            endpoint, rules = endpoints.pop(operation.key)
            resource = by_path.get(operation.path)
            if resource is None:
                resource = by_path[operation.path] = _Resource(operation.path)
                self.resources.append(resource)
            resource.methods[operation.method] = _Bound(operation, endpoint, rules)
        if endpoints:
            raise RuntimeError(f"staff API endpoints without a declaration: {sorted(endpoints)}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id = _request_id()
        logs.REQUEST_ID.set(request_id)
        request = Request(scope, receive, send)
        outcome = _Outcome()
        response = await self.respond(request, request_id, outcome)
        self.observer.record(
            "staff",
            outcome.operation,
            response.status_code,
            outcome.error,
            time.perf_counter() - started,
        )
        await response(scope, receive, send)

    def _find(self, path: str) -> tuple[_Resource, dict[str, str]] | None:
        segments = path[len(PREFIX) :].strip("/").split("/") if path != PREFIX else [""]
        for resource in self.resources:
            params = resource.match(segments)
            if params is not None:
                return resource, params
        return None

    async def respond(self, request: Request, request_id: str, outcome: _Outcome) -> Response:
        method = request.method.lower()
        path: str = request.scope["path"]
        if path == f"{PREFIX}/openapi.json":
            outcome.operation = "GET /openapi.json"
            if method not in ("get", "head"):
                outcome.error = "method_not_allowed"
                return self._not_allowed(request, "GET, HEAD", request_id)
            return Response(
                self.document_bytes,
                media_type=JSON,
                headers={"cache-control": "no-store", "x-request-id": request_id},
            )
        found = self._find(path)
        if found is None:
            outcome.error = "not_found"
            error = StaffError(404, "not_found", f"no staff API route {request.method} {path}")
            return _error(error, request_id)
        resource, path_params = found
        bound = resource.methods.get("get" if method == "head" else method)
        if bound is None:
            outcome.error = "method_not_allowed"
            return self._not_allowed(request, resource.allow, request_id)
        outcome.operation = f"{bound.operation.method.upper()} {bound.operation.path}"
        try:
            actor = await ops.authenticate(
                self.ctx, request.headers.get("authorization"), list(request.query_params)
            )
            body: Any = None
            operation = bound.operation
            if operation.body:
                body = await _raw_body(request, self.limit, operation.body_required)
                check_body(body, operation.body, bound.rules, path_params, operation.body_code)
            if operation.query is not None:
                params = _params(request)
                query = operation.query
                check_query(params, query, lambda: _query_rules(self.ctx, actor, query, params))
            result = await bound.endpoint(request, actor, path_params, body)
            return _json(200, result, request_id)
        except StaffError as error:
            outcome.error = error.code
            return _error(error, request_id)
        except ClientDisconnect:
            outcome.error = "client_disconnect"
            return Response(status_code=400)
        except StoreUnavailable as exc:
            log.warning("the store is unavailable: %s", exc)
            outcome.error = "service_unavailable"
            response = _json(
                503,
                {
                    "error": {
                        "code": "service_unavailable",
                        "message": "the service is temporarily unavailable; try again later",
                    }
                },
                request_id,
            )
            response.headers["retry-after"] = "1"
            return response
        except Exception:
            outcome.error = "internal_error"
            log.exception("internal error in staff API request %s", request_id)
            return _json(
                500,
                {
                    "error": {
                        "code": "internal_error",
                        "message": f"an internal error occurred (request id {request_id})",
                    }
                },
                request_id,
            )

    def _not_allowed(self, request: Request, allow: str, request_id: str) -> Response:
        error = StaffError(
            405,
            "method_not_allowed",
            f"{request.method} is not a method of {request.scope['path']} (allowed: {allow})",
        )
        response = _error(error, request_id)
        response.headers["allow"] = allow
        return response


def _query_rules(
    ctx: Context, actor: StaffMember, shape: type[msgspec.Struct], params: dict[str, list[str]]
) -> None:
    """The query's own rules (operations.staff), for their specific error codes."""
    if shape is staff_schema.SearchQuery:
        ops.search_query(params)
    else:
        ops.case_query(ctx, actor, params)


def _name(path: Mapping[str, str], actor: StaffMember) -> str:
    """A staff member named in the path; `me` is the caller."""
    return actor.name if path["name"] == "me" else path["name"]


def _endpoints(ctx: Context) -> dict[tuple[str, str], tuple[Endpoint, BodyRules]]:
    """Each declared operation's handler, and its body's rules."""

    async def me(request: Request, actor: StaffMember, _: Mapping[str, str], __: Any) -> Any:
        return {"staff": ops.staff_shape(actor)}

    async def list_cases(
        request: Request, actor: StaffMember, _: Mapping[str, str], __: Any
    ) -> dict[str, Any]:
        return await ops.list_cases(ctx, actor, _params(request))

    async def search(
        request: Request, actor: StaffMember, _: Mapping[str, str], __: Any
    ) -> dict[str, Any]:
        return await ops.search_cases(ctx, actor, _params(request))

    async def show(
        request: Request, actor: StaffMember, path: Mapping[str, str], _: Any
    ) -> dict[str, Any]:
        return await ops.show_case(ctx, actor, path["case"])

    async def deliveries(
        request: Request, actor: StaffMember, path: Mapping[str, str], _: Any
    ) -> dict[str, Any]:
        # What the case's notifications sent to whom (operations.notifications).
        found = await ops.find_case(ctx, path["case"])
        return await notifications.case_deliveries(ctx, found.case)

    def case_action(action: ops.CaseAction) -> tuple[Endpoint, BodyRules]:
        async def act(
            request: Request, actor: StaffMember, path: Mapping[str, str], body: Any
        ) -> dict[str, Any]:
            return await action(ctx, actor, path["case"], body)

        return act, lambda path, body: action.fields(body)

    async def list_staff(
        request: Request, actor: StaffMember, _: Mapping[str, str], __: Any
    ) -> dict[str, Any]:
        return await ops.list_staff(ctx, actor)

    async def create_staff(
        request: Request, actor: StaffMember, _: Mapping[str, str], body: Any
    ) -> dict[str, Any]:
        return await ops.create_staff(ctx, actor, body)

    def set_active(active: bool) -> Endpoint:
        async def run(
            request: Request, actor: StaffMember, path: Mapping[str, str], _: Any
        ) -> dict[str, Any]:
            return await ops.set_staff_active(ctx, actor, path["name"], active)

        return run

    async def list_tokens(
        request: Request, actor: StaffMember, path: Mapping[str, str], _: Any
    ) -> dict[str, Any]:
        return await ops.list_tokens(ctx, actor, _name(path, actor))

    async def create_token(
        request: Request, actor: StaffMember, path: Mapping[str, str], _: Any
    ) -> dict[str, Any]:
        return await ops.create_token(ctx, actor, _name(path, actor))

    async def revoke_token(
        request: Request, actor: StaffMember, path: Mapping[str, str], _: Any
    ) -> dict[str, Any]:
        return await ops.revoke_token(ctx, actor, path["token"])

    def advisor_action(operation: Callable[..., Awaitable[dict[str, Any]]]) -> Endpoint:
        """Trusted Advisor results of an account (operations.advisor, shared with
        `supportd advisor`): any staff member may seed, read or clear them."""

        async def act(
            request: Request, actor: StaffMember, path: Mapping[str, str], body: Any
        ) -> dict[str, Any]:
            args = (body,) if body is not None else ()
            try:
                return await operation(ctx, path["account"], path["check"], *args)
            except advisor.SeedRefused as refused:
                raise StaffError(refused.status, refused.code, refused.message) from None

        return act

    def seed_rules(path: Mapping[str, str], body: dict[str, Any]) -> None:
        try:
            advisor.seeded_result(
                ctx.advisor_checks, path["account"], path["check"], body, ctx.clock.now_ms()
            )
        except advisor.SeedRefused as refused:
            raise StaffError(refused.status, refused.code, refused.message) from None

    def rules(check: Callable[[dict[str, Any]], object]) -> BodyRules:
        return lambda path, body: check(body)

    case = staff_schema.CASE
    result = staff_schema.ADVISOR
    return {
        ("get", "/me"): (me, _no_rules),
        ("get", "/cases"): (list_cases, _no_rules),
        ("get", "/search"): (search, _no_rules),
        ("get", case): (show, _no_rules),
        ("get", f"{case}/deliveries"): (deliveries, _no_rules),
        ("post", f"{case}/reply"): case_action(ops.reply),
        ("post", f"{case}/notes"): case_action(ops.add_note),
        ("post", f"{case}/assign"): case_action(ops.assign),
        ("post", f"{case}/status"): case_action(ops.set_status),
        ("post", f"{case}/resolve"): case_action(ops.resolve),
        ("get", "/staff"): (list_staff, _no_rules),
        ("post", "/staff"): (create_staff, rules(ops.new_staff_input)),
        ("post", "/staff/{name}/disable"): (set_active(False), _no_rules),
        ("post", "/staff/{name}/enable"): (set_active(True), _no_rules),
        ("get", "/staff/{name}/tokens"): (list_tokens, _no_rules),
        ("post", "/staff/{name}/tokens"): (create_token, _no_rules),
        ("post", "/tokens/{token}/revoke"): (revoke_token, _no_rules),
        ("get", result): (advisor_action(advisor.show_result), _no_rules),
        ("put", result): (advisor_action(advisor.set_result), seed_rules),
        ("delete", result): (advisor_action(advisor.clear_result), _no_rules),
    }
