"""The scale-out store's attachment sets, uploads and attachments; file bytes in
PostgreSQL itself (storage.postgres_blobs), where every node reaches them.

Writes lock what they check (the set or upload row FOR UPDATE, an advisory lock per
account for the set-creation window), so two nodes adding to one set, or reporting parts
of one upload, apply the rules one after the other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from supportd.domain import attachments as dom
from supportd.domain.attachments import (
    AttachmentClaim,
    AttachmentRecord,
    AttachmentSetRecord,
    NewAttachment,
    NewUpload,
    PartRecord,
    SetRules,
    UploadRecord,
)
from supportd.storage.blobs import BlobStore
from supportd.storage.postgres_blobs import PostgresBlobs
from supportd.storage.postgres_core import Connection, PostgresCore
from supportd.storage.rows import (
    ATTACHMENT_COLUMNS,
    attachment_record,
    set_record,
    upload_record,
)

SET_COLUMNS = (
    "s.seq, s.set_id, s.account_id, s.created_ms, s.expires_ms, s.consumed_ms,"
    " (SELECT COUNT(*) FROM attachments a WHERE a.set_seq = s.seq)::int"
)
UPLOAD_COLUMNS = (
    "u.seq, u.upload_id, u.account_id, u.file_name, u.size_bytes, u.part_bytes, u.total_parts,"
    " u.state, u.failure, u.attachment_id,"
    " (SELECT COUNT(*) FROM upload_parts p WHERE p.upload_seq = u.seq AND p.completed)::int,"
    " u.consumed_ms, u.created_ms, u.updated_ms"
)
EXPORT_BATCH = 1000
# pg_advisory_xact_lock(SET_LOCK, hashtext(account)): one account's set creations in turn.
SET_LOCK = int.from_bytes(b"sets", "big")


async def _select_set(
    conn: Connection, set_id: str, *, for_update: bool = False
) -> AttachmentSetRecord | None:
    if for_update:
        await conn.execute("SELECT 1 FROM attachment_sets WHERE set_id = $1 FOR UPDATE", set_id)
    row = await conn.fetchrow(
        f"SELECT {SET_COLUMNS} FROM attachment_sets s WHERE s.set_id = $1", set_id
    )
    return set_record(row) if row else None


async def _select_upload(
    conn: Connection, where: str, arg: Any, *, for_update: bool = False
) -> UploadRecord | None:
    if for_update:
        # Lock the row first: the count of completed parts below must see every part
        # reported before the lock was granted.
        await conn.execute(f"SELECT 1 FROM uploads u WHERE {where} FOR UPDATE", arg)
    row = await conn.fetchrow(f"SELECT {UPLOAD_COLUMNS} FROM uploads u WHERE {where}", arg)
    return upload_record(row) if row else None


async def _insert_attachment(
    conn: Connection, account_id: str, set_seq: int | None, file: NewAttachment
) -> None:
    await conn.execute(
        "INSERT INTO attachments (attachment_id, account_id, file_name, size_bytes, blob_key,"
        " set_seq, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        file.attachment_id,
        account_id,
        file.file_name,
        file.size_bytes,
        file.blob_key,
        set_seq,
        file.created_ms,
    )


async def claim_attachments(conn: Connection, comm_seq: int, claim: AttachmentClaim) -> None:
    """Attach a set and ready uploads to a communication being inserted, in its
    transaction (called by the cases area): the set is consumed, the uploads attached.
    Raises the rule's error (and the caller's transaction rolls back) if the set is
    unknown, used or expired, or an upload is unknown, not ready or attached."""
    now = claim.now_ms
    if claim.set_id is not None:
        found = await _select_set(conn, claim.set_id, for_update=True)
        if found is None or found.account_id != claim.account_id:
            raise dom.AttachmentSetNotFound(claim.set_id)
        if found.consumed_ms is not None:
            raise dom.AttachmentSetNotFound(claim.set_id, used=True)
        if found.expires_ms <= now:
            raise dom.AttachmentSetExpired(claim.set_id)
        await conn.execute(
            "UPDATE attachment_sets SET consumed_ms = $1 WHERE seq = $2", now, found.seq
        )
        status: str = await conn.execute(
            "UPDATE attachments SET communication_seq = $1, position = (SELECT COUNT(*)"
            " FROM attachments b WHERE b.set_seq = $2 AND b.seq <= attachments.seq)"
            " WHERE set_seq = $2",
            comm_seq,
            found.seq,
        )
        position = int(status.split()[-1])
    else:
        position = 0
    for upload_id in claim.upload_ids:
        upload = await _select_upload(conn, "u.upload_id = $1", upload_id, for_update=True)
        problem = dom.claim_problem(upload, upload_id, claim.account_id)
        if problem is not None:
            raise problem
        assert upload is not None
        await conn.execute("UPDATE uploads SET consumed_ms = $1 WHERE seq = $2", now, upload.seq)
        position += 1
        await conn.execute(
            "UPDATE attachments SET communication_seq = $1, position = $2 WHERE attachment_id = $3",
            comm_seq,
            position,
            upload.attachment_id,
        )


class PostgresAttachments(PostgresCore):
    @property
    def blobs(self) -> BlobStore:
        store: PostgresBlobs | None = getattr(self, "_blobs", None)
        if store is None:
            store = PostgresBlobs(self)
            self._blobs = store
        return store

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
        async def job(conn: Connection) -> AttachmentSetRecord:
            if set_id is None:
                if rules.creation_limit > 0:
                    await conn.execute(
                        "SELECT pg_advisory_xact_lock($1::int, hashtext($2))",
                        SET_LOCK & 0x7FFFFFFF,
                        account_id,
                    )
                    recent = await conn.fetchval(
                        "SELECT COUNT(*) FROM attachment_sets WHERE account_id = $1"
                        " AND created_ms > $2",
                        account_id,
                        now_ms - rules.window_ms,
                    )
                    if recent >= rules.creation_limit:
                        raise dom.AttachmentSetLimit(account_id)
                if len(files) > rules.max_files:
                    raise dom.AttachmentSetFull(len(files))
                seq = await conn.fetchval(
                    "INSERT INTO attachment_sets (set_id, account_id, created_ms, expires_ms)"
                    " VALUES ($1, $2, $3, $4) RETURNING seq",
                    new_set_id,
                    account_id,
                    now_ms,
                    now_ms + rules.expiry_ms,
                )
            else:
                found = await _select_set(conn, set_id, for_update=True)
                dom.check_set_for_adding(found, account_id, set_id, len(files), rules, now_ms)
                assert found is not None
                seq = found.seq
            for file in files:
                await _insert_attachment(conn, account_id, seq, file)
            row = await conn.fetchrow(
                f"SELECT {SET_COLUMNS} FROM attachment_sets s WHERE s.seq = $1", seq
            )
            return set_record(row)

        return await self._write_conn(job)

    async def get_attachment_set(self, account_id: str, set_id: str) -> AttachmentSetRecord | None:
        found = await self._read_conn(lambda conn: _select_set(conn, set_id))
        return found if found is not None and found.account_id == account_id else None

    async def count_recent_sets(self, account_id: str, since_ms: int) -> int:
        async def job(conn: Connection) -> int:
            return int(
                await conn.fetchval(
                    "SELECT COUNT(*) FROM attachment_sets WHERE account_id = $1"
                    " AND created_ms > $2",
                    account_id,
                    since_ms,
                )
            )

        return await self._read_conn(job)

    # --- attachments ---------------------------------------------------------------

    async def get_attachment(self, attachment_id: str) -> AttachmentRecord | None:
        async def job(conn: Connection) -> AttachmentRecord | None:
            row = await conn.fetchrow(
                f"SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE attachment_id = $1",
                attachment_id,
            )
            return attachment_record(row) if row else None

        return await self._read_conn(job)

    async def attachments_of(
        self, communication_seqs: Sequence[int]
    ) -> dict[int, list[AttachmentRecord]]:
        result: dict[int, list[AttachmentRecord]] = {}
        if not communication_seqs:
            return result

        async def job(conn: Connection) -> list[Any]:
            return list(
                await conn.fetch(
                    f"SELECT {ATTACHMENT_COLUMNS} FROM attachments"
                    " WHERE communication_seq = ANY($1::bigint[])"
                    " ORDER BY communication_seq, position",
                    list(communication_seqs),
                )
            )

        for row in await self._read_conn(job):
            record = attachment_record(row)
            assert record.communication_seq is not None
            result.setdefault(record.communication_seq, []).append(record)
        return result

    # --- uploads ---------------------------------------------------------------------

    async def create_upload(self, upload: NewUpload) -> UploadRecord:
        async def job(conn: Connection) -> UploadRecord:
            await conn.execute(
                "INSERT INTO uploads (upload_id, account_id, file_name, size_bytes, part_bytes,"
                " total_parts, state, created_ms, updated_ms)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
                " ON CONFLICT (upload_id) DO NOTHING",
                upload.upload_id,
                upload.account_id,
                upload.file_name,
                upload.size_bytes,
                upload.part_bytes,
                upload.total_parts,
                dom.UPLOADING,
                upload.created_ms,
            )
            found = await _select_upload(conn, "u.upload_id = $1", upload.upload_id)
            assert found is not None
            return found

        # The id is chosen before the first attempt: a repeat after a lost COMMIT finds it.
        return await self._write_conn(job, idempotent=True)

    async def get_upload(self, upload_id: str) -> UploadRecord | None:
        return await self._read_conn(
            lambda conn: _select_upload(conn, "u.upload_id = $1", upload_id)
        )

    async def list_parts(self, upload_seq: int) -> list[PartRecord]:
        async def job(conn: Connection) -> list[PartRecord]:
            rows = await conn.fetch(
                "SELECT part_index, size_bytes, etag, blob_key, completed FROM upload_parts"
                " WHERE upload_seq = $1 ORDER BY part_index",
                upload_seq,
            )
            return [PartRecord(r[0], r[1], r[2], r[3], r[4]) for r in rows]

        return await self._read_conn(job)

    async def record_part(
        self,
        upload_seq: int,
        index: int,
        size_bytes: int,
        etag: str,
        blob_key: str,
        now_ms: int,
    ) -> str | None:
        async def job(conn: Connection) -> str | None:
            upload = await _select_upload(conn, "u.seq = $1", upload_seq, for_update=True)
            if upload is None or upload.state != dom.UPLOADING:
                raise dom.UploadClosed(upload_seq)
            row = await conn.fetchrow(
                "SELECT blob_key, completed FROM upload_parts WHERE upload_seq = $1"
                " AND part_index = $2",
                upload_seq,
                index,
            )
            if row is not None and row[1]:
                raise dom.PartFrozen(index)
            await conn.execute(
                "INSERT INTO upload_parts (upload_seq, part_index, size_bytes, etag, blob_key,"
                " uploaded_ms, completed) VALUES ($1, $2, $3, $4, $5, $6, FALSE)"
                " ON CONFLICT (upload_seq, part_index) DO UPDATE SET size_bytes ="
                " EXCLUDED.size_bytes, etag = EXCLUDED.etag, blob_key = EXCLUDED.blob_key,"
                " uploaded_ms = EXCLUDED.uploaded_ms",
                upload_seq,
                index,
                size_bytes,
                etag,
                blob_key,
                now_ms,
            )
            await conn.execute(
                "UPDATE uploads SET updated_ms = $1 WHERE seq = $2", now_ms, upload_seq
            )
            return str(row[0]) if row is not None else None

        # Repeating it after a lost COMMIT writes the same row again.
        return await self._write_conn(job, idempotent=True)

    async def complete_parts(
        self,
        upload_seq: int,
        reported: Sequence[tuple[int, str]],
        attachment_id: str,
        now_ms: int,
    ) -> UploadRecord:
        async def job(conn: Connection) -> UploadRecord:
            upload = await _select_upload(conn, "u.seq = $1", upload_seq, for_update=True)
            assert upload is not None
            if upload.state == dom.UPLOADING:
                rows = await conn.fetch(
                    "SELECT part_index, etag FROM upload_parts WHERE upload_seq = $1", upload_seq
                )
                dom.check_reported_parts(upload, {r[0]: r[1] for r in rows}, reported)
                await conn.execute(
                    "UPDATE upload_parts SET completed = TRUE WHERE upload_seq = $1"
                    " AND part_index = ANY($2::int[])",
                    upload_seq,
                    sorted({index for index, _ in reported}),
                )
                done = await conn.fetchval(
                    "SELECT COUNT(*) FROM upload_parts WHERE upload_seq = $1 AND completed",
                    upload_seq,
                )
                if done == upload.total_parts:
                    await conn.execute(
                        "UPDATE uploads SET state = $1, attachment_id = $2, updated_ms = $3"
                        " WHERE seq = $4",
                        dom.PROCESSING,
                        attachment_id,
                        now_ms,
                        upload_seq,
                    )
                else:
                    await conn.execute(
                        "UPDATE uploads SET updated_ms = $1 WHERE seq = $2", now_ms, upload_seq
                    )
            found = await _select_upload(conn, "u.seq = $1", upload_seq)
            assert found is not None
            return found

        # Marking parts complete again changes nothing, and the attachment id is only
        # set on the move to processing.
        return await self._write_conn(job, idempotent=True)

    async def finish_upload(self, upload_seq: int, attachment: NewAttachment, now_ms: int) -> bool:
        async def job(conn: Connection) -> bool:
            upload = await _select_upload(conn, "u.seq = $1", upload_seq, for_update=True)
            if upload is None or upload.state != dom.PROCESSING:
                return False
            await _insert_attachment(conn, upload.account_id, None, attachment)
            # The parts' blobs go once this commits (the caller deletes the prefix).
            await conn.execute("DELETE FROM upload_parts WHERE upload_seq = $1", upload_seq)
            await conn.execute(
                "UPDATE uploads SET state = $1, updated_ms = $2 WHERE seq = $3",
                dom.READY,
                now_ms,
                upload_seq,
            )
            return True

        return await self._write_conn(job, idempotent=True)

    async def fail_upload(self, upload_seq: int, reason: str, now_ms: int) -> None:
        async def job(conn: Connection) -> None:
            await conn.execute(
                "UPDATE uploads SET state = $1, failure = $2, updated_ms = $3 WHERE seq = $4"
                " AND state = $5",
                dom.FAILED,
                reason,
                now_ms,
                upload_seq,
                dom.PROCESSING,
            )

        await self._write_conn(job, idempotent=True, single_statement=True)

    # --- sweeping ------------------------------------------------------------------

    async def purge_expired_sets(self, now_ms: int, limit: int) -> list[str]:
        async def job(conn: Connection) -> list[str]:
            seqs = [
                row[0]
                for row in await conn.fetch(
                    "SELECT seq FROM attachment_sets WHERE consumed_ms IS NULL"
                    " AND purged_ms IS NULL AND expires_ms <= $1 ORDER BY expires_ms LIMIT $2"
                    " FOR UPDATE SKIP LOCKED",
                    now_ms,
                    limit,
                )
            ]
            if not seqs:
                return []
            rows = await conn.fetch(
                "DELETE FROM attachments WHERE set_seq = ANY($1::bigint[])"
                " AND communication_seq IS NULL RETURNING blob_key",
                seqs,
            )
            await conn.execute(
                "UPDATE attachment_sets SET purged_ms = $1 WHERE seq = ANY($2::bigint[])",
                now_ms,
                seqs,
            )
            return [row[0] for row in rows]

        return await self._write_conn(job, idempotent=True)

    async def purge_abandoned_uploads(self, created_before_ms: int, limit: int) -> list[str]:
        async def job(conn: Connection) -> list[str]:
            rows = await conn.fetch(
                "SELECT seq, upload_id, attachment_id FROM uploads WHERE consumed_ms IS NULL"
                " AND created_ms < $1 ORDER BY created_ms LIMIT $2 FOR UPDATE SKIP LOCKED",
                created_before_ms,
                limit,
            )
            doomed: list[str] = []
            for seq, upload_id, attachment_id in rows:
                doomed.append(dom.upload_prefix(upload_id))
                if attachment_id is not None:
                    deleted = await conn.fetch(
                        "DELETE FROM attachments WHERE attachment_id = $1"
                        " AND communication_seq IS NULL RETURNING blob_key",
                        attachment_id,
                    )
                    doomed.extend(row[0] for row in deleted)
                    # An assembly that ran (or runs) without a row left its blob.
                    doomed.append(dom.attachment_blob_key(attachment_id))
                await conn.execute("DELETE FROM upload_parts WHERE upload_seq = $1", seq)
                await conn.execute("DELETE FROM uploads WHERE seq = $1", seq)
            return list(dict.fromkeys(doomed))

        return await self._write_conn(job, idempotent=True)

    async def stalled_uploads(self, updated_before_ms: int, limit: int) -> list[UploadRecord]:
        async def job(conn: Connection) -> list[UploadRecord]:
            rows = await conn.fetch(
                f"SELECT {UPLOAD_COLUMNS} FROM uploads u WHERE u.state = $1"
                " AND u.updated_ms < $2 ORDER BY u.updated_ms LIMIT $3",
                dom.PROCESSING,
                updated_before_ms,
                limit,
            )
            return [upload_record(row) for row in rows]

        return await self._read_conn(job)

    async def referenced_blob_keys(self, keys: Sequence[str]) -> set[str]:
        async def job(conn: Connection) -> set[str]:
            rows = await conn.fetch(
                "SELECT blob_key FROM attachments WHERE blob_key = ANY($1::text[])"
                " UNION SELECT blob_key FROM upload_parts WHERE blob_key = ANY($1::text[])",
                list(keys),
            )
            return {row[0] for row in rows}

        return await self._read_conn(job) if keys else set()

    async def export_blob_keys(self) -> AsyncIterator[str]:
        for table in ("attachments", "upload_parts"):
            after = 0
            while True:

                async def job(conn: Connection, start: int = after, t: str = table) -> list[Any]:
                    return list(
                        await conn.fetch(
                            f"SELECT seq, blob_key FROM {t} WHERE seq > $1 ORDER BY seq LIMIT $2",
                            start,
                            EXPORT_BATCH,
                        )
                    )

                rows = await self._read_conn(job)
                for row in rows:
                    yield row[1]
                if len(rows) < EXPORT_BATCH:
                    break
                after = rows[-1][0]
