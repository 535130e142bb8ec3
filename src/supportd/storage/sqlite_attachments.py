"""The embedded store's attachment sets, uploads and attachments; file bytes in the blob
directory next to the database (`<data-dir>/blobs`)."""

from __future__ import annotations

import sqlite3
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
from supportd.storage.blobs import BlobStore, DirectoryBlobs
from supportd.storage.rows import (
    ATTACHMENT_COLUMNS,
    attachment_record,
    set_record,
    upload_record,
)
from supportd.storage.sqlite_core import SQLiteCore

SET_COLUMNS = (
    "s.seq, s.set_id, s.account_id, s.created_ms, s.expires_ms, s.consumed_ms,"
    " (SELECT COUNT(*) FROM attachments a WHERE a.set_seq = s.seq)"
)
UPLOAD_COLUMNS = (
    "u.seq, u.upload_id, u.account_id, u.file_name, u.size_bytes, u.part_bytes, u.total_parts,"
    " u.state, u.failure, u.attachment_id,"
    " (SELECT COUNT(*) FROM upload_parts p WHERE p.upload_seq = u.seq AND p.completed = 1),"
    " u.consumed_ms, u.created_ms, u.updated_ms"
)
EXPORT_BATCH = 1000


def _select_set(conn: sqlite3.Connection, set_id: str) -> AttachmentSetRecord | None:
    row = conn.execute(
        f"SELECT {SET_COLUMNS} FROM attachment_sets s WHERE s.set_id = ?", (set_id,)
    ).fetchone()
    return set_record(row) if row else None


def _select_upload(conn: sqlite3.Connection, where: str, arg: Any) -> UploadRecord | None:
    row = conn.execute(f"SELECT {UPLOAD_COLUMNS} FROM uploads u WHERE {where}", (arg,)).fetchone()
    return upload_record(row) if row else None


def _insert_attachment(
    conn: sqlite3.Connection, account_id: str, set_seq: int | None, file: NewAttachment
) -> None:
    conn.execute(
        "INSERT INTO attachments (attachment_id, account_id, file_name, size_bytes, blob_key,"
        " set_seq, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            file.attachment_id,
            account_id,
            file.file_name,
            file.size_bytes,
            file.blob_key,
            set_seq,
            file.created_ms,
        ),
    )


def claim_attachments(conn: sqlite3.Connection, comm_seq: int, claim: AttachmentClaim) -> None:
    """Attach a set and ready uploads to a communication being inserted, in its
    transaction (called by the cases area): the set is consumed, the uploads attached.
    Raises the rule's error (and the caller's transaction rolls back) if the set is
    unknown, used or expired, or an upload is unknown, not ready or attached."""
    now = claim.now_ms
    if claim.set_id is not None:
        found = _select_set(conn, claim.set_id)
        if found is None or found.account_id != claim.account_id:
            raise dom.AttachmentSetNotFound(claim.set_id)
        if found.consumed_ms is not None:
            raise dom.AttachmentSetNotFound(claim.set_id, used=True)
        if found.expires_ms <= now:
            raise dom.AttachmentSetExpired(claim.set_id)
        conn.execute("UPDATE attachment_sets SET consumed_ms = ? WHERE seq = ?", (now, found.seq))
        position = conn.execute(
            "UPDATE attachments SET communication_seq = ?, position = (SELECT COUNT(*)"
            " FROM attachments b WHERE b.set_seq = ? AND b.seq <= attachments.seq)"
            " WHERE set_seq = ?",
            (comm_seq, found.seq, found.seq),
        ).rowcount
    else:
        position = 0
    for upload_id in claim.upload_ids:
        upload = _select_upload(conn, "u.upload_id = ?", upload_id)
        problem = dom.claim_problem(upload, upload_id, claim.account_id)
        if problem is not None:
            raise problem
        assert upload is not None
        conn.execute("UPDATE uploads SET consumed_ms = ? WHERE seq = ?", (now, upload.seq))
        position += 1
        conn.execute(
            "UPDATE attachments SET communication_seq = ?, position = ? WHERE attachment_id = ?",
            (comm_seq, position, upload.attachment_id),
        )


