"""Attachments as staff see them: every account's, listed per communication of a case,
and downloaded through the same signed, expiring links as the API's
GetAttachmentDownloadLink (served by http/attachment_links.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from supportd.domain import presign
from supportd.operations.attachments import find_attachment, link_expires_s, signed_path
from supportd.operations.context import Context


async def communication_files(
    ctx: Context, communication_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    """The files of each communication: attachment id, file name and size."""
    found = await ctx.store.attachments_of(list(communication_ids))
    return {
        seq: [
            {"attachmentId": r.attachment_id, "fileName": r.file_name, "size": r.size_bytes}
            for r in records
        ]
        for seq, records in found.items()
    }


async def download_path(ctx: Context, attachment_id: str) -> str | None:
    """A signed link (path and query, on this server) to the attachment's file, or None
    if there is no such attachment."""
    found = await find_attachment(ctx, attachment_id)
    if found is None or found.communication_seq is None:
        return None
    path = presign.download_path(found.attachment_id)
    return signed_path(ctx.config, presign.DOWNLOAD_METHOD, path, link_expires_s(ctx))
