"""AddAttachmentsToSet, DescribeAttachment, GetAttachmentUploadLinks,
CompleteAttachmentUpload, DescribeAttachmentUploadStatus and GetAttachmentDownloadLink;
what CreateCase and AddCommunicationToCase need to attach files; what the presigned
links do once their HTTP requests arrive (supportd.http.attachment_links is the HTTP glue);
and the background work: assembling uploads, sweeping expired sets and abandoned uploads.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from supportd import api_errors
from supportd.config import Config
from supportd.domain import attachments as dom
from supportd.domain import clock, presign
from supportd.domain.attachments import (
    AttachmentClaim,
    AttachmentRecord,
    AttachmentSetRecord,
    NewAttachment,
    NewUpload,
    PartPlan,
    SetRules,
    UploadRecord,
    UploadRules,
)
from supportd.domain.errors import DomainError
from supportd.domain.jobs import Job
from supportd.domain.records import CommunicationRecord, Principal
from supportd.operations.background import register_job, register_periodic
from supportd.operations.context import Context, dry_run_check
from supportd.operations.refusal import Refused
from supportd.security.secretbox import load_key
from supportd.storage.blobs import BlobNotFound, read_all

log = logging.getLogger("supportd.attachments")

# The base URL (scheme://host) of the API request being served, for links when no
# public_url is configured; http/app.py sets it for the operations that hand out links.
REQUEST_BASE_URL: ContextVar[str] = ContextVar("supportd_request_base_url", default="")
LINK_OPERATIONS = frozenset({"GetAttachmentUploadLinks", "GetAttachmentDownloadLink"})

ASSEMBLE_JOB = "attachment-upload"
# Joining 150 MB takes seconds; the worker's lease outlives the longest timeout of any
# job kind (a dead node's job waits that long), so timeouts stay modest.
ASSEMBLE_TIMEOUT_S = 120.0
ASSEMBLE_ATTEMPTS = 3
SWEEP_TASK = "attachment-sweep"
SWEEP_BATCH = 200
# A processing upload untouched this long has lost its job: queue it again; this long
# again and it is failed.
STALLED_MS = 5 * 60_000
GIVE_UP_MS = int(ASSEMBLE_TIMEOUT_S * ASSEMBLE_ATTEMPTS * 1000) + 15 * 60_000
# Unreferenced blobs older than this are garbage (a write that never finished).
ORPHAN_AGE_MS = 24 * 3_600_000

# The failure customers see when assembling an upload broke inside supportd.
PROCESSING_FAILED = "processing failed because of an internal error; upload the file again"
NOT_READY = "attachment-not-ready"
STATUS = {
    dom.UPLOADING: NOT_READY,
    dom.PROCESSING: NOT_READY,
    dom.READY: "attachment-ready",
    dom.FAILED: "failed",
}


# --- keys and links -------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _key(server_key: str, data_dir: str, shared_store: bool) -> bytes:
    # The same server key as the secret box. SQLite: the data directory's key file, made
    # on first use. PostgreSQL: never made here (serve refuses to start without one), as
    # links signed with one node's own key would be refused by the others.
    return load_key(server_key, data_dir, create=not shared_store)


def link_key(config: Config) -> bytes:
    return _key(config.server_key, config.data_dir, bool(config.database_url))


def base_url(config: Config) -> str:
    return (
        config.public_url.rstrip("/")
        or REQUEST_BASE_URL.get()
        or f"http://{config.host}:{config.port}"
    )


def signed_path(config: Config, method: str, path: str, expires_s: int) -> str:
    """A link's path and signed query, on this server."""
    return f"{path}?{presign.query(link_key(config), method, path, expires_s)}"


def _link(config: Config, method: str, path: str, expires_s: int) -> str:
    return base_url(config) + signed_path(config, method, path, expires_s)


def download_link(config: Config, attachment_id: str, expires_s: int) -> str:
    """GetAttachmentDownloadLink's link, which mail also gives for each file."""
    path = presign.download_path(attachment_id)
    return _link(config, presign.DOWNLOAD_METHOD, path, expires_s)


