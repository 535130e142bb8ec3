"""Attachment sets, uploads and their parts, and the attachments they become, on both
stores. The file bytes are each dialect's blob store (the core's `blobs`: a directory
next to the SQLite file, `blob_chunks` rows in PostgreSQL).

Writes lock what they check (the set or upload row `FOR UPDATE` on PostgreSQL, the
account's lock for the set-creation window; SQLite's single writer), so two nodes
adding to one set, or reporting parts of one upload, apply the rules one after the
other. The rules themselves are domain.attachments: a store reads rows, asks the rule,
and writes what it answers.

Rows and blobs are written apart: a blob is written first under a fresh key and becomes
visible only when the row naming it commits. Deletions go the other way (rows first,
then blobs), so a crash in between leaves an unreferenced blob for the sweeper, never a
row without its bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from supportd.domain import attachments as dom
from supportd.domain.attachments import (
    NO_UPLOAD_LIMITS,
    AttachmentClaim,
    AttachmentRecord,
    AttachmentSetRecord,
    NewAttachment,
    NewUpload,
    PartRecord,
    SetRules,
    UploadRecord,
    UploadRules,
)
from supportd.storage.rows import (
    ATTACHMENT_COLUMNS,
    attachment_record,
    set_record,
    upload_record,
)
from supportd.storage.sql import Row, SqlStore, Tx

SET_COLUMNS = (
    "s.seq, s.set_id, s.account_id, s.created_ms, s.expires_ms, s.consumed_ms,"
    " (SELECT COUNT(*) FROM attachments a WHERE a.set_seq = s.seq)"
)
UPLOAD_COLUMNS = (
    "u.seq, u.upload_id, u.account_id, u.file_name, u.size_bytes, u.part_bytes, u.total_parts,"
    " u.state, u.failure, u.attachment_id,"
    " (SELECT COUNT(*) FROM upload_parts p WHERE p.upload_seq = u.seq AND p.completed),"
    " u.consumed_ms, u.created_ms, u.updated_ms"
)
PART_COLUMNS = "part_index, size_bytes, etag, blob_key, completed"

# A row is locked by a statement of its own first: on PostgreSQL, the counts that the
# select below it makes must see every row committed before the lock was granted (a
# locking statement keeps the snapshot it started with).
LOCK_SET_SQL = "SELECT 1 FROM attachment_sets WHERE set_id = $1 FOR UPDATE"
SET_BY_ID_SQL = f"SELECT {SET_COLUMNS} FROM attachment_sets s WHERE s.set_id = $1"
SET_BY_SEQ_SQL = f"SELECT {SET_COLUMNS} FROM attachment_sets s WHERE s.seq = $1"
COUNT_RECENT_SETS_SQL = (
    "SELECT COUNT(*) FROM attachment_sets WHERE account_id = $1 AND created_ms > $2"
)
INSERT_SET_SQL = (
    "INSERT INTO attachment_sets (set_id, account_id, created_ms, expires_ms)"
    " VALUES ($1, $2, $3, $4) RETURNING seq"
)
CONSUME_SET_SQL = "UPDATE attachment_sets SET consumed_ms = $1 WHERE seq = $2"
INSERT_ATTACHMENT_SQL = (
    "INSERT INTO attachments (attachment_id, account_id, file_name, size_bytes, blob_key,"
    " set_seq, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
# The set's files take positions 1..n in the order they were added.
CLAIM_SET_FILES_SQL = (
    "UPDATE attachments SET communication_seq = $1, position = (SELECT COUNT(*)"
    " FROM attachments b WHERE b.set_seq = $2 AND b.seq <= attachments.seq)"
    " WHERE set_seq = $2"
)
CLAIM_UPLOAD_FILE_SQL = (
    "UPDATE attachments SET communication_seq = $1, position = $2 WHERE attachment_id = $3"
)
ATTACHMENT_SQL = f"SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE attachment_id = $1"
ATTACHMENTS_OF_SQL = (
    f"SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE communication_seq = ANY($1::bigint[])"
    " ORDER BY communication_seq, position"
)

LOCK_UPLOAD_BY_ID_SQL = "SELECT 1 FROM uploads WHERE upload_id = $1 FOR UPDATE"
LOCK_UPLOAD_SQL = "SELECT 1 FROM uploads WHERE seq = $1 FOR UPDATE"
UPLOAD_BY_ID_SQL = f"SELECT {UPLOAD_COLUMNS} FROM uploads u WHERE u.upload_id = $1"
UPLOAD_SQL = f"SELECT {UPLOAD_COLUMNS} FROM uploads u WHERE u.seq = $1"
# An account's open uploads (not attached, not swept) and the bytes they announced.
OPEN_UPLOADS_SQL = (
    "SELECT COUNT(*), COALESCE(SUM(size_bytes), 0) FROM uploads"
    " WHERE account_id = $1 AND consumed_ms IS NULL"
)
# The id is chosen before the first attempt: a repeat after a lost COMMIT finds it.
INSERT_UPLOAD_SQL = (
    "INSERT INTO uploads (upload_id, account_id, file_name, size_bytes, part_bytes,"
    " total_parts, state, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
    " ON CONFLICT (upload_id) DO NOTHING"
)
CONSUME_UPLOAD_SQL = "UPDATE uploads SET consumed_ms = $1 WHERE seq = $2"
TOUCH_UPLOAD_SQL = "UPDATE uploads SET updated_ms = $1 WHERE seq = $2"
SET_UPLOAD_STATE_SQL = (
    "UPDATE uploads SET state = $1, attachment_id = $2, updated_ms = $3 WHERE seq = $4"
)
FAIL_UPLOAD_SQL = (
    "UPDATE uploads SET state = $1, failure = $2, updated_ms = $3 WHERE seq = $4 AND state = $5"
)
STALLED_SQL = (
    f"SELECT {UPLOAD_COLUMNS} FROM uploads u WHERE u.state = $1 AND u.updated_ms < $2"
    " ORDER BY u.updated_ms LIMIT $3"
)

PARTS_SQL = f"SELECT {PART_COLUMNS} FROM upload_parts WHERE upload_seq = $1 ORDER BY part_index"
PART_SQL = f"SELECT {PART_COLUMNS} FROM upload_parts WHERE upload_seq = $1 AND part_index = $2"
UPSERT_PART_SQL = (
    "INSERT INTO upload_parts (upload_seq, part_index, size_bytes, etag, blob_key,"
    " uploaded_ms, completed) VALUES ($1, $2, $3, $4, $5, $6, FALSE)"
    " ON CONFLICT (upload_seq, part_index) DO UPDATE SET size_bytes = EXCLUDED.size_bytes,"
    " etag = EXCLUDED.etag, blob_key = EXCLUDED.blob_key, uploaded_ms = EXCLUDED.uploaded_ms"
)
MARK_PARTS_SQL = (
    "UPDATE upload_parts SET completed = TRUE WHERE upload_seq = $1 AND part_index = ANY($2::int[])"
)
DELETE_PARTS_SQL = "DELETE FROM upload_parts WHERE upload_seq = $1"

# Sweeping. An expired set's row stays (marked purged), so its id still answers
# AttachmentSetExpired; its files go unless a communication holds them.
EXPIRED_SETS_SQL = (
    "SELECT seq FROM attachment_sets WHERE consumed_ms IS NULL AND purged_ms IS NULL"
    " AND expires_ms <= $1 ORDER BY expires_ms LIMIT $2 FOR UPDATE SKIP LOCKED"
)
PURGE_SET_FILES_SQL = (
    "DELETE FROM attachments WHERE set_seq = ANY($1::bigint[]) AND communication_seq IS NULL"
    " RETURNING blob_key"
)
MARK_SETS_PURGED_SQL = "UPDATE attachment_sets SET purged_ms = $1 WHERE seq = ANY($2::bigint[])"
ABANDONED_UPLOADS_SQL = (
    "SELECT seq, upload_id, attachment_id FROM uploads WHERE consumed_ms IS NULL"
    " AND created_ms < $1 ORDER BY created_ms LIMIT $2 FOR UPDATE SKIP LOCKED"
)
PURGE_UPLOAD_FILE_SQL = (
    "DELETE FROM attachments WHERE attachment_id = $1 AND communication_seq IS NULL"
    " RETURNING blob_key"
)
DELETE_UPLOAD_SQL = "DELETE FROM uploads WHERE seq = $1"
REFERENCED_KEYS_SQL = (
    "SELECT blob_key FROM attachments WHERE blob_key = ANY($1::text[])"
    " UNION SELECT blob_key FROM upload_parts WHERE blob_key = ANY($1::text[])"
)
EXPORT_BATCH = 1000
EXPORT_KEYS_SQL = tuple(
    f"SELECT seq, blob_key FROM {table} WHERE seq > $1 ORDER BY seq LIMIT $2"
    for table in ("attachments", "upload_parts")
)


def _part(row: Row) -> PartRecord:
    # `completed` is a boolean on PostgreSQL, 0/1 on SQLite.
    return PartRecord(row[0], row[1], row[2], row[3], bool(row[4]))


async def _select_set(
    tx: Tx, set_id: str, *, for_update: bool = False
) -> AttachmentSetRecord | None:
    if for_update:
        await tx.execute(LOCK_SET_SQL, set_id)
    row = await tx.fetchrow(SET_BY_ID_SQL, set_id)
    return set_record(row) if row else None


async def _select_upload(tx: Tx, seq: int, *, for_update: bool = False) -> UploadRecord | None:
    if for_update:
        await tx.execute(LOCK_UPLOAD_SQL, seq)
    row = await tx.fetchrow(UPLOAD_SQL, seq)
    return upload_record(row) if row else None


async def _upload_by_id(tx: Tx, upload_id: str, *, for_update: bool = False) -> UploadRecord | None:
    if for_update:
        await tx.execute(LOCK_UPLOAD_BY_ID_SQL, upload_id)
    row = await tx.fetchrow(UPLOAD_BY_ID_SQL, upload_id)
    return upload_record(row) if row else None


async def _insert_attachment(
    tx: Tx, account_id: str, set_seq: int | None, file: NewAttachment
) -> None:
    await tx.execute(
        INSERT_ATTACHMENT_SQL,
        file.attachment_id,
        account_id,
        file.file_name,
        file.size_bytes,
        file.blob_key,
        set_seq,
        file.created_ms,
    )


async def claim_attachments(tx: Tx, comm_seq: int, claim: AttachmentClaim) -> None:
    """Attach a set and ready uploads to a communication being inserted, in its
    transaction (called by the cases area): the set is consumed, the uploads attached.
    Raises the rule's error (and the caller's transaction rolls back) if the set is
    unknown, used or expired, or an upload is unknown, not ready or attached."""
    now = claim.now_ms
    position = 0
    if claim.set_id is not None:
        found = await _select_set(tx, claim.set_id, for_update=True)
        dom.check_set_open(found, claim.account_id, claim.set_id, now)
        assert found is not None
        await tx.execute(CONSUME_SET_SQL, now, found.seq)
        position = await tx.execute(CLAIM_SET_FILES_SQL, comm_seq, found.seq)
    for upload_id in claim.upload_ids:
        upload = await _upload_by_id(tx, upload_id, for_update=True)
        problem = dom.claim_problem(upload, upload_id, claim.account_id)
        if problem is not None:
            raise problem
        assert upload is not None
        await tx.execute(CONSUME_UPLOAD_SQL, now, upload.seq)
        position += 1
        await tx.execute(CLAIM_UPLOAD_FILE_SQL, comm_seq, position, upload.attachment_id)


class Attachments(SqlStore):
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

        async def job(tx: Tx) -> AttachmentSetRecord:
            if set_id is None:
                recent = 0
                since = dom.creation_window_start(rules, now_ms)
                if since is not None:
                    # One account's set creations in turn: the count stays exact.
                    await tx.lock("attachment-sets", account_id)
                    recent = int(await tx.fetchval(COUNT_RECENT_SETS_SQL, account_id, since))
                dom.check_new_set(account_id, rules, recent, len(files))
                seq: int = await tx.fetchval(
                    INSERT_SET_SQL, new_set_id, account_id, now_ms, dom.set_expiry(rules, now_ms)
                )
            else:
                found = await _select_set(tx, set_id, for_update=True)
                dom.check_set_for_adding(found, account_id, set_id, len(files), rules, now_ms)
                assert found is not None
                seq = found.seq
            for file in files:
                await _insert_attachment(tx, account_id, seq, file)
            row = await tx.fetchrow(SET_BY_SEQ_SQL, seq)
            assert row is not None
            return set_record(row)

        return await self._write(job)

    async def get_attachment_set(self, account_id: str, set_id: str) -> AttachmentSetRecord | None:
        """The account's set, or None."""

        async def job(tx: Tx) -> AttachmentSetRecord | None:
            return await _select_set(tx, set_id)

        found = await self._read(job)
        return found if found is not None and found.account_id == account_id else None

    async def count_recent_sets(self, account_id: str, since_ms: int) -> int:
        """Sets the account created after since_ms."""

        async def job(tx: Tx) -> int:
            return int(await tx.fetchval(COUNT_RECENT_SETS_SQL, account_id, since_ms))

        return await self._read(job)

    # --- attachments ---------------------------------------------------------------

    async def get_attachment(self, attachment_id: str) -> AttachmentRecord | None:
        """The attachment with this id (any account's: callers check), or None."""
        return await self._record(attachment_record, ATTACHMENT_SQL, attachment_id)

    async def attachments_of(
        self, communication_seqs: Sequence[int]
    ) -> dict[int, list[AttachmentRecord]]:
        """The attachments of each communication, in the order they were added."""
        result: dict[int, list[AttachmentRecord]] = {}
        if not communication_seqs:
            return result

        async def job(tx: Tx) -> list[Row]:
            return await tx.fetch(ATTACHMENTS_OF_SQL, list(communication_seqs))

        for row in await self._read(job):
            record = attachment_record(row)
            assert record.communication_seq is not None
            result.setdefault(record.communication_seq, []).append(record)
        return result

    # --- uploads ---------------------------------------------------------------------

    async def count_open_uploads(self, account_id: str) -> tuple[int, int]:
        """The account's open uploads (not attached to a communication, not swept) and
        the bytes they announced."""

        async def job(tx: Tx) -> tuple[int, int]:
            row = await tx.fetchrow(OPEN_UPLOADS_SQL, account_id)
            assert row is not None
            return int(row[0]), int(row[1])

        return await self._read(job)

    async def create_upload(
        self, upload: NewUpload, rules: UploadRules = NO_UPLOAD_LIMITS
    ) -> UploadRecord:
        """Insert an upload in state uploading, checking the account's open uploads
        against the rules in the same transaction: UploadLimit (nothing written). A
        repeat with the same upload id returns the upload already inserted."""

        async def job(tx: Tx) -> UploadRecord:
            found = await _upload_by_id(tx, upload.upload_id)
            if found is not None:
                return found  # a repeat after a lost COMMIT: already counted
            if rules.limited:
                # One account's upload creations in turn: the counts stay exact.
                await tx.lock("uploads", upload.account_id)
                row = await tx.fetchrow(OPEN_UPLOADS_SQL, upload.account_id)
                assert row is not None
                dom.check_new_upload(
                    upload.account_id, rules, int(row[0]), int(row[1]), upload.size_bytes
                )
            await tx.execute(
                INSERT_UPLOAD_SQL,
                upload.upload_id,
                upload.account_id,
                upload.file_name,
                upload.size_bytes,
                upload.part_bytes,
                upload.total_parts,
                dom.UPLOADING,
                upload.created_ms,
            )
            found = await _upload_by_id(tx, upload.upload_id)
            assert found is not None
            return found

        return await self._write(job, idempotent=True)

    async def get_upload(self, upload_id: str) -> UploadRecord | None:
        """The upload with this id (any account's: callers check), or None."""

        async def job(tx: Tx) -> UploadRecord | None:
            return await _upload_by_id(tx, upload_id)

        return await self._read(job)

    async def list_parts(self, upload_seq: int) -> list[PartRecord]:
        """The uploaded parts of an upload, by index."""
        return await self._records(_part, PARTS_SQL, upload_seq)

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

        async def job(tx: Tx) -> str | None:
            upload = await _select_upload(tx, upload_seq, for_update=True)
            row = await tx.fetchrow(PART_SQL, upload_seq, index)
            stored = _part(row) if row else None
            dom.check_part_put(upload, upload_seq, index, stored)
            await tx.execute(UPSERT_PART_SQL, upload_seq, index, size_bytes, etag, blob_key, now_ms)
            await tx.execute(TOUCH_UPLOAD_SQL, now_ms, upload_seq)
            return stored.blob_key if stored is not None else None

        # Repeating it after a lost COMMIT writes the same row again.
        return await self._write(job, idempotent=True)

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

        async def job(tx: Tx) -> UploadRecord:
            upload = await _select_upload(tx, upload_seq, for_update=True)
            assert upload is not None
            parts = [_part(row) for row in await tx.fetch(PARTS_SQL, upload_seq)]
            completion = dom.complete_upload(upload, parts, reported, attachment_id)
            if completion is None:
                return upload
            if completion.mark:
                await tx.execute(MARK_PARTS_SQL, upload_seq, list(completion.mark))
            await tx.execute(
                SET_UPLOAD_STATE_SQL,
                completion.state,
                completion.attachment_id,
                now_ms,
                upload_seq,
            )
            found = await _select_upload(tx, upload_seq)
            assert found is not None
            return found

        # Marking parts complete again changes nothing, and the attachment id is only
        # set on the move to processing.
        return await self._write(job, idempotent=True)

    async def finish_upload(self, upload_seq: int, attachment: NewAttachment, now_ms: int) -> bool:
        """A processing upload becomes ready: its attachment row is inserted. False (and
        nothing written) if the upload is not processing (already finished)."""

        async def job(tx: Tx) -> bool:
            upload = await _select_upload(tx, upload_seq, for_update=True)
            if not dom.may_finish(upload):
                return False
            assert upload is not None
            await _insert_attachment(tx, upload.account_id, None, attachment)
            # The parts' blobs go once this commits (the caller deletes the prefix).
            await tx.execute(DELETE_PARTS_SQL, upload_seq)
            await tx.execute(
                SET_UPLOAD_STATE_SQL, dom.READY, upload.attachment_id, now_ms, upload_seq
            )
            return True

        return await self._write(job, idempotent=True)

    async def fail_upload(self, upload_seq: int, reason: str, now_ms: int) -> None:
        # Only a processing upload fails (dom.may_finish's state), in one statement.
        """A processing upload becomes failed, with the reason."""

        async def job(tx: Tx) -> None:
            await tx.execute(
                FAIL_UPLOAD_SQL, dom.FAILED, reason, now_ms, upload_seq, dom.PROCESSING
            )

        await self._write(job, idempotent=True, single_statement=True)

    # --- sweeping ------------------------------------------------------------------

    async def purge_expired_sets(self, now_ms: int, limit: int) -> list[str]:
        """Delete the attachments of up to `limit` expired, unused sets (the set rows stay,
        marked purged, so their ids still answer AttachmentSetExpired); their blob keys."""

        async def job(tx: Tx) -> list[str]:
            seqs = [row[0] for row in await tx.fetch(EXPIRED_SETS_SQL, now_ms, limit)]
            if not seqs:
                return []
            rows = await tx.fetch(PURGE_SET_FILES_SQL, seqs)
            await tx.execute(MARK_SETS_PURGED_SQL, now_ms, seqs)
            return [row[0] for row in rows]

        return await self._write(job, idempotent=True)

    async def purge_abandoned_uploads(self, created_before_ms: int, limit: int) -> list[str]:
        """Delete up to `limit` uploads created before the time and never attached, with
        their parts and their (unattached) attachment; the blob prefixes and keys to
        delete."""

        async def job(tx: Tx) -> list[str]:
            doomed: list[str] = []
            for seq, upload_id, attachment_id in await tx.fetch(
                ABANDONED_UPLOADS_SQL, created_before_ms, limit
            ):
                keys: list[str] = []
                if attachment_id is not None:
                    keys = [row[0] for row in await tx.fetch(PURGE_UPLOAD_FILE_SQL, attachment_id)]
                doomed.extend(dom.abandoned_upload_blobs(upload_id, attachment_id, keys))
                await tx.execute(DELETE_PARTS_SQL, seq)
                await tx.execute(DELETE_UPLOAD_SQL, seq)
            return doomed

        return await self._write(job, idempotent=True)

    async def stalled_uploads(self, updated_before_ms: int, limit: int) -> list[UploadRecord]:
        # No index on state: a scan of the uploads.
        """Uploads still processing that last changed before the time."""
        return await self._records(
            upload_record, STALLED_SQL, dom.PROCESSING, updated_before_ms, limit, scan=True
        )

    async def referenced_blob_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these blob keys a row refers to (an attachment, or a part of an upload
        that still exists, by its prefix)."""
        if not keys:
            return set()

        # blob_key is not indexed: a scan of both tables.
        async def job(tx: Tx) -> set[str]:
            return {row[0] for row in await tx.fetch(REFERENCED_KEYS_SQL, list(keys))}

        return await self._scan(job)

    async def export_blob_keys(self) -> AsyncIterator[str]:
        """Every blob key a row refers to, for `supportd export`."""
        for sql in EXPORT_KEYS_SQL:
            after = 0
            while True:

                async def job(tx: Tx, start: int = after, text: str = sql) -> list[Row]:
                    return await tx.fetch(text, start, EXPORT_BATCH)

                rows = await self._scan(job)
                for row in rows:
                    yield row[1]
                if len(rows) < EXPORT_BATCH:
                    break
                after = rows[-1][0]
