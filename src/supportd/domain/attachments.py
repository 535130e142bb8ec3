"""Attachment sets, large-file uploads and the attachments they become: ids, rules and
records, independent of the wire and the store."""

from __future__ import annotations

import re
import secrets
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from supportd.domain.errors import DomainError

# Upload states (the wire shows the first three as attachment-not-ready).
UPLOADING = "uploading"  # parts being uploaded and reported
PROCESSING = "processing"  # every part reported; assembly queued or running
READY = "ready"
FAILED = "failed"

# S3's cap on the parts of one upload: with a small configured part size, a large file
# gets larger parts instead of an unbounded number of them.
MAX_PARTS = 10_000
MAX_FILE_NAME = 255


def _token() -> str:
    # 32 random bytes, URL-safe: ids are capabilities (and path segments of links).
    return secrets.token_urlsafe(32)


def new_set_id() -> str:
    return "as-" + _token()


def new_attachment_id() -> str:
    return "attachment-" + _token()


def new_upload_id() -> str:
    return "upload-" + _token()


_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]{1,200}")


def plausible_id(value: str, prefix: str) -> bool:
    """Whether a client's id could be one supportd made (`as-`, `attachment-`, `upload-`
    and URL-safe characters): anything else names nothing, and is not looked up (a NUL,
    say, is not even valid text for PostgreSQL)."""
    return value.startswith(prefix) and _TOKEN_CHARS.fullmatch(value[len(prefix) :]) is not None


def attachment_blob_key(attachment_id: str) -> str:
    """Where an attachment's bytes live; sharded by two characters of the random part."""
    token = attachment_id.removeprefix("attachment-")
    return f"a/{token[:2]}/{attachment_id}"


def upload_prefix(upload_id: str) -> str:
    """Every part blob of an upload lives under this prefix."""
    return f"u/{upload_id}/"


def part_blob_key(upload_id: str, index: int) -> str:
    """A fresh key for each PUT of a part: a blob is referenced only once its row commits,
    so a PUT that fails half-way, or races another PUT of the same part, never leaves a
    referenced blob half-written."""
    return f"{upload_prefix(upload_id)}{index}-{secrets.token_hex(8)}"


def file_name_problem(name: str) -> str | None:
    """Why a file name cannot be used, or None."""
    if not name:
        return "fileName must not be empty"
    if len(name) > MAX_FILE_NAME:
        return f"fileName must be at most {MAX_FILE_NAME} characters"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return "fileName must not contain control characters"
    return None


@dataclass(frozen=True, slots=True)
class PartPlan:
    part_bytes: int
    total_parts: int