def link_expires_s(ctx: Context) -> int:
    return ctx.clock.now_ms() // 1000 + ctx.config.attachment_link_expiry_s


# --- errors -----------------------------------------------------------------------


ATTACHMENT_ERRORS = (
    dom.AttachmentSetNotFound,
    dom.AttachmentSetExpired,
    dom.AttachmentSetFull,
    dom.AttachmentSetLimit,
    dom.UploadLimit,
    dom.UploadNotFound,
    dom.UploadNotAttachable,
    dom.PartProblem,
)


def api_error(config: Config, exc: DomainError) -> api_errors.ApiError:
    """The API error a broken attachment rule answers with."""
    if isinstance(exc, dom.AttachmentSetNotFound):
        if exc.used:
            return api_errors.AttachmentSetIdNotFound(
                f"Attachment set {exc.set_id} was already attached to a case communication; "
                "an attachment set can be used once"
            )
        return api_errors.AttachmentSetIdNotFound(f"Attachment set ID {exc.set_id} not found")
    if isinstance(exc, dom.AttachmentSetExpired):
        return api_errors.AttachmentSetExpired(f"Attachment set {exc} has expired")
    if isinstance(exc, dom.AttachmentSetFull):
        return _too_many_files(config)
    if isinstance(exc, dom.AttachmentSetLimit):
        return api_errors.AttachmentLimitExceeded(
            f"You have created {config.attachment_set_limit} attachment sets in the last "
            f"{config.attachment_set_limit_window_s} seconds, the most allowed; "
            "try again later"
        )
    if isinstance(exc, dom.UploadLimit):
        return _upload_limit(config, exc)
    if isinstance(exc, dom.UploadNotFound):
        return _upload_not_found(exc.upload_id)
    if isinstance(exc, dom.UploadNotAttachable):
        return api_errors.InvalidParameterValueException(f"Upload {exc.upload_id} {exc.reason}")
    return api_errors.InvalidParameterValueException(str(exc))


def _upload_limit(config: Config, exc: dom.UploadLimit) -> api_errors.ApiError:
    # AttachmentLimitExceeded: the Support model has no error for this on
    # GetAttachmentUploadLinks; this is its error for too many attachment sets, the
    # closest one (docs/compatibility.md).
    if config.upload_open_limit > 0 and exc.open_count >= config.upload_open_limit:
        return api_errors.AttachmentLimitExceeded(
            f"You have {exc.open_count} large-file uploads open (begun and not yet attached "
            f"to a case communication), the most allowed ({config.upload_open_limit}); "
            "attach them, or wait until unattached ones expire"
        )
    return api_errors.AttachmentLimitExceeded(
        f"Your open large-file uploads announce {exc.open_bytes} bytes; with "
        f"{exc.adding} more they would exceed the {config.upload_open_bytes} bytes allowed; "
        "attach them, or wait until unattached ones expire"
    )


def _too_many_files(config: Config) -> api_errors.ApiError:
    return api_errors.AttachmentSetSizeLimitExceeded(
        f"An attachment set can hold at most {config.attachment_set_files} attachments"
    )


def _upload_not_found(upload_id: str) -> api_errors.ApiError:
    return api_errors.UploadIdNotFound(f"Upload ID {upload_id} not found")


def _attachment_not_found(attachment_id: str) -> api_errors.ApiError:
    return api_errors.AttachmentIdNotFound(f"Attachment ID {attachment_id} not found")


_Owned = TypeVar("_Owned", AttachmentRecord, UploadRecord)


def _owned(found: _Owned | None, principal: Principal, not_found: api_errors.ApiError) -> _Owned:
    """`found` if it is of the caller's account. Another account's is refused as
    not found, so that a caller cannot learn which ids exist elsewhere."""
    if found is None or found.account_id != principal.account_id:
        raise not_found
    return found


