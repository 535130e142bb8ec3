"""The presigned attachment links, served by supportd itself.

`PUT /attachments/uploads/<uploadId>/parts/<n>?X-Supportd-Expires=..&X-Supportd-Signature=..`
takes one part of a large-file upload, streamed to the blob store; `GET
/attachments/<attachmentId>?...` streams an attachment back. These links stand in for
the S3 links AWS hands out, so they answer like S3: an `ETag` header on a stored part,
and errors as S3's XML (`<Error><Code>SignatureDoesNotMatch</Code>...`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from supportd import logs
from supportd.domain import presign
from supportd.domain.hosts import parse_host
from supportd.http.observe import Observer
from supportd.operations import attachments
from supportd.operations.attachments import LinkRefused
from supportd.operations.context import Context
from supportd.storage.base import StoreUnavailable

log = logging.getLogger("supportd.attachments")


def request_base_url(request: Request) -> str:
    """scheme://host of the request (as the client addressed this server)."""
    host = request.headers.get("host", "")
    if parse_host(host) is None:
        server = request.scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{request.url.scheme}://{host}"


INTERNAL = "We encountered an internal error. Please try again."
UNAVAILABLE = "Please reduce your request rate."  # S3's words for its 503


def _xml_error(status: int, code: str, message: str, request_id: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{request_id}</RequestId></Error>"
    )
    return Response(
        body,
        status_code=status,
        media_type="application/xml",
        headers={"x-amz-request-id": request_id},
    )


def content_disposition(file_name: str) -> str:
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in file_name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def _check_link(ctx: Context, request: Request, method: str, path: str) -> None:
    """LinkRefused unless the request's query signs this method and path, unexpired."""
    query = request.query_params
    expires, signature = query.get(presign.EXPIRES), query.get(presign.SIGNATURE)
    attachments.check_link(ctx, method, path, expires, signature)


def _observed(
    observer: Observer, operation: str, endpoint: Callable[[Request, str], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        logs.REQUEST_ID.set(request_id)
        response = await endpoint(request, request_id)
        error = getattr(request.state, "error", None)
        observer.record(
            "links", operation, response.status_code, error, time.perf_counter() - started
        )
        return response

    return run


def _failed(request: Request, request_id: str, exc: Exception, what: str) -> Response:
    """The answer to a link request that failed (`what`: "part upload", "download"),
    and its error code for the metrics."""
    if isinstance(exc, LinkRefused):
        request.state.error = exc.code
        return _xml_error(exc.status, exc.code, exc.message, request_id)
    if isinstance(exc, ClientDisconnect):  # only while a request body is read
        request.state.error = "ClientDisconnect"
        return Response(status_code=400)
    if isinstance(exc, StoreUnavailable):
        log.warning("%s: the store is unavailable: %s", what, exc)
        request.state.error = "ServiceUnavailable"
        return _xml_error(503, "ServiceUnavailable", UNAVAILABLE, request_id)
    request.state.error = "InternalError"
    log.error("%s failed (request %s)", what, request_id, exc_info=exc)
    return _xml_error(500, "InternalError", INTERNAL, request_id)


def routes(ctx: Context, observer: Observer) -> list[Route]:
    async def put_part(request: Request, request_id: str) -> Response:
        upload_id: str = request.path_params["upload_id"]
        index: int = request.path_params["index"]
        try:
            _check_link(ctx, request, presign.UPLOAD_METHOD, presign.part_path(upload_id, index))
            etag = await attachments.receive_part(
                ctx, upload_id, index, request.headers.get("content-length"), request.stream()
            )
        except Exception as exc:
            return _failed(request, request_id, exc, "part upload")
        return Response(
            status_code=200, headers={"ETag": f'"{etag}"', "x-amz-request-id": request_id}
        )

    async def get_attachment(request: Request, request_id: str) -> Response:
        attachment_id: str = request.path_params["attachment_id"]
        try:
            path = presign.download_path(attachment_id)
            _check_link(ctx, request, presign.DOWNLOAD_METHOD, path)
            download = await attachments.open_download(ctx, attachment_id)
        except Exception as exc:
            return _failed(request, request_id, exc, "download")
        headers: dict[str, Any] = {
            "Content-Length": str(download.size_bytes),
            "Content-Disposition": content_disposition(download.file_name),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "x-amz-request-id": request_id,
        }
        if request.method == "HEAD":
            await download.close()
            return Response(headers=headers, media_type="application/octet-stream")
        return StreamingResponse(
            download.stream(), headers=headers, media_type="application/octet-stream"
        )

    return [
        Route(
            "/attachments/uploads/{upload_id}/parts/{index:int}",
            _observed(observer, "PutPart", put_part),
            methods=["PUT"],
        ),
        Route(
            "/attachments/{attachment_id}",
            _observed(observer, "GetAttachment", get_attachment),
            methods=["GET"],
        ),
    ]
