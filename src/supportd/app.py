"""The ASGI app: one pipeline from HTTP request to operation handler and back.

request id -> operation from X-Amz-Target -> body size limit -> authentication (open
or SigV4) -> plan and TPS limits -> JSON decode and model validation -> handler ->
JSON 1.1 response -> one audit row. Errors raised at any step become AWS-shaped error
responses in one place.
"""

from __future__ import annotations

import contextlib
import logging
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from supportd import attachment_links, clocks, errors, protocol, staff_api
from supportd import config as config_module
from supportd.auth import (
    Authenticator,
    Caller,
    IncomingRequest,
    OpenAuthenticator,
    SigV4Authenticator,
)
from supportd.config import Config
from supportd.domain import clock
from supportd.domain.accounts import AuditEntry
from supportd.notifications.dispatcher import Dispatcher
from supportd.notifications.inbound import start_listener
from supportd.operations import access, attachments
from supportd.operations.advisor_providers import load_providers
from supportd.operations.background import JOB_KINDS, PERIODIC
from supportd.operations.context import Context
from supportd.operations.registry import HANDLERS
from supportd.reference import advisor as advisor_reference
from supportd.reference import catalogue
from supportd.secretbox import SecretBox, load_key
from supportd.storage.base import Store
from supportd.worker import PoolWorker, Worker

log = logging.getLogger("supportd")

# Operations whose bodies carry file data get the larger limit.
FILE_OPERATIONS = frozenset({"AddAttachmentsToSet"})


def _request_id() -> str:
    """A random (version 4) UUID.

    Request ids need not be unguessable, so they come from `random`, not os.urandom:
    os.urandom releases the GIL, which hands it to the store's writer thread in the
    middle of every request (measured: about 15 us of CPU per request, bench/README.md).
    """
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


