"""TRANSITIONAL: attaching a set and uploads to a communication, per dialect, until the
attachments area is shared (storage.attachments)."""

from __future__ import annotations

from typing import Any

from supportd.domain.attachments import AttachmentClaim
from supportd.storage.sql import SQLITE, Tx


async def claim_attachments(tx: Tx, comm_seq: int, claim: AttachmentClaim) -> None:
    conn: Any = tx.conn  # type: ignore[attr-defined]
    if tx.dialect == SQLITE:
        from supportd.storage import sqlite_attachments

        sqlite_attachments.claim_attachments(conn, comm_seq, claim)
    else:
        from supportd.storage import postgres_attachments

        await postgres_attachments.claim_attachments(conn, comm_seq, claim)
