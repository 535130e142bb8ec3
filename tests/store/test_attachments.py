"""The attachments area of both stores, in process: the rules hold under concurrent
writers ("two nodes" are two store objects on one database), the sweeper's purges, and
upload processing when something is wrong with the parts."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from supportd.config import Config
from supportd.domain import attachments as dom
from supportd.domain.attachments import (
    AttachmentClaim,
    NewAttachment,
    NewUpload,
    SetRules,
    UploadRules,
)
from supportd.domain.jobs import Job
from supportd.domain.records import CUSTOMER, NewCase, NewCommunication
from supportd.operations import attachments
from supportd.operations.context import Context
from supportd.reference import catalogue
from supportd.storage.base import Store
from supportd.storage.blobs import BlobNotFound, read_all
from supportd.storage.postgres import PostgresStore
from supportd.storage.sqlite import SQLiteStore

T0 = 1_700_000_000_000
ACCOUNT = "111122223333"
RULES = SetRules(max_files=3, expiry_ms=3_600_000, creation_limit=4, window_ms=3_600_000)


def _other_node(store: Store) -> Store:
    if isinstance(store, SQLiteStore):
        return SQLiteStore(Path(store.path))
    assert isinstance(store, PostgresStore)
    return PostgresStore(store.url, pool_size=4)


def _file(name: str = "a.txt", size: int = 1) -> NewAttachment:
    attachment_id = dom.new_attachment_id()
    return NewAttachment(attachment_id, name, size, dom.attachment_blob_key(attachment_id), T0)


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_concurrent_adds_never_overfill_a_set(store: Store) -> None:
    other = _other_node(store)
    await other.open()
    try:
        made = await store.add_to_attachment_set(ACCOUNT, None, dom.new_set_id(), [], RULES, T0)
        results = await asyncio.gather(
            *(
                node.add_to_attachment_set(ACCOUNT, made.set_id, "", [_file()], RULES, T0 + 1)
                for node in (store, other) * 4
            ),
            return_exceptions=True,
        )
    finally:
        await other.close()
    assert sum(not isinstance(r, Exception) for r in results) == 3
    assert all(isinstance(r, dom.AttachmentSetFull) for r in results if isinstance(r, Exception))
    found = await store.get_attachment_set(ACCOUNT, made.set_id)
    assert found is not None and found.file_count == 3


async def test_the_set_creation_limit_is_exact_across_nodes(store: Store) -> None:
    other = _other_node(store)
    await other.open()
    try:
        results = await asyncio.gather(
            *(
                node.add_to_attachment_set(ACCOUNT, None, dom.new_set_id(), [_file()], RULES, T0)
                for node in (store, other) * 5
            ),
            return_exceptions=True,
        )
    finally:
        await other.close()
    assert sum(not isinstance(r, Exception) for r in results) == RULES.creation_limit
    assert await store.count_recent_sets(ACCOUNT, T0 - 1) == RULES.creation_limit
    # Another account, or the next window, is not limited.
    await store.add_to_attachment_set("999999999999", None, dom.new_set_id(), [], RULES, T0)
    later = T0 + RULES.window_ms + 1
    await store.add_to_attachment_set(ACCOUNT, None, dom.new_set_id(), [], RULES, later)


async def test_a_set_is_claimed_once_even_by_racing_communications(store: Store) -> None:
    made = await store.add_to_attachment_set(
        ACCOUNT, None, dom.new_set_id(), [_file("a"), _file("b")], RULES, T0
    )
    cases = []
    for n in range(4):
        case = NewCase(
            f"case-{ACCOUNT}-supd-2023-{n:016x}", ACCOUNT, "s", None, None, "low", "en",
            "technical", "e", (), T0,
        )  # fmt: skip
        first = NewCommunication("b", "me", CUSTOMER, (), T0)
        cases.append(await store.create_case(case, first))
    claim = AttachmentClaim(ACCOUNT, made.set_id, (), T0 + 5)
    reply = NewCommunication("r", "me", CUSTOMER, (), T0 + 5, attachments=claim)
    results = await asyncio.gather(
        *(store.add_communication(ACCOUNT, case.case_id, reply) for case in cases),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(
        isinstance(r, dom.AttachmentSetNotFound) and r.used
        for r in results
        if isinstance(r, Exception)
    )
    # The losers' replies were not written.
    recent = await store.recent_communications([case.seq for case in cases], 10)
    assert sum(len(comms) for comms in recent.values()) == 4 + 1


async def test_purges(store: Store) -> None:
    config = Config()
    files = [_file("a", 3), _file("b", 3)]
    for file in files:
        await store.blobs.put(file.blob_key, _one(b"abc"))
    expired = await store.add_to_attachment_set(ACCOUNT, None, "as-old", files, RULES, T0)
    keys = await store.purge_expired_sets(T0 + RULES.expiry_ms, 100)
    assert sorted(keys) == sorted(f.blob_key for f in files)
    assert await store.purge_expired_sets(T0 + RULES.expiry_ms, 100) == []
    found = await store.get_attachment_set(ACCOUNT, expired.set_id)
    assert found is not None and found.file_count == 0  # the id still answers: expired
    upload = await store.create_upload(NewUpload(dom.new_upload_id(), ACCOUNT, "f", 10, 10, 1, T0))
    key = dom.part_blob_key(upload.upload_id, 1)
    await store.blobs.put(key, _one(b"x" * 10))
    assert await store.record_part(upload.seq, 1, 10, "etag", key, T0) is None
    assert await store.referenced_blob_keys([key, "a/zz/nothing"]) == {key}
    doomed = await store.purge_abandoned_uploads(T0 + 1, 100)
    assert doomed == [dom.upload_prefix(upload.upload_id)]
    assert await store.get_upload(upload.upload_id) is None
    assert config.upload_expiry_s > 0


def _upload(size: int, account: str = ACCOUNT) -> NewUpload:
    return NewUpload(dom.new_upload_id(), account, "big.bin", size, size, 1, T0)


async def test_open_uploads_are_capped_exactly_across_nodes(store: Store) -> None:
    rules = UploadRules(max_open=3, max_open_bytes=0)
    other = _other_node(store)
    await other.open()
    try:
        results = await asyncio.gather(
            *(node.create_upload(_upload(10), rules) for node in (store, other) * 4),
            return_exceptions=True,
        )
    finally:
        await other.close()
    made = [r for r in results if not isinstance(r, BaseException)]
    assert len(made) == 3
    assert all(isinstance(r, dom.UploadLimit) for r in results if isinstance(r, BaseException))
    assert await store.count_open_uploads(ACCOUNT) == (3, 30)
    # Another account has its own allowance.
    assert (await store.create_upload(_upload(10, "999988887777"), rules)).state == dom.UPLOADING


async def test_open_upload_bytes_are_capped(store: Store) -> None:
    rules = UploadRules(max_open=0, max_open_bytes=1000)
    await store.create_upload(_upload(600), rules)
    with pytest.raises(dom.UploadLimit) as info:
        await store.create_upload(_upload(401), rules)
    assert (info.value.open_count, info.value.open_bytes, info.value.adding) == (1, 600, 401)
    await store.create_upload(_upload(400), rules)  # exactly the allowance
    assert await store.count_open_uploads(ACCOUNT) == (2, 1000)
    # Without rules (or with 0s) nothing is counted.
    await store.create_upload(_upload(10_000))


async def test_an_upload_made_again_after_a_lost_commit_is_not_counted_twice(
    store: Store,
) -> None:
    rules = UploadRules(max_open=1, max_open_bytes=0)
    new = _upload(10)
    first = await store.create_upload(new, rules)
    again = await store.create_upload(new, rules)  # at the cap: it is the same upload
    assert again.seq == first.seq
    with pytest.raises(dom.UploadLimit):
        await store.create_upload(_upload(10), rules)


async def test_attached_uploads_no_longer_count(store: Store) -> None:
    rules = UploadRules(max_open=1, max_open_bytes=0)
    upload = await store.create_upload(_upload(5), rules)
    key = dom.part_blob_key(upload.upload_id, 1)
    await store.blobs.put(key, _one(b"hello"))
    etag = hashlib.md5(b"hello").hexdigest()
    await store.record_part(upload.seq, 1, 5, etag, key, T0)
    done = await store.complete_parts(upload.seq, [(1, etag)], dom.new_attachment_id(), T0)
    assert done.attachment_id is not None
    attachment = NewAttachment(
        done.attachment_id, "big.bin", 5, dom.attachment_blob_key(done.attachment_id), T0
    )
    assert await store.finish_upload(upload.seq, attachment, T0)
    with pytest.raises(dom.UploadLimit):  # ready but not attached: still open
        await store.create_upload(_upload(5), rules)
    case = NewCase(
        f"case-{ACCOUNT}-supd-2023-{1:016x}", ACCOUNT, "s", None, None, "low", "en",
        "technical", "e", (), T0,
    )  # fmt: skip
    claim = AttachmentClaim(ACCOUNT, None, (upload.upload_id,), T0)
    await store.create_case(case, NewCommunication("b", "me", CUSTOMER, (), T0, attachments=claim))
    assert await store.count_open_uploads(ACCOUNT) == (0, 0)
    assert (await store.create_upload(_upload(5), rules)).state == dom.UPLOADING


async def test_processing_fails_cleanly_when_a_part_is_gone(store: Store) -> None:
    ctx = Context(config=Config(), catalogue=catalogue.load(), store=store)
    upload = await store.create_upload(
        NewUpload(dom.new_upload_id(), ACCOUNT, "f.bin", 20, 10, 2, T0)
    )
    etags = {}
    for index in (1, 2):
        key = dom.part_blob_key(upload.upload_id, index)
        await store.blobs.put(key, _one(bytes([index]) * 10))
        etags[index] = hashlib.md5(bytes([index]) * 10).hexdigest()
        await store.record_part(upload.seq, index, 10, etags[index], key, T0)
    parts = await store.list_parts(upload.seq)
    await store.blobs.delete(parts[1].blob_key)  # lost behind supportd's back
    done = await store.complete_parts(
        upload.seq, [(1, etags[1]), (2, etags[2])], dom.new_attachment_id(), T0
    )
    assert done.state == dom.PROCESSING
    job = Job(1, attachments.ASSEMBLE_JOB, None, {"upload_id": upload.upload_id}, 1, "l", 0)
    await attachments.assemble_upload(ctx, job)
    failed = await store.get_upload(upload.upload_id)
    assert failed is not None and failed.state == dom.FAILED
    assert failed.failure == "part 2 is missing"
    assert done.attachment_id is not None
    with pytest.raises(BlobNotFound):
        await read_all(store.blobs, dom.attachment_blob_key(done.attachment_id))
    problem = dom.claim_problem(failed, upload.upload_id, ACCOUNT)
    assert isinstance(problem, dom.UploadNotAttachable)
    assert "failed: part 2 is missing" in str(problem)


async def test_processing_twice_is_harmless(store: Store) -> None:
    ctx = Context(config=Config(), catalogue=catalogue.load(), store=store)
    upload = await store.create_upload(NewUpload(dom.new_upload_id(), ACCOUNT, "f", 5, 5, 1, T0))
    key = dom.part_blob_key(upload.upload_id, 1)
    await store.blobs.put(key, _one(b"hello"))
    etag = hashlib.md5(b"hello").hexdigest()
    await store.record_part(upload.seq, 1, 5, etag, key, T0)
    done = await store.complete_parts(upload.seq, [(1, etag)], dom.new_attachment_id(), T0)
    job = Job(1, attachments.ASSEMBLE_JOB, None, {"upload_id": upload.upload_id}, 1, "l", 0)
    await attachments.assemble_upload(ctx, job)
    await attachments.assemble_upload(ctx, job)
    ready = await store.get_upload(upload.upload_id)
    assert ready is not None and ready.state == dom.READY
    assert done.attachment_id is not None
    found = await store.get_attachment(done.attachment_id)
    assert found is not None and found.size_bytes == 5
    assert await read_all(store.blobs, found.blob_key) == b"hello"
    assert await store.list_parts(upload.seq) == []
    with pytest.raises(BlobNotFound):
        await read_all(store.blobs, key)
