"""File bytes, behind one interface: a blob directory (the SQLite store's) or chunks in
PostgreSQL (storage.postgres_blobs). An S3-compatible bucket is a third implementation of
the same protocol.

Blobs are streamed both ways in chunks of at most CHUNK_BYTES, so a 150 MB file never
sits whole in memory. Keys are made by supportd (`a/<xx>/<attachment id>` for
attachments, `u/<upload id>/<part>-<random>` for parts of uploads): `/`-separated
segments of `[A-Za-z0-9_.-]`. The database says which blobs exist; a blob nothing refers
to is garbage the sweeper removes.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import secrets
import shutil
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import IO, Protocol

from supportd.storage.errors import StoreFull
from supportd.storage.files import create_private, private_dir

CHUNK_BYTES = 1024 * 1024
_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")
_TMP_MARK = ".tmp-"


class BlobNotFound(KeyError):
    """No blob under this key."""


class BlobStore(Protocol):
    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Store the stream under `key`, replacing what was there; the size in bytes.
        Durable when it returns. If the stream raises, nothing is left under `key` and
        the error propagates."""

    def get(self, key: str) -> AsyncIterator[bytes]:
        """The blob's bytes, in chunks of at most CHUNK_BYTES; BlobNotFound (raised by
        the first step of the iteration) if there is none."""

    async def delete(self, key: str) -> None:
        """Remove a blob; nothing happens if there is none."""

    async def delete_prefix(self, prefix: str) -> None:
        """Remove every blob whose key starts with `prefix` (which ends with `/`)."""

    def list_keys(self, prefix: str, older_than_ms: int) -> AsyncIterator[str]:
        """Keys under `prefix` written before `older_than_ms` (for the garbage sweep),
        including the leftovers of writes that never finished."""


def check_key(key: str) -> list[str]:
    parts = key.split("/")
    if not all(_SEGMENT.fullmatch(p) and p not in (".", "..") for p in parts):
        raise ValueError(f"invalid blob key {key!r}")
    return parts


async def read_all(blobs: BlobStore, key: str) -> bytes:
    """A small blob whole (attachments of a set: 5 MB at most)."""
    return b"".join([chunk async for chunk in blobs.get(key)])


async def rechunk(chunks: AsyncIterable[bytes], size: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
    """The stream in pieces of exactly `size` bytes (the last may be shorter, and an empty
    stream gives one empty piece)."""
    buffer = bytearray()
    sent = False
    async for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
            sent = True
    if buffer or not sent:
        yield bytes(buffer)


class DirectoryBlobs:
    """Blobs as files under one directory (`<data-dir>/blobs`). A put writes a temporary
    file next to the target, fsyncs it and renames it into place, so a blob is either
    whole or absent, and survives the process being killed once put returns."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key))

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        path = self._path(key)
        tmp = path.with_name(f"{path.name}{_TMP_MARK}{secrets.token_hex(4)}")
        await asyncio.to_thread(private_dir, path.parent)
        handle = await asyncio.to_thread(_create, tmp)
        size = 0
        try:
            async for piece in rechunk(chunks):
                await asyncio.to_thread(handle.write, piece)
                size += len(piece)
            await asyncio.to_thread(_sync_and_close, handle)
            await asyncio.to_thread(os.replace, tmp, path)
        except BaseException as exc:
            # Closing flushes, which fails again on a full disk: the partial file goes
            # all the same.
            with contextlib.suppress(OSError):
                handle.close()
            with contextlib.suppress(OSError):
                tmp.unlink()
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                raise StoreFull(f"no space left for blob {key}") from exc
            raise
        return size

    async def get(self, key: str) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(open, self._path(key), "rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self._path(key).unlink)

    async def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix.rstrip("/"))
        await asyncio.to_thread(shutil.rmtree, path, True)

    async def list_keys(self, prefix: str, older_than_ms: int) -> AsyncIterator[str]:
        base = self._path(prefix.rstrip("/"))
        if not base.is_dir():
            return
        cutoff_s = older_than_ms / 1000
        for directory, _, files in os.walk(base):
            for name in files:
                path = Path(directory, name)
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime < cutoff_s:
                        yield path.relative_to(self.root).as_posix()
            await asyncio.sleep(0)


def _create(path: Path) -> IO[bytes]:
    """A new file, owner-only (files.create_private)."""
    return os.fdopen(create_private(path, os.O_WRONLY | os.O_TRUNC), "wb")


def _sync_and_close(handle: IO[bytes]) -> None:
    try:
        handle.flush()
        os.fsync(handle.fileno())
    finally:
        handle.close()