def plan_parts(size_bytes: int, part_bytes: int) -> PartPlan:
    """Parts 1..n-1 are exactly part_bytes; the last holds the rest."""
    part = max(1, min(part_bytes, size_bytes))
    part = max(part, -(-size_bytes // MAX_PARTS))
    return PartPlan(part, -(-size_bytes // part))


def part_size(size_bytes: int, part_bytes: int, index: int) -> int:
    """The exact size of part `index` (1-based) of a file."""
    total = -(-size_bytes // part_bytes)
    if index < total:
        return part_bytes
    return size_bytes - part_bytes * (total - 1)


def normalise_etag(etag: str) -> str:
    """ETags compare without surrounding quotes, as S3 clients pass them either way."""
    return etag.strip().strip('"').lower()


# --- records ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewAttachment:
    attachment_id: str
    file_name: str
    size_bytes: int
    blob_key: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class AttachmentRecord:
    seq: int
    attachment_id: str
    account_id: str
    file_name: str
    size_bytes: int
    blob_key: str
    communication_seq: int | None
    created_ms: int


@dataclass(frozen=True, slots=True)
class AttachmentSetRecord:
    seq: int
    set_id: str
    account_id: str
    created_ms: int
    expires_ms: int
    consumed_ms: int | None
    file_count: int


@dataclass(frozen=True, slots=True)
class SetRules:
    """What AddAttachmentsToSet enforces, checked again in the writing transaction."""

    max_files: int
    expiry_ms: int
    creation_limit: int  # sets an account may create per window (0: no limit)
    window_ms: int


@dataclass(frozen=True, slots=True)
class UploadRules:
    """What GetAttachmentUploadLinks enforces on a new large-file upload, checked again
    in the writing transaction: an account's open uploads (begun and not yet attached
    to a communication nor deleted by the sweeper, whatever their state), by number and
    by the bytes they announced (0: no limit)."""

    max_open: int
    max_open_bytes: int

    @property
    def limited(self) -> bool:
        return self.max_open > 0 or self.max_open_bytes > 0


NO_UPLOAD_LIMITS = UploadRules(0, 0)


@dataclass(frozen=True, slots=True)
class NewUpload:
    upload_id: str
    account_id: str
    file_name: str
    size_bytes: int
    part_bytes: int
    total_parts: int
    created_ms: int


@dataclass(frozen=True, slots=True)
class UploadRecord:
    seq: int
    upload_id: str
    account_id: str
    file_name: str
    size_bytes: int
    part_bytes: int
    total_parts: int
    state: str
    failure: str | None
    attachment_id: str | None  # chosen when every part is reported
    completed_parts: int  # parts reported through CompleteAttachmentUpload
    consumed_ms: int | None  # when attached to a communication
    created_ms: int
    updated_ms: int


@dataclass(frozen=True, slots=True)
class PartRecord:
    index: int
    size_bytes: int
    etag: str
    blob_key: str
    completed: bool


@dataclass(frozen=True, slots=True)
class AttachmentClaim:
    """Attachments a new communication takes over, in the transaction that inserts it:
    a set (consumed) and ready uploads (attached)."""

    account_id: str
    set_id: str | None
    upload_ids: tuple[str, ...]
    now_ms: int


# --- rule violations -------------------------------------------------------------


class AttachmentSetNotFound(DomainError):
    def __init__(self, set_id: str, used: bool = False) -> None:
        super().__init__(set_id)
        self.set_id = set_id
        self.used = used


class AttachmentSetExpired(DomainError):
    pass


class AttachmentSetFull(DomainError):
    """Too many files for one set."""


class AttachmentSetLimit(DomainError):
    """Too many sets created by one account in the window."""


class UploadLimit(DomainError):
    """An account may not begin another upload: too many open, or too many bytes."""

    def __init__(self, account_id: str, open_count: int, open_bytes: int, adding: int) -> None:
        super().__init__(account_id)
        self.open_count = open_count
        self.open_bytes = open_bytes
        self.adding = adding


class UploadNotFound(DomainError):
    def __init__(self, upload_id: str) -> None:
        super().__init__(upload_id)
        self.upload_id = upload_id


class UploadNotAttachable(DomainError):
    """An upload that is not ready, failed, or already attached."""

    def __init__(self, upload_id: str, reason: str) -> None:
        super().__init__(f"{upload_id}: {reason}")
        self.upload_id = upload_id
        self.reason = reason


class PartProblem(DomainError):
    """A reported part that was not uploaded, or whose ETag differs."""


class PartFrozen(DomainError):
    """A PUT of a part already reported through CompleteAttachmentUpload."""


class UploadClosed(DomainError):
    """A PUT to an upload whose parts were all reported (or that failed)."""


class CallWindow:
    """At most `limit` calls per key in any `window_s` seconds (a sliding window), in
    this process (DescribeAttachmentLimitExceeded)."""

    def __init__(self, limit: int, window_s: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._calls: dict[str, deque[float]] = {}

    def allow(self, key: str, now_s: float) -> bool:
        if self.limit <= 0:
            return True
        calls = self._calls.get(key)
        if calls is None:
            if len(self._calls) >= self.max_keys:
                self._forget(now_s)
            calls = self._calls[key] = deque()
        while calls and calls[0] <= now_s - self.window_s:
            calls.popleft()
        if len(calls) >= self.limit:
            return False
        calls.append(now_s)
        return True

    def _forget(self, now_s: float) -> None:
        """Drop keys without a call in the window (all of them if that frees nothing)."""
        stale = [k for k, c in self._calls.items() if not c or c[-1] <= now_s - self.window_s]
        for key in stale:
            del self._calls[key]
        if len(self._calls) >= self.max_keys:
            self._calls.clear()


# --- the rules both stores apply inside their transactions ------------------------
# A store reads the rows, calls one of these, and writes what it answers (or lets the
# rule's error roll its transaction back).


def check_set_open(
    found: AttachmentSetRecord | None, account_id: str, set_id: str, now_ms: int
) -> None:
    """The account's set exists, was not used by a communication and has not expired:
    it may take files, or be claimed by a communication."""
    if found is None or found.account_id != account_id:
        raise AttachmentSetNotFound(set_id)
    if found.consumed_ms is not None:
        raise AttachmentSetNotFound(set_id, used=True)
    if found.expires_ms <= now_ms:
        raise AttachmentSetExpired(set_id)


def check_set_for_adding(
    found: AttachmentSetRecord | None,
    account_id: str,
    set_id: str,
    adding: int,
    rules: SetRules,
    now_ms: int,
) -> None:
    check_set_open(found, account_id, set_id, now_ms)
    assert found is not None
    if found.file_count + adding > rules.max_files:
        raise AttachmentSetFull(found.file_count + adding)


def creation_window_start(rules: SetRules, now_ms: int) -> int | None:
    """Sets an account created after this time count against its creation limit; None
    when there is no limit (nothing to count)."""
    return now_ms - rules.window_ms if rules.creation_limit > 0 else None


def check_creation_limit(account_id: str, rules: SetRules, recent: int) -> None:
    """AttachmentSetLimit if the account created `recent` sets in the window and may
    create no more."""
    if rules.creation_limit > 0 and recent >= rules.creation_limit:
        raise AttachmentSetLimit(account_id)


def check_new_set(account_id: str, rules: SetRules, recent: int, adding: int) -> None:
    """A new set with `adding` files, for an account that created `recent` sets in the
    window."""
    check_creation_limit(account_id, rules, recent)
    if adding > rules.max_files:
        raise AttachmentSetFull(adding)


def check_new_upload(
    account_id: str, rules: UploadRules, open_count: int, open_bytes: int, size_bytes: int
) -> None:
    """UploadLimit if an account with `open_count` open uploads announcing `open_bytes`
    may not begin one of `size_bytes` more."""
    too_many = rules.max_open > 0 and open_count >= rules.max_open
    too_large = rules.max_open_bytes > 0 and open_bytes + size_bytes > rules.max_open_bytes
    if too_many or too_large:
        raise UploadLimit(account_id, open_count, open_bytes, size_bytes)


def set_expiry(rules: SetRules, created_ms: int) -> int:
    """When a set created now stops taking files and being usable."""
    return created_ms + rules.expiry_ms


def claim_problem(
    upload: UploadRecord | None, upload_id: str, account_id: str
) -> DomainError | None:
    """Why an upload cannot be attached to a communication, or None."""
    if upload is None or upload.account_id != account_id:
        return UploadNotFound(upload_id)
    if upload.consumed_ms is not None:
        return UploadNotAttachable(upload_id, "is already attached to a communication")
    if upload.state == FAILED:
        return UploadNotAttachable(upload_id, f"failed: {upload.failure}")
    if upload.state != READY:
        return UploadNotAttachable(upload_id, "is not ready (attachment-not-ready)")
    return None


def check_part_put(
    upload: UploadRecord | None, upload_seq: int, index: int, stored: PartRecord | None
) -> None:
    """A PUT may (re)place part `index` only while the upload takes parts (UploadClosed)
    and that part has not been reported complete (PartFrozen)."""
    if upload is None or upload.state != UPLOADING:
        raise UploadClosed(upload_seq)
    if stored is not None and stored.completed:
        raise PartFrozen(index)


def check_reported_parts(
    upload: UploadRecord, uploaded: dict[int, str], reported: Sequence[tuple[int, str]]
) -> None:
    """Every reported part must be in range, uploaded, and carry that upload's ETag."""
    for index, etag in reported:
        if not 1 <= index <= upload.total_parts:
            raise PartProblem(
                f"Part {index} does not exist: the upload has parts 1 to {upload.total_parts}"
            )
        stored = uploaded.get(index)
        if stored is None:
            raise PartProblem(f"Part {index} has not been uploaded")
        if normalise_etag(stored) != normalise_etag(etag):
            raise PartProblem(f"The eTag of part {index} does not match the uploaded part")


@dataclass(frozen=True, slots=True)
class Completion:
    """What reporting parts (CompleteAttachmentUpload) does to an uploading upload."""

    mark: tuple[int, ...]  # parts now reported complete that were not before, ascending
    state: str  # UPLOADING while a part is missing; PROCESSING once all are in
    attachment_id: str | None  # the attachment the upload becomes (from PROCESSING on)


def complete_upload(
    upload: UploadRecord,
    parts: Sequence[PartRecord],
    reported: Sequence[tuple[int, str]],
    attachment_id: str,
) -> Completion | None:
    """Upload completion, decided once for both stores. `parts`: the upload's part rows;
    `reported`: the (index, ETag) pairs of this call; `attachment_id`: the id to give
    the file if this call completes it.

    None if the upload no longer takes reports (processing, ready or failed): a repeated
    call changes nothing. Otherwise PartProblem (nothing changes) unless every reported
    part is in range, uploaded and carries its ETag; then the reported parts are
    complete, and once parts 1..total_parts all are, the upload moves to processing
    with the attachment id."""
    if upload.state != UPLOADING:
        return None
    check_reported_parts(upload, {part.index: part.etag for part in parts}, reported)
    done = {part.index for part in parts if part.completed}
    mark = tuple(sorted({index for index, _ in reported} - done))
    if done.union(mark).issuperset(range(1, upload.total_parts + 1)):
        return Completion(mark, PROCESSING, attachment_id)
    return Completion(mark, UPLOADING, upload.attachment_id)


def may_finish(upload: UploadRecord | None) -> bool:
    """Whether an assembled upload may become ready (it is processing: not finished,
    failed, or gone)."""
    return upload is not None and upload.state == PROCESSING


def abandoned_upload_blobs(
    upload_id: str, attachment_id: str | None, attachment_keys: Sequence[str]
) -> list[str]:
    """What a sweep deletes with an upload never attached in time: its parts (a prefix,
    ending in "/"), the files of its attachment rows (unattached ones, deleted with the
    upload), and the file an assembly that ran (or runs) without a row left behind."""
    doomed = [upload_prefix(upload_id), *attachment_keys]
    if attachment_id is not None:
        doomed.append(attachment_blob_key(attachment_id))
    return list(dict.fromkeys(doomed))
