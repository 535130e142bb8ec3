"""The ASGI app: one pipeline from HTTP request to operation handler and back.

request id -> operation from X-Amz-Target -> body size limit -> authentication (open
or SigV4) -> plan and TPS limits -> JSON decode and model validation -> handler ->
JSON 1.1 response -> one audit row. Errors raised at any step become AWS-shaped error
responses in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from supportd import api_errors, logs, runtime, web
from supportd import config as config_module
from supportd.config import Config
from supportd.domain import clock, notifications
from supportd.domain.accounts import AuditEntry
from supportd.http import attachment_links, observe, protocol, staff_api
from supportd.notifications.inbound import start_listener
from supportd.notifications.process import BESIDE_ENV, delivery
from supportd.operations import access, attachments
from supportd.operations.advisor_providers import load_providers
from supportd.operations.background import JOB_KINDS, PERIODIC
from supportd.operations.context import Context
from supportd.operations.registry import HANDLERS
from supportd.reference import advisor as advisor_reference
from supportd.reference import catalogue
from supportd.security.auth import (
    Authenticator,
    Caller,
    IncomingRequest,
    OpenAuthenticator,
    SigV4Authenticator,
)
from supportd.storage.base import Store, StoreUnavailable
from supportd.worker import Worker

log = logging.getLogger("supportd")

# Operations whose bodies carry file data get the larger limit.
FILE_OPERATIONS = frozenset({"AddAttachmentsToSet"})
# How long a large body waits for a slot (LargeBodies) before ThrottlingException.
LARGE_BODY_WAIT_S = 2.0


class ExposureError(ValueError):
    """A configuration that must not serve (config.exposure_problem)."""


_UUID_VARIANT = "89ab"  # the first hex digit of a UUID's fourth group: variant bits 10


def _request_id() -> str:
    """A random (version 4) UUID, formatted here (uuid.UUID costs twice as much).

    Request ids need not be unguessable, so they come from `random`, not os.urandom:
    os.urandom releases the GIL, which hands it to the store's writer thread in the
    middle of every request (measured: about 15 us of CPU per request, bench/README.md).
    """
    h = "%032x" % random.getrandbits(128)  # noqa: UP031 (the fastest way to 32 hex digits)
    variant = _UUID_VARIANT[random.getrandbits(2)]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


class _App(Starlette):
    """Starlette, with the API itself (POST /) served past the middleware and routing.

    Those layers do nothing for POST /: the handler turns every exception into an AWS
    error response itself. Skipping them (with `_request_id`) cuts the server's CPU time
    per CreateCase by about a sixth (bench/README.md). Everything else, lifespan
    included, goes through Starlette.
    """

    def __init__(
        self,
        api: Callable[[Request], Awaitable[ApiResponse]],
        staff: staff_api.StaffApi,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._api = api
        self._staff = staff

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == "/"
            and not scope.get("root_path")
        ):
            scope["app"] = self
            response = await self._api(Request(scope, receive, send))
            await response(scope, receive, send)
            return
        if scope["type"] == "http" and (
            scope["path"] == staff_api.PREFIX or scope["path"].startswith(staff_api.PREFIX + "/")
        ):
            # The staff API routes every path below its prefix itself (JSON answers only).
            scope["app"] = self
            await self._staff(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


_CONTENT_TYPE = (b"content-type", protocol.CONTENT_TYPE.encode())


class ApiResponse:
    """An API answer as two ASGI messages: what Starlette's Response sends for it (the
    same headers, in the same order), without building a Response per request."""

    __slots__ = ("body", "headers", "status_code")

    def __init__(self, status_code: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code = status_code
        self.body = body
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.headers}
        )
        await send({"type": "http.response.body", "body": self.body})


def _response(
    status: int, body: bytes, request_id: str, error_code: str | None = None
) -> ApiResponse:
    headers = [(b"x-amzn-requestid", request_id.encode())]
    if error_code is not None:
        headers.append((b"x-amzn-errortype", error_code.encode()))
    headers.append((b"content-length", str(len(body)).encode()))
    headers.append(_CONTENT_TYPE)
    return ApiResponse(status, body, headers)


def _declared_length(declared: str | None, limit: int) -> int | None:
    """The Content-Length, refused at once when it is not a number or over the limit
    (nothing of the body is read for that)."""
    if declared is None:
        return None
    if not (declared.isascii() and declared.isdigit()):
        raise api_errors.SerializationException("Invalid Content-Length header.")
    if int(declared) > limit:
        raise _too_large(limit)
    return int(declared)


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The body, from the ASGI messages themselves (Starlette's request.stream() is an
    async generator: a few microseconds more per request)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class LargeBodies:
    """At most `limit` bodies larger than the ordinary limit (AddAttachmentsToSet's,
    up to 25 MB each) being read and handled at once in this process. A request that
    finds every slot taken waits up to `wait_s`, then gets ThrottlingException, which
    SDKs retry with backoff."""

    def __init__(self, limit: int, wait_s: float = LARGE_BODY_WAIT_S) -> None:
        self._slots = asyncio.Semaphore(limit)
        self.wait_s = wait_s

    async def acquire(self) -> None:
        try:
            await asyncio.wait_for(self._slots.acquire(), self.wait_s)
        except TimeoutError:
            raise api_errors.ThrottlingException(
                "Too many large requests are being received at once; retry later."
            ) from None

    def release(self) -> None:
        self._slots.release()


def _too_large(limit: int) -> api_errors.ApiError:
    return api_errors.RequestEntityTooLargeException(
        f"Request body is larger than the limit of {limit} bytes."
    )


def create_app(
    config: Config,
    store: Store,
    authenticate: Authenticator | None = None,
    *,
    delivery_beside: bool = False,
) -> Starlette:
    """The whole server. delivery_beside: this node's notifications are delivered by a
    process beside this one (serve's), with these settings' channels."""
    # Here, not only in `supportd serve`: every way of starting the app (uvicorn's
    # factory, an embedding program, tests) refuses open mode on a network address.
    exposed = config_module.exposure_problem(config)
    if exposed:
        raise ExposureError(exposed)
    model = protocol.load_model()
    advisor_checks = advisor_reference.load(config.advisor_checks_file)
    context = Context(
        clock=runtime.open_clock(config),
        config=config,
        catalogue=catalogue.load(config.reference_dir),
        store=store,
        advisor_checks=advisor_checks,
        advisor_providers=load_providers(advisor_checks),
    )
    store.events_need_a_webhook = notifications.events_need_a_webhook(
        delivers_here=delivery_beside or (config.background_worker and config.notify_worker),
        email=bool(config.smtp_url),
        eventbridge=bool(config.eventbridge_bus),
    )
    authenticate = authenticate or make_authenticator(config, store)
    gate = access.Gate()
    large_bodies = LargeBodies(config.max_large_bodies)
    observer = observe.Observer(config.slow_request_ms)

    async def api(request: Request) -> ApiResponse:
        started = time.perf_counter()
        request_id = _request_id()
        logs.REQUEST_ID.set(request_id)
        at_ms = clock.now_ms()
        caller = Caller()
        operation: protocol.Operation | None = None
        not_found: api_errors.ApiError | None = None
        error_code: str | None = None
        # A large body's slot is held until the answer is made (the body is in memory
        # until then).
        holding = False
        limit = config.max_body_bytes
        large = False

        async def read_body() -> bytes:
            # Called by the authenticator once the caller is known (SigV4: after the
            # header, the date and the key), or after authentication (open mode).
            nonlocal holding
            if large:
                await large_bodies.acquire()
                holding = True
            return await _read_body(request.receive, limit)

        incoming = _incoming(request, read_body)
        target = incoming.header("x-amz-target")
        try:
            try:
                operation = protocol.operation_for_target(model, target)
            except api_errors.ApiError as unknown:
                # Answered after authentication: who may not call cannot probe either.
                not_found = unknown
            limit = (
                config.max_attachment_body_bytes
                if operation is not None and operation.name in FILE_OPERATIONS
                else config.max_body_bytes
            )
            declared = _declared_length(incoming.header("content-length"), limit)
            large = limit > config.max_body_bytes and (
                declared is None or declared > config.max_body_bytes
            )
            principal = await authenticate(incoming, caller)
            raw = await incoming.body()
            if operation is None:
                raise not_found or api_errors.UnknownOperationException("Unknown operation.")
            gate.check(principal, operation.name)  # plan, then TPS limits
            handler = HANDLERS.get(operation.name)
            if handler is None:
                raise api_errors.UnknownOperationException(
                    f"Operation {operation.name} is not implemented by this version of supportd."
                )
            params = protocol.parse_input(model, operation, protocol.decode_body(raw))
            if operation.name in attachments.LINK_OPERATIONS:
                attachments.REQUEST_BASE_URL.set(attachment_links.request_base_url(request))
            result = await handler(context, principal, params)
            response = _response(200, protocol.encode_result(result), request_id)
        except api_errors.ApiError as error:
            error_code = error.code
            response = _response(error.status, protocol.encode_error(error), request_id, error.code)
        except ClientDisconnect:
            error_code = "ClientDisconnect"
            response = ApiResponse(400, b"", [(b"content-length", b"0")])
        except StoreUnavailable as exc:
            log.warning("the store is unavailable: %s", exc)
            unavailable = api_errors.ServiceUnavailable(
                "The service is temporarily unavailable. Please try again later."
            )
            error_code = unavailable.code
            response = _response(
                503, protocol.encode_error(unavailable), request_id, unavailable.code
            )
            response.headers.append((b"retry-after", b"1"))
        except Exception:
            # The details go to the log with the request id, never to the client.
            log.exception("internal error in request %s", request_id)
            fault = api_errors.InternalServerError(
                f"An internal error occurred. Request ID: {request_id}"
            )
            error_code = fault.code
            response = _response(500, protocol.encode_error(fault), request_id, fault.code)
        finally:
            if holding:
                large_bodies.release()
        _audit(
            store,
            request,
            incoming,
            request_id,
            at_ms,
            caller,
            operation,
            target,
            response,
            error_code,
        )
        observer.record(
            "aws",
            operation.name if operation is not None else "unknown",
            response.status_code,
            error_code,
            time.perf_counter() - started,
        )
        return response

    async def not_api(request: Request) -> ApiResponse:
        error = api_errors.UnknownOperationException(
            "Send AWS Support API requests as POST / with an X-Amz-Target header."
        )
        return _response(404, protocol.encode_error(error), _request_id(), error.code)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        worker = Worker(context, JOB_KINDS, PERIODIC, config.worker_poll_ms / 1000)
        dispatcher, notifier = delivery(context)
        if config.background_worker:
            worker.start()
            if config.notify_worker:
                notifier.start()
        inbound = None
        if config.inbound_smtp_port:
            inbound = await start_listener(context, lambda: attachments.link_key(config))
        try:
            async with observe.sampling(store):
                yield
        finally:
            if inbound is not None:
                inbound.close()
            await notifier.stop()
            await worker.stop()
            await dispatcher.close()
            await store.close()

    monitoring = observe.routes(context)

    app = _App(
        api,
        staff_api.StaffApi(context, observer),
        routes=[
            Route("/", api, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", monitoring["readyz"], methods=["GET"]),
            *(
                [Route("/metrics", monitoring["metrics"], methods=["GET"])]
                if config.metrics
                else []
            ),
            *attachment_links.routes(context, observer),
            *web.routes(context),  # the Support Center's pages (supportd.web)
            Route(
                "/{path:path}", not_api, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
            ),
        ],
        lifespan=lifespan,
    )
    # A path no route's pattern matches (one holding a newline, say) gets the AWS error
    # too, not Starlette's plain-text 404.
    app.router.default = _asgi(not_api)
    return app


def _asgi(
    endpoint: Callable[[Request], Awaitable[ApiResponse]],
) -> Callable[..., Awaitable[None]]:
    async def run(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        response = await endpoint(Request(scope, receive, send))
        await response(scope, receive, send)

    return run


def make_authenticator(config: Config, store: Store) -> Authenticator:
    profile = access.limits_profile(config)
    cache_s = config.auth_cache_ms / 1000
    if config.auth == "sigv4":
        return SigV4Authenticator(
            store.get_credential,
            runtime.open_secret_box(config),
            profile,
            cache_s=cache_s,
            regions=config.regions,
        )
    return OpenAuthenticator(
        config.default_account,
        config.account_email_domain,
        store.get_account,
        profile,
        cache_s=cache_s,
        loopback_only=config_module.open_loopback_only(config),
    )


def _incoming(request: Request, body: Callable[[], Awaitable[bytes]]) -> IncomingRequest:
    scope = request.scope
    raw_path = scope.get("raw_path")
    server = scope.get("server")
    return IncomingRequest(
        method=scope["method"],
        path=raw_path.decode("latin-1") if raw_path else scope["path"],
        query=scope.get("query_string", b"").decode("latin-1"),
        raw_headers=scope["headers"],
        body=body,
        # A TCP socket's (host, port); a Unix socket's (path, None) is local anyway.
        local_address=server[0] if server and server[1] is not None else None,
    )


def _audit(
    store: Store,
    request: Request,
    incoming: IncomingRequest,
    request_id: str,
    at_ms: int,
    caller: Caller,
    operation: protocol.Operation | None,
    target: str | None,
    response: ApiResponse,
    error_code: str | None,
) -> None:
    """One audit row per API call, failed authentication included: who (as far as it
    is known), what, from where, and how it ended. Never bodies, messages or secrets."""
    try:
        store.record_audit(
            AuditEntry(
                at_ms=at_ms,
                request_id=request_id,
                account_id=caller.account_id,
                access_key_id=caller.access_key_id,
                caller=caller.name,
                operation=operation.name if operation is not None else (target or "")[:128],
                source_ip=_client_host(request.scope),
                user_agent=(incoming.header("user-agent") or "")[:256],
                http_status=response.status_code,
                error_code=error_code,
            )
        )
    except Exception:
        log.exception("audit row of request %s not recorded", request_id)


def _client_host(scope: Scope) -> Any:
    # What request.client.host gives, without the Address tuple it makes at each access.
    client = scope.get("client")
    return client[0] if client is not None else ""


def app_from_environment() -> Any:
    """uvicorn's factory in each worker process: settings arrive as SUPPORTD_* variables."""
    config = config_module.from_environ()
    beside = os.environ.get(BESIDE_ENV) == "1"
    return create_app(config, runtime.open_store(config), delivery_beside=beside)
