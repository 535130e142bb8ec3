"""Blobs as rows of 1 MiB in PostgreSQL (`blob_chunks`), so every node reaches every file.

Each chunk is written by its own short statement (a pool connection is held for one
chunk, never for a whole slow upload) and read the same way. A put that does not finish
leaves chunks under a key nothing refers to: the caller deletes them, and the sweeper
removes whatever a dying node left behind. Chunk 0 always exists (empty for an empty
blob), so a missing chunk 0 means a missing blob.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING

from supportd.storage.blobs import BlobNotFound, check_key, rechunk

if TYPE_CHECKING:
    from supportd.storage.postgres_core import Connection, PostgresCore

LIST_BATCH = 500


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class PostgresBlobs:
    def __init__(self, core: PostgresCore) -> None:
        self.core = core

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        check_key(key)
        now = time.time_ns() // 1_000_000

        async def clear(conn: Connection) -> None:
            await conn.execute("DELETE FROM blob_chunks WHERE blob_key = $1", key)

        await self.core._write(clear, idempotent=True, single_statement=True)
        size = 0
        index = 0
        try:
            async for piece in rechunk(chunks):

                async def insert(conn: Connection, i: int = index, data: bytes = piece) -> None:
                    await conn.execute(
                        "INSERT INTO blob_chunks (blob_key, chunk_index, data, created_ms)"
                        " VALUES ($1, $2, $3, $4) ON CONFLICT (blob_key, chunk_index)"
                        " DO UPDATE SET data = EXCLUDED.data",
                        key,
                        i,
                        data,
                        now,
                    )

                await self.core._write(insert, idempotent=True, single_statement=True)
                size += len(piece)
                index += 1
        except BaseException:
            with contextlib.suppress(Exception):
                await self.delete(key)
            raise
        return size

    async def get(self, key: str) -> AsyncIterator[bytes]:
        check_key(key)
        index = 0
        while True:

            async def fetch(conn: Connection, i: int = index) -> bytes | None:
                data: bytes | None = await conn.fetchval(
                    "SELECT data FROM blob_chunks WHERE blob_key = $1 AND chunk_index = $2",
                    key,
                    i,
                )
                return data

            data = await self.core._read(fetch)
            if data is None:
                if index == 0:
                    raise BlobNotFound(key)
                return
            if data:
                yield data
            index += 1

    async def delete(self, key: str) -> None:
        async def job(conn: Connection) -> None:
            await conn.execute("DELETE FROM blob_chunks WHERE blob_key = $1", key)

        await self.core._write(job, idempotent=True, single_statement=True)

    async def delete_prefix(self, prefix: str) -> None:
        async def job(conn: Connection) -> None:
            await conn.execute(
                "DELETE FROM blob_chunks WHERE blob_key LIKE $1", _like_prefix(prefix)
            )

        await self.core._write(job, idempotent=True, single_statement=True)

    async def list_keys(self, prefix: str, older_than_ms: int) -> AsyncIterator[str]:
        after = ""
        while True:

            async def job(conn: Connection, start: str = after) -> list[str]:
                rows = await conn.fetch(
                    "SELECT DISTINCT blob_key FROM blob_chunks WHERE blob_key LIKE $1"
                    " AND blob_key > $2 AND created_ms < $3 ORDER BY blob_key LIMIT $4",
                    _like_prefix(prefix),
                    start,
                    older_than_ms,
                    LIST_BATCH,
                )
                return [row[0] for row in rows]

            keys = await self.core._read(job)
            for key in keys:
                yield key
            if len(keys) < LIST_BATCH:
                return
            after = keys[-1]