class _App(Starlette):
    """Starlette, with the API itself (POST /) served past the middleware and routing.

    Those layers do nothing for POST /: the handler turns every exception into an AWS
    error response itself. Skipping them (with `_request_id`) cuts the server's CPU time
    per CreateCase by about a sixth (bench/README.md). Everything else, lifespan
    included, goes through Starlette.
    """

    def __init__(self, api: Callable[[Request], Awaitable[Response]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._api = api

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
        await super().__call__(scope, receive, send)


def _response(status: int, body: bytes, request_id: str, error_code: str | None = None) -> Response:
    headers = {"x-amzn-RequestId": request_id}
    if error_code is not None:
        headers["x-amzn-ErrorType"] = error_code
    return Response(body, status_code=status, headers=headers, media_type=protocol.CONTENT_TYPE)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise errors.SerializationException("Invalid Content-Length header.")
        if int(declared) > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> errors.ApiError:
    return errors.RequestEntityTooLargeException(
        f"Request body is larger than the limit of {limit} bytes."
    )


def create_app(
    config: Config, store: Store, authenticate: Authenticator | None = None
) -> Starlette:
    model = protocol.load_model()
    advisor_checks = advisor_reference.load(config.advisor_checks_file)
    context = Context(
        clock=clocks.from_setting(config.fake_clock_file),
        config=config,
        catalogue=catalogue.load(config.reference_dir),
        store=store,
        advisor_checks=advisor_checks,
        advisor_providers=load_providers(advisor_checks),
    )
    authenticate = authenticate or make_authenticator(config, store)
    gate = access.Gate()

    async def api(request: Request) -> Response:
        request_id = _request_id()
        at_ms = clock.now_ms()
        target = request.headers.get("x-amz-target")
        caller = Caller()
        operation: protocol.Operation | None = None
        not_found: errors.ApiError | None = None
        error_code: str | None = None
        try:
            try:
                operation = protocol.operation_for_target(model, target)
            except errors.ApiError as unknown:
                # Answered after authentication: who may not call cannot probe either.
                not_found = unknown
            limit = (
                config.max_attachment_body_bytes
                if operation is not None and operation.name in FILE_OPERATIONS
                else config.max_body_bytes
            )
            raw = await _read_body(request, limit)
            principal = await authenticate(_incoming(request, raw), caller)
            if operation is None:
                raise not_found or errors.UnknownOperationException("Unknown operation.")
            gate.check(principal, operation.name)  # plan, then TPS limits
            handler = HANDLERS.get(operation.name)
            if handler is None:
                raise errors.UnknownOperationException(
                    f"Operation {operation.name} is not implemented by this version of supportd."
                )
            params = protocol.parse_input(model, operation, protocol.decode_body(raw))
            if operation.name in attachments.LINK_OPERATIONS:
                attachments.REQUEST_BASE_URL.set(attachment_links.request_base_url(request))
            result = await handler(context, principal, params)
            response = _response(200, protocol.encode_result(result), request_id)
        except errors.ApiError as error:
            error_code = error.code
            response = _response(error.status, protocol.encode_error(error), request_id, error.code)
        except ClientDisconnect:
            error_code = "ClientDisconnect"
            response = Response(status_code=400)
        except Exception:
            # The details go to the log with the request id, never to the client.
            log.exception("internal error in request %s", request_id)
            fault = errors.InternalServerError(
                f"An internal error occurred. Request ID: {request_id}"
            )
            error_code = fault.code
            response = _response(500, protocol.encode_error(fault), request_id, fault.code)
        _audit(store, request, request_id, at_ms, caller, operation, target, response, error_code)
        return response

    async def not_api(request: Request) -> Response:
        error = errors.UnknownOperationException(
            "Send AWS Support API requests as POST / with an X-Amz-Target header."
        )
        return _response(404, protocol.encode_error(error), _request_id(), error.code)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        worker = Worker(context, JOB_KINDS, PERIODIC, config.worker_poll_ms / 1000)
        # Notifications wait on other servers: their own worker runs many at once.
        dispatcher = Dispatcher(
            context, lambda: open_secret_box(config), lambda: attachments.link_key(config)
        )
        notifier = PoolWorker(
            context,
            dispatcher.kinds(),
            dispatcher.periodic(),
            config.worker_poll_ms / 1000,
            config.notify_concurrency,
        )
        if config.background_worker:
            worker.start()
            if config.notify_worker:
                notifier.start()
        inbound = None
        if config.inbound_smtp_port:
            inbound = await start_listener(context, lambda: attachments.link_key(config))
        try:
            yield
        finally:
            if inbound is not None:
                inbound.close()
            await notifier.stop()
            await worker.stop()
            await dispatcher.close()
            await store.close()

    return _App(
        api,
        routes=[
            Route("/", api, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            staff_api.mount(context),
            *attachment_links.routes(context),
            Route(
                "/{path:path}", not_api, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
            ),
        ],
        lifespan=lifespan,
    )


def make_authenticator(config: Config, store: Store) -> Authenticator:
    profile = access.limits_profile(config)
    cache_s = config.auth_cache_ms / 1000
    if config.auth == "sigv4":
        return SigV4Authenticator(
            store.get_credential, open_secret_box(config), profile, cache_s=cache_s
        )
    return OpenAuthenticator(
        config.default_account,
        config.account_email_domain,
        store.get_account,
        profile,
        cache_s=cache_s,
    )


def _incoming(request: Request, body: bytes) -> IncomingRequest:
    scope = request.scope
    raw_path = scope.get("raw_path")
    return IncomingRequest(
        method=scope["method"],
        path=raw_path.decode("latin-1") if raw_path else scope["path"],
        query=scope.get("query_string", b"").decode("latin-1"),
        raw_headers=scope["headers"],
        body=body,
    )


def _audit(
    store: Store,
    request: Request,
    request_id: str,
    at_ms: int,
    caller: Caller,
    operation: protocol.Operation | None,
    target: str | None,
    response: Response,
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
                source_ip=request.client.host if request.client else "",
                user_agent=request.headers.get("user-agent", "")[:256],
                http_status=response.status_code,
                error_code=error_code,
            )
        )
    except Exception:
        log.exception("audit row of request %s not recorded", request_id)


def open_secret_box(config: Config) -> SecretBox:
    """The box for access keys' secrets. SQLite: the key file is made on first use in
    the data directory, next to the database. PostgreSQL: never made automatically."""
    return SecretBox(load_key(config.server_key, config.data_dir, create=not config.database_url))


def open_store(config: Config) -> Store:
    if config.database_url:
        from supportd.storage.postgres import PostgresStore

        return PostgresStore(
            config.database_url,
            pool_size=config.database_pool_size,
            statement_timeout_ms=config.database_statement_timeout_ms,
        )
    from supportd.storage.sqlite import SQLiteStore

    return SQLiteStore(config.sqlite_path)


def app_from_environment() -> Any:
    """uvicorn's factory in each worker process: settings arrive as SUPPORTD_* variables."""
    config = config_module.from_environ()
    return create_app(config, open_store(config))