class SQLiteAttachments(SQLiteCore):
    @property
    def blobs(self) -> BlobStore:
        store: DirectoryBlobs | None = getattr(self, "_blobs", None)
        if store is None:
            store = DirectoryBlobs(self.path.parent / "blobs")
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
        def job(conn: sqlite3.Connection) -> AttachmentSetRecord:
            if set_id is None:
                if rules.creation_limit > 0:
                    (recent,) = conn.execute(
                        "SELECT COUNT(*) FROM attachment_sets WHERE account_id = ?"
                        " AND created_ms > ?",
                        (account_id, now_ms - rules.window_ms),
                    ).fetchone()
                    if recent >= rules.creation_limit:
                        raise dom.AttachmentSetLimit(account_id)
                if len(files) > rules.max_files:
                    raise dom.AttachmentSetFull(len(files))
                cursor = conn.execute(
                    "INSERT INTO attachment_sets (set_id, account_id, created_ms, expires_ms)"
                    " VALUES (?, ?, ?, ?)",
                    (new_set_id, account_id, now_ms, now_ms + rules.expiry_ms),
                )
                seq = cursor.lastrowid
                assert seq is not None
            else:
                found = _select_set(conn, set_id)
                dom.check_set_for_adding(found, account_id, set_id, len(files), rules, now_ms)
                assert found is not None
                seq = found.seq
            for file in files:
                _insert_attachment(conn, account_id, seq, file)
            row = conn.execute(
                f"SELECT {SET_COLUMNS} FROM attachment_sets s WHERE s.seq = ?", (seq,)
            ).fetchone()
            return set_record(row)

        return await self._writer.submit(job)

    async def get_attachment_set(self, account_id: str, set_id: str) -> AttachmentSetRecord | None:
        found = _select_set(self._db, set_id)
        return found if found is not None and found.account_id == account_id else None

    async def count_recent_sets(self, account_id: str, since_ms: int) -> int:
        (count,) = self._db.execute(
            "SELECT COUNT(*) FROM attachment_sets WHERE account_id = ? AND created_ms > ?",
            (account_id, since_ms),
        ).fetchone()
        return int(count)

    # --- attachments ---------------------------------------------------------------

    async def get_attachment(self, attachment_id: str) -> AttachmentRecord | None:
        row = self._db.execute(
            f"SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE attachment_id = ?",
            (attachment_id,),
        ).fetchone()
        return attachment_record(row) if row else None

    async def attachments_of(
        self, communication_seqs: Sequence[int]
    ) -> dict[int, list[AttachmentRecord]]:
        result: dict[int, list[AttachmentRecord]] = {}
        if not communication_seqs:
            return result
        marks = ", ".join("?" * len(communication_seqs))
        for row in self._db.execute(
            f"SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE communication_seq IN ({marks})"
            " ORDER BY communication_seq, position",
            tuple(communication_seqs),
        ):
            record = attachment_record(row)
            assert record.communication_seq is not None
            result.setdefault(record.communication_seq, []).append(record)
        return result

    # --- uploads ---------------------------------------------------------------------

    async def create_upload(self, upload: NewUpload) -> UploadRecord:
        def job(conn: sqlite3.Connection) -> UploadRecord:
            conn.execute(
                "INSERT INTO uploads (upload_id, account_id, file_name, size_bytes, part_bytes,"
                " total_parts, state, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    upload.upload_id,
                    upload.account_id,
                    upload.file_name,
                    upload.size_bytes,
                    upload.part_bytes,
                    upload.total_parts,
                    dom.UPLOADING,
                    upload.created_ms,
                    upload.created_ms,
                ),
            )
            found = _select_upload(conn, "u.upload_id = ?", upload.upload_id)
            assert found is not None
            return found

        return await self._writer.submit(job)

    async def get_upload(self, upload_id: str) -> UploadRecord | None:
        return _select_upload(self._db, "u.upload_id = ?", upload_id)

    async def list_parts(self, upload_seq: int) -> list[PartRecord]:
        return [
            PartRecord(row[0], row[1], row[2], row[3], bool(row[4]))
            for row in self._db.execute(
                "SELECT part_index, size_bytes, etag, blob_key, completed FROM upload_parts"
                " WHERE upload_seq = ? ORDER BY part_index",
                (upload_seq,),
            )
        ]

    async def record_part(
        self,
        upload_seq: int,
        index: int,
        size_bytes: int,
        etag: str,
        blob_key: str,
        now_ms: int,
    ) -> str | None:
        def job(conn: sqlite3.Connection) -> str | None:
            upload = _select_upload(conn, "u.seq = ?", upload_seq)
            if upload is None or upload.state != dom.UPLOADING:
                raise dom.UploadClosed(upload_seq)
            row = conn.execute(
                "SELECT blob_key, completed FROM upload_parts WHERE upload_seq = ?"
                " AND part_index = ?",
                (upload_seq, index),
            ).fetchone()
            if row is not None and row[1]:
                raise dom.PartFrozen(index)
            conn.execute(
                "INSERT INTO upload_parts (upload_seq, part_index, size_bytes, etag, blob_key,"
                " uploaded_ms, completed) VALUES (?, ?, ?, ?, ?, ?, 0)"
                " ON CONFLICT (upload_seq, part_index) DO UPDATE SET size_bytes ="
                " excluded.size_bytes, etag = excluded.etag, blob_key = excluded.blob_key,"
                " uploaded_ms = excluded.uploaded_ms",
                (upload_seq, index, size_bytes, etag, blob_key, now_ms),
            )
            conn.execute("UPDATE uploads SET updated_ms = ? WHERE seq = ?", (now_ms, upload_seq))
            return str(row[0]) if row is not None else None

        return await self._writer.submit(job)

    async def complete_parts(
        self,
        upload_seq: int,
        reported: Sequence[tuple[int, str]],
        attachment_id: str,
        now_ms: int,
    ) -> UploadRecord:
        def job(conn: sqlite3.Connection) -> UploadRecord:
            upload = _select_upload(conn, "u.seq = ?", upload_seq)
            assert upload is not None
            if upload.state == dom.UPLOADING:
                parts = {
                    row[0]: row[1]
                    for row in conn.execute(
                        "SELECT part_index, etag FROM upload_parts WHERE upload_seq = ?",
                        (upload_seq,),
                    )
                }
                dom.check_reported_parts(upload, parts, reported)
                for index, _ in reported:
                    conn.execute(
                        "UPDATE upload_parts SET completed = 1 WHERE upload_seq = ?"
                        " AND part_index = ?",
                        (upload_seq, index),
                    )
                (done,) = conn.execute(
                    "SELECT COUNT(*) FROM upload_parts WHERE upload_seq = ? AND completed = 1",
                    (upload_seq,),
                ).fetchone()
                if done == upload.total_parts:
                    conn.execute(
                        "UPDATE uploads SET state = ?, attachment_id = ?, updated_ms = ?"
                        " WHERE seq = ?",
                        (dom.PROCESSING, attachment_id, now_ms, upload_seq),
                    )
                else:
                    conn.execute(
                        "UPDATE uploads SET updated_ms = ? WHERE seq = ?", (now_ms, upload_seq)
                    )
            found = _select_upload(conn, "u.seq = ?", upload_seq)
            assert found is not None
            return found

        return await self._writer.submit(job)

    async def finish_upload(self, upload_seq: int, attachment: NewAttachment, now_ms: int) -> bool:
        def job(conn: sqlite3.Connection) -> bool:
            upload = _select_upload(conn, "u.seq = ?", upload_seq)
            if upload is None or upload.state != dom.PROCESSING:
                return False
            _insert_attachment(conn, upload.account_id, None, attachment)
            # The parts' blobs go once this commits (the caller deletes the prefix).
            conn.execute("DELETE FROM upload_parts WHERE upload_seq = ?", (upload_seq,))
            conn.execute(
                "UPDATE uploads SET state = ?, updated_ms = ? WHERE seq = ?",
                (dom.READY, now_ms, upload_seq),
            )
            return True

        return await self._writer.submit(job)

    async def fail_upload(self, upload_seq: int, reason: str, now_ms: int) -> None:
        def job(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE uploads SET state = ?, failure = ?, updated_ms = ? WHERE seq = ?"
                " AND state = ?",
                (dom.FAILED, reason, now_ms, upload_seq, dom.PROCESSING),
            )

        await self._writer.submit(job)

    # --- sweeping ------------------------------------------------------------------

    async def purge_expired_sets(self, now_ms: int, limit: int) -> list[str]:
        def job(conn: sqlite3.Connection) -> list[str]:
            seqs = [
                row[0]
                for row in conn.execute(
                    "SELECT seq FROM attachment_sets WHERE consumed_ms IS NULL"
                    " AND purged_ms IS NULL AND expires_ms <= ? ORDER BY expires_ms LIMIT ?",
                    (now_ms, limit),
                )
            ]
            if not seqs:
                return []
            marks = ", ".join("?" * len(seqs))
            keys = [
                row[0]
                for row in conn.execute(
                    f"SELECT blob_key FROM attachments WHERE set_seq IN ({marks})"
                    " AND communication_seq IS NULL",
                    seqs,
                )
            ]
            conn.execute(
                f"DELETE FROM attachments WHERE set_seq IN ({marks}) AND communication_seq IS NULL",
                seqs,
            )
            conn.execute(
                f"UPDATE attachment_sets SET purged_ms = ? WHERE seq IN ({marks})",
                (now_ms, *seqs),
            )
            return keys

        return await self._writer.submit(job)

    async def purge_abandoned_uploads(self, created_before_ms: int, limit: int) -> list[str]:
        def job(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT seq, upload_id, attachment_id FROM uploads WHERE consumed_ms IS NULL"
                " AND created_ms < ? ORDER BY created_ms LIMIT ?",
                (created_before_ms, limit),
            ).fetchall()
            doomed: list[str] = []
            for seq, upload_id, attachment_id in rows:
                doomed.append(dom.upload_prefix(upload_id))
                if attachment_id is not None:
                    for (key,) in conn.execute(
                        "SELECT blob_key FROM attachments WHERE attachment_id = ?"
                        " AND communication_seq IS NULL",
                        (attachment_id,),
                    ):
                        doomed.append(key)
                    conn.execute(
                        "DELETE FROM attachments WHERE attachment_id = ?"
                        " AND communication_seq IS NULL",
                        (attachment_id,),
                    )
                    # An assembly that ran (or runs) without a row left its blob.
                    doomed.append(dom.attachment_blob_key(attachment_id))
                conn.execute("DELETE FROM upload_parts WHERE upload_seq = ?", (seq,))
                conn.execute("DELETE FROM uploads WHERE seq = ?", (seq,))
            return list(dict.fromkeys(doomed))

        return await self._writer.submit(job)

    async def stalled_uploads(self, updated_before_ms: int, limit: int) -> list[UploadRecord]:
        return [
            upload_record(row)
            for row in self._db.execute(
                f"SELECT {UPLOAD_COLUMNS} FROM uploads u WHERE u.state = ? AND u.updated_ms < ?"
                " ORDER BY u.updated_ms LIMIT ?",
                (dom.PROCESSING, updated_before_ms, limit),
            )
        ]

    async def referenced_blob_keys(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            marks = ", ".join("?" * len(batch))
            for table in ("attachments", "upload_parts"):
                found.update(
                    row[0]
                    for row in self._db.execute(
                        f"SELECT blob_key FROM {table} WHERE blob_key IN ({marks})", batch
                    )
                )
        return found

    async def export_blob_keys(self) -> AsyncIterator[str]:
        for table in ("attachments", "upload_parts"):
            after = 0
            while True:
                rows = self._db.execute(
                    f"SELECT seq, blob_key FROM {table} WHERE seq > ? ORDER BY seq LIMIT ?",
                    (after, EXPORT_BATCH),
                ).fetchall()
                for _, key in rows:
                    yield key
                if len(rows) < EXPORT_BATCH:
                    break
                after = rows[-1][0]