def _check_file_name(name: Any) -> str:
    if not isinstance(name, str):
        raise api_errors.InvalidParameterValueException("fileName is required")
    problem = dom.file_name_problem(name)
    if problem:
        raise api_errors.InvalidParameterValueException(problem)
    return name


def _upload_rules(config: Config) -> UploadRules:
    return UploadRules(config.upload_open_limit, config.upload_open_bytes)


def _rules(config: Config) -> SetRules:
    return SetRules(
        max_files=config.attachment_set_files,
        expiry_ms=config.attachment_set_expiry_s * 1000,
        creation_limit=config.attachment_set_limit,
        window_ms=config.attachment_set_limit_window_s * 1000,
    )


# --- attachment sets --------------------------------------------------------------


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def add_attachments_to_set(
    ctx: Context, principal: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    config, store = ctx.config, ctx.store
    account = principal.account_id
    files: list[dict[str, Any]] = params["attachments"]
    if not files:
        raise api_errors.InvalidParameterValueException("attachments must hold at least one file")
    if len(files) > config.attachment_set_files:
        raise _too_many_files(config)
    checked: list[tuple[str, bytes]] = []
    for file in files:
        name = _check_file_name(file.get("fileName"))
        data = file.get("data")
        if data is None:
            raise api_errors.InvalidParameterValueException(f"Attachment {name} has no data")
        if len(data) > config.attachment_file_bytes:
            raise api_errors.AttachmentSetSizeLimitExceeded(
                f"Attachment {name} is {len(data)} bytes; an attachment in a set may have "
                f"at most {config.attachment_file_bytes} bytes (use GetAttachmentUploadLinks "
                "for larger files)"
            )
        checked.append((name, data))
    rules = _rules(config)
    set_id: str | None = params.get("attachmentSetId")
    now = ctx.clock.now_ms()
    try:
        if set_id is not None:
            found = await _attachment_set(ctx, account, set_id)
            dom.check_set_for_adding(found, account, set_id, len(checked), rules, now)
        elif (since := dom.creation_window_start(rules, now)) is not None:
            recent = await store.count_recent_sets(account, since)
            dom.check_creation_limit(account, rules, recent)
    except ATTACHMENT_ERRORS as exc:
        raise api_error(config, exc) from None
    dry_run_check(params)

    new_files = []
    for name, data in checked:
        attachment_id = dom.new_attachment_id()
        new_files.append(
            NewAttachment(
                attachment_id, name, len(data), dom.attachment_blob_key(attachment_id), now
            )
        )
    written: list[str] = []
    try:
        for new, (_, data) in zip(new_files, checked, strict=True):
            await store.blobs.put(new.blob_key, _one(data))
            written.append(new.blob_key)
        record = await store.add_to_attachment_set(
            account, set_id, dom.new_set_id(), new_files, rules, now
        )
    except BaseException as exc:
        for key in written:
            with contextlib.suppress(Exception):
                await store.blobs.delete(key)
        if isinstance(exc, ATTACHMENT_ERRORS):
            raise api_error(config, exc) from None
        raise
    return {
        "attachmentSetId": record.set_id,
        "expiryTime": clock.format_expiry_time(record.expires_ms),
    }


# --- attachments ------------------------------------------------------------------

_describe_calls = dom.CallWindow(0, 60.0)


async def _attachment_set(ctx: Context, account: str, set_id: str) -> AttachmentSetRecord | None:
    if not dom.plausible_id(set_id, "as-"):
        return None
    return await ctx.store.get_attachment_set(account, set_id)


async def find_attachment(ctx: Context, attachment_id: str) -> AttachmentRecord | None:
    """Any account's attachment with this id, or None (an id that could not be one is
    not looked up)."""
    if not dom.plausible_id(attachment_id, "attachment-"):
        return None
    return await ctx.store.get_attachment(attachment_id)


async def _visible_attachment(
    ctx: Context, principal: Principal, attachment_id: str
) -> AttachmentRecord:
    found = await find_attachment(ctx, attachment_id)
    return _owned(found, principal, _attachment_not_found(attachment_id))


async def describe_attachment(
    ctx: Context, principal: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    config = ctx.config
    _describe_calls.limit = config.describe_attachment_limit
    if not _describe_calls.allow(principal.account_id, time.monotonic()):
        raise api_errors.DescribeAttachmentLimitExceeded(
            f"Rate exceeded: at most {config.describe_attachment_limit} DescribeAttachment "
            "calls per minute"
        )
    attachment_id: str = params["attachmentId"]
    found = await _visible_attachment(ctx, principal, attachment_id)
    if found.size_bytes > config.attachment_file_bytes:
        raise api_errors.InvalidParameterValueException(
            f"Attachment {attachment_id} is larger than {config.attachment_file_bytes} bytes: "
            "download it with GetAttachmentDownloadLink"
        )
    dry_run_check(params)
    data = await read_all(ctx.store.blobs, found.blob_key)
    return {"attachment": {"fileName": found.file_name, "data": data}}


async def get_attachment_download_link(
    ctx: Context, principal: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    found = await _visible_attachment(ctx, principal, params["attachmentId"])
    dry_run_check(params)
    expires = link_expires_s(ctx)
    return {
        "fileName": found.file_name,
        "downloadUrl": {
            "url": download_link(ctx.config, found.attachment_id, expires),
            "expiryDate": clock.format_case_time(expires * 1000),
        },
    }


def _details(record: AttachmentRecord) -> dict[str, Any]:
    return {"attachmentId": record.attachment_id, "fileName": record.file_name}


async def communication_files(
    ctx: Context, comms: Sequence[CommunicationRecord]
) -> dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """For each communication with attachments: (attachmentSet, attachments), the first
    holding only files up to attachment_file_bytes."""
    by_comm = await ctx.store.attachments_of([comm.seq for comm in comms])
    limit = ctx.config.attachment_file_bytes
    return {
        seq: (
            [_details(r) for r in records if r.size_bytes <= limit],
            [_details(r) for r in records],
        )
        for seq, records in by_comm.items()
    }


async def attachment_claim(
    ctx: Context, principal: Principal, params: dict[str, Any]
) -> AttachmentClaim | None:
    """The attachments a CreateCase or AddCommunicationToCase asks for, checked (so a dry
    run tells the truth); the store checks again when the communication is inserted."""
    set_id: str | None = params.get("attachmentSetId")
    upload_ids = tuple(dict.fromkeys(params.get("uploadIds") or ()))
    if set_id is None and not upload_ids:
        return None
    account, now = principal.account_id, ctx.clock.now_ms()
    try:
        if set_id is not None:
            found = await _attachment_set(ctx, account, set_id)
            if found is None:
                raise dom.AttachmentSetNotFound(set_id)
            if found.consumed_ms is not None:
                raise dom.AttachmentSetNotFound(set_id, used=True)
            if found.expires_ms <= now:
                raise dom.AttachmentSetExpired(set_id)
        for upload_id in upload_ids:
            problem = dom.claim_problem(await _upload(ctx, upload_id), upload_id, account)
            if problem is not None:
                raise problem
    except ATTACHMENT_ERRORS as exc:
        raise api_error(ctx.config, exc) from None
    return AttachmentClaim(account, set_id, upload_ids, now)


# --- large-file uploads -----------------------------------------------------------


async def _upload(ctx: Context, upload_id: str) -> UploadRecord | None:
    if not dom.plausible_id(upload_id, "upload-"):
        return None
    return await ctx.store.get_upload(upload_id)


async def _own_upload(ctx: Context, principal: Principal, upload_id: str) -> UploadRecord:
    return _owned(await _upload(ctx, upload_id), principal, _upload_not_found(upload_id))


async def get_attachment_upload_links(
    ctx: Context, principal: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    config = ctx.config
    file_name = _check_file_name(params["fileName"])
    size: int | None = params.get("fileSizeBytes")
    upload_id: str | None = params.get("uploadId")
    upload: UploadRecord | None = None
    if upload_id is None:
        if size is None:
            raise api_errors.InvalidParameterValueException(
                "fileSizeBytes is required to start an upload (without uploadId)"
            )
        if size > config.upload_max_bytes:
            raise api_errors.InvalidParameterValueException(
                f"fileSizeBytes is {size}; a file may have at most {config.upload_max_bytes} bytes"
            )
        plan = dom.plan_parts(size, config.upload_part_bytes)
        rules = _upload_rules(config)
        if rules.limited:  # checked here too, so a dry run tells the truth
            open_count, open_bytes = await ctx.store.count_open_uploads(principal.account_id)
            try:
                dom.check_new_upload(principal.account_id, rules, open_count, open_bytes, size)
            except dom.UploadLimit as exc:
                raise _upload_limit(config, exc) from None
    else:
        upload = await _own_upload(ctx, principal, upload_id)
        if size is not None and size != upload.size_bytes:
            raise api_errors.InvalidParameterValueException(
                f"fileSizeBytes {size} differs from the {upload.size_bytes} bytes of upload "
                f"{upload_id}"
            )
        if file_name != upload.file_name:
            raise api_errors.InvalidParameterValueException(
                f"fileName differs from the file name of upload {upload_id}"
            )
        if upload.state != dom.UPLOADING:
            raise api_errors.InvalidParameterValueException(
                f"Upload {upload_id} takes no more parts: it is {STATUS[upload.state]}"
            )
        plan = PartPlan(upload.part_bytes, upload.total_parts)
    start, end = _range(params.get("uploadRange"), plan.total_parts, config.upload_urls_per_call)
    dry_run_check(params)

    if upload is None:
        new = NewUpload(
            upload_id=dom.new_upload_id(),
            account_id=principal.account_id,
            file_name=file_name,
            size_bytes=params["fileSizeBytes"],
            part_bytes=plan.part_bytes,
            total_parts=plan.total_parts,
            created_ms=ctx.clock.now_ms(),
        )
        try:
            upload = await ctx.store.create_upload(new, _upload_rules(config))
        except dom.UploadLimit as exc:
            raise _upload_limit(config, exc) from None
    expires = link_expires_s(ctx)
    expiry_date = clock.format_case_time(expires * 1000)
    urls = [
        {
            "url": _link(
                config,
                presign.UPLOAD_METHOD,
                presign.part_path(upload.upload_id, index),
                expires,
            ),
            "partIndex": index,
            "expiryDate": expiry_date,
        }
        for index in range(start, end)
    ]
    result: dict[str, Any] = {
        "uploadId": upload.upload_id,
        "partSizeBytes": plan.part_bytes,
        "totalParts": plan.total_parts,
        "uploadUrls": urls,
    }
    if end <= plan.total_parts:
        result["nextIndex"] = end
    return result


def _range(asked: dict[str, Any] | None, total: int, per_call: int) -> tuple[int, int]:
    """The half-open range of part indexes to sign: [start, end)."""
    start = asked["startIndex"] if asked else 1
    end = asked.get("endIndex") if asked else None
    if start > total:
        raise api_errors.InvalidParameterValueException(
            f"startIndex {start} is past the last part ({total})"
        )
    if end is None:
        return start, min(start + per_call, total + 1)
    if end <= start:
        raise api_errors.InvalidParameterValueException("endIndex must be greater than startIndex")
    if end - start > per_call:
        raise api_errors.InvalidParameterValueException(
            f"uploadRange may span at most {per_call} parts"
        )
    return start, min(end, total + 1)


async def complete_attachment_upload(
    ctx: Context, principal: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    store = ctx.store
    upload = await _own_upload(ctx, principal, params["uploadId"])
    reported = [(p["partIndex"], dom.normalise_etag(p["eTag"])) for p in params["completedUploads"]]
    if not reported:
        raise api_errors.InvalidParameterValueException(
            "completedUploads must list at least one part"
        )
    if upload.state == dom.UPLOADING:
        uploaded = {part.index: part.etag for part in await store.list_parts(upload.seq)}
        try:
            dom.check_reported_parts(upload, uploaded, reported)
        except dom.PartProblem as exc:
            raise api_errors.InvalidParameterValueException(str(exc)) from None
    dry_run_check(params)
    if upload.state == dom.UPLOADING:
        try:
            upload = await store.complete_parts(
                upload.seq, reported, dom.new_attachment_id(), ctx.clock.now_ms()
            )
        except dom.PartProblem as exc:
            raise api_errors.InvalidParameterValueException(str(exc)) from None
    if upload.state == dom.PROCESSING:
        # Again on every call while processing: a node that died between the commit and
        # the enqueue leaves the job to the client's retry (the key keeps it single).
        await store.enqueue_job(
            ASSEMBLE_JOB,
            {"upload_id": upload.upload_id},
            ctx.clock.now_ms(),
            key=f"{ASSEMBLE_JOB}:{upload.upload_id}",
        )
    return {"uploadStatus": STATUS[upload.state]}


async def describe_attachment_upload_status(
    ctx: Context, principal: Principal, params: dict[str, Any]
) -> dict[str, Any]:
    upload = await _own_upload(ctx, principal, params["uploadId"])
    dry_run_check(params)
    completed = (
        upload.total_parts
        if upload.state in (dom.PROCESSING, dom.READY)
        else min(upload.completed_parts, upload.total_parts)
    )
    return {
        "uploadStatus": STATUS[upload.state],
        "fileName": upload.file_name,
        "uploadProgress": {"totalParts": upload.total_parts, "completedPartsCount": completed},
    }


# --- the presigned links' requests ------------------------------------------------


class LinkRefused(Refused):
    """A presigned request refused: HTTP status, S3-style code and message."""


def check_link(
    ctx: Context, method: str, path: str, expires: str | None, signature: str | None
) -> None:
    refusal = presign.check(
        link_key(ctx.config), method, path, expires, signature, ctx.clock.now_ms() // 1000
    )
    if refusal is not None:
        raise LinkRefused(403, refusal.code, refusal.message)


async def _hashed(
    chunks: AsyncIterable[bytes], digest: Any, limit: int, counted: list[int]
) -> AsyncIterator[bytes]:
    """The request body, hashed and counted, refused beyond `limit` bytes."""
    async for chunk in chunks:
        counted[0] += len(chunk)
        if counted[0] > limit:
            raise LinkRefused(400, "EntityTooLarge", f"The part is larger than {limit} bytes")
        digest.update(chunk)
        yield chunk


async def receive_part(
    ctx: Context,
    upload_id: str,
    index: int,
    content_length: str | None,
    body: AsyncIterable[bytes],
) -> str:
    """Store one part sent to its (already verified) link; its ETag. Nothing is stored
    unless the body has exactly the planned size."""
    store = ctx.store
    upload = await _upload(ctx, upload_id)
    if upload is None:
        raise LinkRefused(404, "NoSuchUpload", "The upload does not exist (or was deleted)")
    if upload.state != dom.UPLOADING:
        raise LinkRefused(
            409, "InvalidUploadState", f"The upload takes no more parts: it is {upload.state}"
        )
    if not 1 <= index <= upload.total_parts:
        raise LinkRefused(400, "InvalidArgument", f"Part {index} is not a part of this upload")
    expected = dom.part_size(upload.size_bytes, upload.part_bytes, index)
    if content_length is None:
        raise LinkRefused(411, "MissingContentLength", "Send the part with a Content-Length")
    if not (content_length.isascii() and content_length.isdigit()):
        raise LinkRefused(400, "InvalidArgument", "Invalid Content-Length")
    declared = int(content_length)
    if declared != expected:
        code = "EntityTooLarge" if declared > expected else "EntityTooSmall"
        raise LinkRefused(
            400,
            code,
            f"Part {index} must be exactly {expected} bytes; Content-Length is {declared}",
        )
    digest = hashlib.md5(usedforsecurity=False)
    counted = [0]
    key = dom.part_blob_key(upload_id, index)
    try:
        await store.blobs.put(key, _hashed(body, digest, expected, counted))
        if counted[0] != expected:
            raise LinkRefused(
                400, "IncompleteBody", f"Part {index} ended after {counted[0]} of {expected} bytes"
            )
        etag = digest.hexdigest()
        replaced = await store.record_part(
            upload.seq, index, expected, etag, key, ctx.clock.now_ms()
        )
    except BaseException as exc:
        with contextlib.suppress(Exception):
            await store.blobs.delete(key)
        if isinstance(exc, dom.PartFrozen):
            raise LinkRefused(
                409, "InvalidUploadState", f"Part {index} was already reported complete"
            ) from None
        if isinstance(exc, dom.UploadClosed):
            raise LinkRefused(409, "InvalidUploadState", "The upload takes no more parts") from None
        raise
    if replaced is not None and replaced != key:
        with contextlib.suppress(Exception):
            await store.blobs.delete(replaced)
    return etag


@dataclass(frozen=True, slots=True)
class Download:
    file_name: str
    size_bytes: int
    first: bytes
    rest: AsyncIterator[bytes]

    async def stream(self) -> AsyncIterator[bytes]:
        try:
            if self.first:
                yield self.first
            async for chunk in self.rest:
                yield chunk
        finally:
            await self.close()

    async def close(self) -> None:
        aclose = getattr(self.rest, "aclose", None)
        if aclose is not None:
            await aclose()


async def open_download(ctx: Context, attachment_id: str) -> Download:
    """The attachment's name, size and bytes (its first chunk already read, so a missing
    file is known before the response starts)."""
    found = await find_attachment(ctx, attachment_id)
    if found is None:
        raise LinkRefused(404, "NoSuchKey", "The attachment does not exist (or was deleted)")
    chunks = ctx.store.blobs.get(found.blob_key)
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        first = b""
    except BlobNotFound:
        log.error("attachment %s has no bytes (blob %s)", attachment_id, found.blob_key)
        raise LinkRefused(404, "NoSuchKey", "The attachment's file is missing") from None
    return Download(found.file_name, found.size_bytes, first, chunks)


# --- background work --------------------------------------------------------------


class _PartMismatch(Exception):
    pass


async def _parts_stream(ctx: Context, upload: UploadRecord) -> AsyncIterator[bytes]:
    """Every part in order, each checked against its recorded size and ETag."""
    parts = await ctx.store.list_parts(upload.seq)
    indexes = [part.index for part in parts]
    if indexes != list(range(1, upload.total_parts + 1)):
        raise _PartMismatch(f"parts {indexes} do not make up 1..{upload.total_parts}")
    for part in parts:
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            async for chunk in ctx.store.blobs.get(part.blob_key):
                digest.update(chunk)
                size += len(chunk)
                yield chunk
        except BlobNotFound:
            raise _PartMismatch(f"part {part.index} is missing") from None
        if size != part.size_bytes or digest.hexdigest() != part.etag:
            raise _PartMismatch(f"part {part.index} does not match what was uploaded")


async def assemble_upload(ctx: Context, job: Job) -> None:
    """Join the parts of a fully reported upload into one attachment. Safe to run again:
    the attachment's blob key is fixed by the upload, and a finished upload is left
    alone (apart from deleting its parts' blobs, which a crash may have left)."""
    store = ctx.store
    upload = await store.get_upload(str(job.payload["upload_id"]))
    if upload is None:
        return
    if upload.state == dom.READY:
        await store.blobs.delete_prefix(dom.upload_prefix(upload.upload_id))
        return
    if upload.state != dom.PROCESSING or upload.attachment_id is None:
        return
    key = dom.attachment_blob_key(upload.attachment_id)
    try:
        size = await store.blobs.put(key, _parts_stream(ctx, upload))
        if size != upload.size_bytes:
            raise _PartMismatch(f"the parts make {size} bytes, not {upload.size_bytes}")
    except _PartMismatch as exc:
        await store.blobs.delete(key)
        await store.fail_upload(upload.seq, str(exc), ctx.clock.now_ms())
        log.warning("upload %s failed: %s", upload.upload_id, exc)
        return
    except Exception:
        if job.attempts >= ASSEMBLE_ATTEMPTS:
            # The customer sees only that processing failed; what failed (a path, a
            # database's words) goes to the log, with the traceback the worker adds.
            log.error(
                "upload %s failed after %d attempts to assemble it (see the traceback of job %s)",
                upload.upload_id,
                job.attempts,
                job.seq,
            )
            await store.fail_upload(upload.seq, PROCESSING_FAILED, ctx.clock.now_ms())
        raise
    now = ctx.clock.now_ms()
    attachment = NewAttachment(upload.attachment_id, upload.file_name, size, key, now)
    await store.finish_upload(upload.seq, attachment, now)
    await store.blobs.delete_prefix(dom.upload_prefix(upload.upload_id))


async def _delete_blobs(ctx: Context, doomed: Sequence[str]) -> None:
    for name in doomed:
        if name.endswith("/"):
            await ctx.store.blobs.delete_prefix(name)
        else:
            await ctx.store.blobs.delete(name)


async def sweep(ctx: Context, job: Job) -> None:
    """Delete the files of expired, unused sets and uploads never attached in time;
    requeue (and in the end fail) uploads whose processing stalled."""
    store, config = ctx.store, ctx.config
    now = ctx.clock.now_ms()
    while True:
        keys = await store.purge_expired_sets(now, SWEEP_BATCH)
        await _delete_blobs(ctx, keys)
        if not keys:
            break
    cutoff = now - config.upload_expiry_s * 1000
    while doomed := await store.purge_abandoned_uploads(cutoff, SWEEP_BATCH):
        await _delete_blobs(ctx, doomed)
    for upload in await store.stalled_uploads(now - STALLED_MS, SWEEP_BATCH):
        if upload.updated_ms < now - GIVE_UP_MS:
            await store.fail_upload(upload.seq, "processing did not finish", now)
        else:
            await store.enqueue_job(
                ASSEMBLE_JOB,
                {"upload_id": upload.upload_id},
                now,
                key=f"{ASSEMBLE_JOB}:{upload.upload_id}",
            )


async def sweep_orphan_blobs(ctx: Context, job: Job) -> None:
    """Delete blobs no row refers to, left by writes that never finished (a node that
    died between writing a file and committing its row)."""
    store = ctx.store
    cutoff = ctx.clock.now_ms() - ORPHAN_AGE_MS
    for prefix in ("a/", "u/"):
        batch: list[str] = []
        async for key in store.blobs.list_keys(prefix, cutoff):
            batch.append(key)
            if len(batch) >= SWEEP_BATCH:
                await _delete_unreferenced(ctx, batch)
                batch = []
        await _delete_unreferenced(ctx, batch)


async def _delete_unreferenced(ctx: Context, keys: list[str]) -> None:
    if not keys:
        return
    referenced = await ctx.store.referenced_blob_keys(keys)
    for key in keys:
        if key not in referenced:
            await ctx.store.blobs.delete(key)


register_job(
    ASSEMBLE_JOB, assemble_upload, timeout_s=ASSEMBLE_TIMEOUT_S, attempts=ASSEMBLE_ATTEMPTS
)
register_periodic(
    SWEEP_TASK, 300.0, sweep, timeout_s=60.0, interval_setting="attachment_sweep_interval_s"
)
register_periodic("attachment-orphans", 86_400.0, sweep_orphan_blobs, timeout_s=120.0)
