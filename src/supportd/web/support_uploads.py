"""Large files from the Support Center: what supportd.js needs to send a file over the
attachment-set limit (5 MB) through the API's large-upload links, then name the upload
in the Create case or reply form (hidden field `upload_ids`).

The script asks these same-origin endpoints (each a form post with the session's CSRF
token, or a read) and they run the API's operations as the signed-in user:

- POST /support/uploads (file_name, size; or upload_id, start for the next links):
  GetAttachmentUploadLinks; the answer's links are the API's presigned part links;
- POST /support/uploads/{upload_id}/complete (etag, once per part in order):
  CompleteAttachmentUpload;
- GET /support/uploads/{upload_id}: DescribeAttachmentUploadStatus (the script waits for
  `attachment-ready`).

Answers are JSON: the operation's result, or {"message": ...} worded for a person with
the API's status. Another account's upload is not found, as everywhere.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supportd import api_errors
from supportd.web import forms
from supportd.web.site import Site, json_response
from supportd.web.support_site import Signed, form, page

MAX_PARTS_FIELDS = 40  # the form reader's field limit (50) less the other fields


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 15 else None


def too_large_message(size: int, max_bytes: int) -> str:
    return (
        f"The file has {size:,} bytes; a file may have at most {max_bytes / 1_048_576:g} MB "
        f"({max_bytes:,} bytes). Attach a smaller file."
    )


def routes(site: Site) -> list[Route]:
    ctx = site.ctx
    config = ctx.config

    async def run(
        request: Request, signed: Signed, operation: str, body: dict[str, Any]
    ) -> Response:
        try:
            found = await site.invoke(request, signed.principal, signed.caller, operation, body)
        except api_errors.ApiError as problem:
            status = 404 if problem.code == "UploadIdNotFound" else problem.status
            return json_response(status, {"message": problem.message, "code": problem.code})
        return json_response(200, found)

    async def links(request: Request, signed: Signed, data: FormData) -> Response:
        name = forms.text(data, "file_name")
        upload_id = forms.text(data, "upload_id")
        if upload_id:
            start = _int(forms.text(data, "start")) or 1
            body: dict[str, Any] = {
                "fileName": name,
                "uploadId": upload_id,
                "uploadRange": {"startIndex": start},
            }
            return await run(request, signed, "GetAttachmentUploadLinks", body)
        size = _int(forms.text(data, "size"))
        if not name or size is None:
            return json_response(400, {"message": "Choose a file to upload."})
        if size > config.upload_max_bytes:
            return json_response(400, {"message": too_large_message(size, config.upload_max_bytes)})
        body = {"fileName": name, "fileSizeBytes": size}
        return await run(request, signed, "GetAttachmentUploadLinks", body)

    async def complete(request: Request, signed: Signed, data: FormData) -> Response:
        etags = [e for e in data.getlist("etag") if isinstance(e, str)][:MAX_PARTS_FIELDS]
        body = {
            "uploadId": request.path_params["upload_id"],
            "completedUploads": [
                {"partIndex": index, "eTag": etag} for index, etag in enumerate(etags, 1)
            ],
        }
        return await run(request, signed, "CompleteAttachmentUpload", body)

    async def status(request: Request, signed: Signed) -> Response:
        body = {"uploadId": request.path_params["upload_id"]}
        return await run(request, signed, "DescribeAttachmentUploadStatus", body)

    return [
        Route("/uploads", form(site, links), methods=["POST"]),
        Route("/uploads/{upload_id}/complete", form(site, complete), methods=["POST"]),
        Route("/uploads/{upload_id}", page(site, status), methods=["GET"]),
    ]
