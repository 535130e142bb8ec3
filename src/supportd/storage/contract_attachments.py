"""The attachments area of the Store protocol: attachment sets, uploads and their parts,
the attachments they become, and the blob store that holds the bytes.

Rows and blobs are written apart: a blob is written first under a fresh key and becomes
visible only when the row naming it commits. Deletions go the other way (rows first,
then blobs), so a crash in between leaves an unreferenced blob for the sweeper, never a
row without its bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from supportd.domain.attachments import (
    NO_UPLOAD_LIMITS,
    AttachmentRecord,
    AttachmentSetRecord,
    NewAttachment,
    NewUpload,
    PartRecord,
    SetRules,
    UploadRecord,
    UploadRules,
)
from supportd.storage.blobs import BlobStore


class AttachmentStore(Protocol):
    @property
    def blobs(self) -> BlobStore:
        """Where the file bytes are."""

    # --- attachment sets --------------------------------------------------------

    async def add_to_attachment_set(
        self,
        account_id: str,
        set_id: str | None,
        new_set_id: str,
        files: Sequence[NewAttachment],
        rules: SetRules,
        now_ms: int,
    ) -> AttachmentSetRecord:
        """Add files to the account's set (or, with set_id None, to a new set called
        new_set_id), checking the rules in the same transaction: AttachmentSetNotFound,
        AttachmentSetExpired, AttachmentSetFull, AttachmentSetLimit (nothing written)."""

    async def get_attachment_set(self, account_id: str, set_id: str) -> AttachmentSetRecord | None:
        """The account's set, or None."""

    async def count_recent_sets(self, account_id: str, since_ms: int) -> int:
        """Sets the account created after since_ms."""

    # --- attachments ---------------------------------------------------------------

    async def get_attachment(self, attachment_id: str) -> AttachmentRecord | None:
        """The attachment with this id (any account's: callers check), or None."""

    async def attachments_of(
        self, communication_seqs: Sequence[int]
    ) -> dict[int, list[AttachmentRecord]]:
        """The attachments of each communication, in the order they were added."""

    # --- uploads ---------------------------------------------------------------------

    async def count_open_uploads(self, account_id: str) -> tuple[int, int]:
        """The account's open uploads (not attached to a communication, not swept) and
        the bytes they announced."""

    async def create_upload(
        self, upload: NewUpload, rules: UploadRules = NO_UPLOAD_LIMITS
    ) -> UploadRecord:
        """Insert an upload in state uploading, checking the account's open uploads
        against the rules in the same transaction: UploadLimit (nothing written). A
        repeat with the same upload id returns the upload already inserted."""

    async def get_upload(self, upload_id: str) -> UploadRecord | None:
        """The upload with this id (any account's: callers check), or None."""

    async def list_parts(self, upload_seq: int) -> list[PartRecord]:
        """The uploaded parts of an upload, by index."""

    async def record_part(
        self,
        upload_seq: int,
        index: int,
        size_bytes: int,
        etag: str,
        blob_key: str,
        now_ms: int,
    ) -> str | None:
        """Make this blob the part's content; the blob key it replaces (to delete), if
        any. UploadClosed if the upload no longer takes parts, PartFrozen if this part
        was already reported complete (nothing written)."""

    async def complete_parts(
        self,
        upload_seq: int,
        reported: Sequence[tuple[int, str]],
        attachment_id: str,
        now_ms: int,
    ) -> UploadRecord:
        """Mark the reported (index, normalised ETag) parts complete; when every part is,
        move the upload to processing with this attachment id. PartProblem (nothing
        written) for a part not uploaded or whose ETag differs."""

    async def finish_upload(self, upload_seq: int, attachment: NewAttachment, now_ms: int) -> bool:
        """A processing upload becomes ready: its attachment row is inserted. False (and
        nothing written) if the upload is not processing (already finished)."""

    async def fail_upload(self, upload_seq: int, reason: str, now_ms: int) -> None:
        """A processing upload becomes failed, with the reason."""

    # --- sweeping ------------------------------------------------------------------

    async def purge_expired_sets(self, now_ms: int, limit: int) -> list[str]:
        """Delete the attachments of up to `limit` expired, unused sets (the set rows stay,
        marked purged, so their ids still answer AttachmentSetExpired); their blob keys."""

    async def purge_abandoned_uploads(self, created_before_ms: int, limit: int) -> list[str]:
        """Delete up to `limit` uploads created before the time and never attached, with
        their parts and their (unattached) attachment; the blob prefixes and keys to
        delete."""

    async def stalled_uploads(self, updated_before_ms: int, limit: int) -> list[UploadRecord]:
        """Uploads still processing that last changed before the time."""

    async def referenced_blob_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these blob keys a row refers to (an attachment, or a part of an upload
        that still exists, by its prefix)."""

    def export_blob_keys(self) -> AsyncIterator[str]:
        """Every blob key a row refers to, for `supportd export`."""
