"""The staff HTTP API under /staff/api/: JSON in and out, bearer tokens.

A thin layer: it authenticates the token, turns the request into plain values, calls
operations.staff and writes the result (or the StaffError) as JSON. The OpenAPI
description of every route is served at /staff/api/openapi.json (supportd.staff_openapi).
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from supportd import staff_openapi
from supportd.domain.staff import StaffMember
from supportd.operations import advisor, notifications
from supportd.operations import staff as ops
from supportd.operations.context import Context
from supportd.operations.staff import StaffError

log = logging.getLogger("supportd.staff_api")

PREFIX = "/staff/api"
JSON = "application/json"
_encoder = msgspec.json.Encoder()

# (request, acting staff member, path parameters) -> JSON-ready result
Endpoint = Callable[[Request, StaffMember, Mapping[str, str]], Awaitable[dict[str, Any]]]


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


async def _body(request: Request, limit: int) -> dict[str, Any]:
    """The request's JSON object (an empty body is an empty object)."""
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
        return {}
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise StaffError(400, "invalid_json", "the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise StaffError(400, "invalid_json", "the request body must be a JSON object")
    return value


def _name(path: Mapping[str, str], actor: StaffMember) -> str:
    """A staff member named in the path; `me` is the caller."""
    return actor.name if path["name"] == "me" else path["name"]


def routes(ctx: Context) -> list[Route]:
    limit = ctx.config.max_body_bytes

    def endpoint(handler: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            request_id = str(uuid.UUID(int=random.getrandbits(128), version=4))
            try:
                actor = await ops.authenticate(
                    ctx, request.headers.get("authorization"), list(request.query_params)
                )
                result = await handler(request, actor, request.path_params)
                return _json(200, result, request_id)
            except StaffError as error:
                return _error(error, request_id)
            except ClientDisconnect:
                return Response(status_code=400)
            except Exception:
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

        return run

    async def me(request: Request, actor: StaffMember, _: Mapping[str, str]) -> dict[str, Any]:
        return {"staff": ops.staff_shape(actor)}

    async def list_cases(
        request: Request, actor: StaffMember, _: Mapping[str, str]
    ) -> dict[str, Any]:
        return await ops.list_cases(ctx, actor, _params(request))

    async def search(request: Request, actor: StaffMember, _: Mapping[str, str]) -> dict[str, Any]:
        return await ops.search_cases(ctx, actor, _params(request))

    async def show(request: Request, actor: StaffMember, path: Mapping[str, str]) -> dict[str, Any]:
        return await ops.show_case(ctx, actor, path["case"])

    def case_action(
        operation: Callable[..., Awaitable[dict[str, Any]]],
    ) -> Endpoint:
        async def act(
            request: Request, actor: StaffMember, path: Mapping[str, str]
        ) -> dict[str, Any]:
            body = await _body(request, limit)
            return await operation(ctx, actor, path["case"], body)

        return act

    async def list_staff(
        request: Request, actor: StaffMember, _: Mapping[str, str]
    ) -> dict[str, Any]:
        return await ops.list_staff(ctx, actor)

    async def create_staff(
        request: Request, actor: StaffMember, _: Mapping[str, str]
    ) -> dict[str, Any]:
        return await ops.create_staff(ctx, actor, await _body(request, limit))

    def set_active(active: bool) -> Endpoint:
        async def run(
            request: Request, actor: StaffMember, path: Mapping[str, str]
        ) -> dict[str, Any]:
            return await ops.set_staff_active(ctx, actor, path["name"], active)

        return run

    async def list_tokens(
        request: Request, actor: StaffMember, path: Mapping[str, str]
    ) -> dict[str, Any]:
        return await ops.list_tokens(ctx, actor, _name(path, actor))

    async def create_token(
        request: Request, actor: StaffMember, path: Mapping[str, str]
    ) -> dict[str, Any]:
        return await ops.create_token(ctx, actor, _name(path, actor))

    async def revoke_token(
        request: Request, actor: StaffMember, path: Mapping[str, str]
    ) -> dict[str, Any]:
        return await ops.revoke_token(ctx, actor, path["token"])

    def advisor_action(
        operation: Callable[..., Awaitable[dict[str, Any]]], with_body: bool = False
    ) -> Endpoint:
        """Trusted Advisor results of an account (operations.advisor, shared with
        `supportd advisor`): any staff member may seed, read or clear them."""

        async def act(
            request: Request, actor: StaffMember, path: Mapping[str, str]
        ) -> dict[str, Any]:
            args = (await _body(request, limit),) if with_body else ()
            try:
                return await operation(ctx, path["account"], path["check"], *args)
            except advisor.SeedRefused as refused:
                raise StaffError(refused.status, refused.code, refused.message) from None

        return act

    async def deliveries(
        request: Request, actor: StaffMember, path: Mapping[str, str]
    ) -> dict[str, Any]:
        # What the case's notifications sent to whom (operations.notifications).
        found = await ops.find_case(ctx, path["case"])
        return await notifications.case_deliveries(ctx, found.case)

    async def openapi(request: Request) -> Response:
        return _json(200, staff_openapi.document(), "-")

    async def not_found(request: Request) -> Response:
        error = StaffError(
            404, "not_found", f"no staff API route {request.method} {request.url.path}"
        )
        return _error(error, "-")

    case = "/cases/{case}"
    result = "/advisor/{account}/{check}"
    return [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/me", endpoint(me), methods=["GET"]),
        Route("/cases", endpoint(list_cases), methods=["GET"]),
        Route("/search", endpoint(search), methods=["GET"]),
        Route(case, endpoint(show), methods=["GET"]),
        Route(f"{case}/reply", endpoint(case_action(ops.reply)), methods=["POST"]),
        Route(f"{case}/notes", endpoint(case_action(ops.add_note)), methods=["POST"]),
        Route(f"{case}/assign", endpoint(case_action(ops.assign)), methods=["POST"]),
        Route(f"{case}/status", endpoint(case_action(ops.set_status)), methods=["POST"]),
        Route(f"{case}/resolve", endpoint(case_action(ops.resolve)), methods=["POST"]),
        Route(f"{case}/deliveries", endpoint(deliveries), methods=["GET"]),
        Route("/staff", endpoint(list_staff), methods=["GET"]),
        Route("/staff", endpoint(create_staff), methods=["POST"]),
        Route("/staff/{name}/disable", endpoint(set_active(False)), methods=["POST"]),
        Route("/staff/{name}/enable", endpoint(set_active(True)), methods=["POST"]),
        Route("/staff/{name}/tokens", endpoint(list_tokens), methods=["GET"]),
        Route("/staff/{name}/tokens", endpoint(create_token), methods=["POST"]),
        Route("/tokens/{token}/revoke", endpoint(revoke_token), methods=["POST"]),
        Route(result, endpoint(advisor_action(advisor.show_result)), methods=["GET"]),
        Route(result, endpoint(advisor_action(advisor.set_result, True)), methods=["PUT"]),
        Route(result, endpoint(advisor_action(advisor.clear_result)), methods=["DELETE"]),
        Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
    ]


def mount(ctx: Context) -> Mount:
    """The staff API, for the app's route list."""
    return Mount(PREFIX, routes=routes(ctx))
