"""The pure parts: part plans, link signatures, the DescribeAttachment window, file names,
the blob directory, and Content-Disposition."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from supportd.domain import attachments as dom
from supportd.domain import presign
from supportd.http.attachment_links import content_disposition
from supportd.storage.blobs import BlobNotFound, DirectoryBlobs, read_all, rechunk

KEY = b"k" * 32


@pytest.mark.parametrize(
    ("size", "part", "expected"),
    [
        (1, 100, (1, 1)),
        (100, 100, (100, 1)),
        (101, 100, (100, 2)),
        (157_286_400, 104_857_600, (104_857_600, 2)),
        (157_286_400, 1024, (15_729, 10_000)),  # at most 10,000 parts
    ],
)
def test_plan_parts(size: int, part: int, expected: tuple[int, int]) -> None:
    plan = dom.plan_parts(size, part)
    assert (plan.part_bytes, plan.total_parts) == expected
    assert plan.total_parts <= dom.MAX_PARTS
    sizes = [dom.part_size(size, plan.part_bytes, i) for i in range(1, plan.total_parts + 1)]
    assert sum(sizes) == size
    assert all(s == plan.part_bytes for s in sizes[:-1]) and 0 < sizes[-1] <= plan.part_bytes


def test_links_are_bound_to_method_path_and_expiry() -> None:
    path = presign.part_path("upload-abc", 3)
    assert path == "/attachments/uploads/upload-abc/parts/3"
    signature = presign.signature(KEY, "PUT", path, 2000)
    assert presign.check(KEY, "PUT", path, "2000", signature, 1999) is None
    assert presign.check(KEY, "PUT", path, "2000", signature.upper(), 2000) is None

    def code(*args: object) -> str | None:
        refusal = presign.check(*args)  # type: ignore[arg-type]
        return refusal.code if refusal else None

    assert code(KEY, "PUT", path, "2000", signature, 2001) == "AccessDenied"  # expired
    assert code(KEY, "GET", path, "2000", signature, 1) == "SignatureDoesNotMatch"
    assert code(KEY, "PUT", presign.part_path("upload-abc", 4), "2000", signature, 1) == (
        "SignatureDoesNotMatch"
    )
    assert code(KEY, "PUT", path, "2001", signature, 1) == "SignatureDoesNotMatch"
    assert code(b"o" * 32, "PUT", path, "2000", signature, 1) == "SignatureDoesNotMatch"
    assert code(KEY, "PUT", path, None, signature, 1) == "AccessDenied"
    assert code(KEY, "PUT", path, "2000", None, 1) == "AccessDenied"
    assert code(KEY, "PUT", path, "-5", signature, 1) == "AccessDenied"
    assert code(KEY, "PUT", path, "２０００", signature, 1) == "AccessDenied"
    assert code(KEY, "PUT", path, "2000", "é" * 64, 1) == "SignatureDoesNotMatch"


def test_call_window_slides() -> None:
    window = dom.CallWindow(2, 60.0)
    assert window.allow("a", 0.0) and window.allow("a", 30.0)
    assert not window.allow("a", 59.0)
    assert window.allow("b", 59.0)
    assert window.allow("a", 60.5)  # the first call left the window
    assert not window.allow("a", 61.0)
    assert dom.CallWindow(0, 60.0).allow("a", 0.0)  # 0: no limit


def test_call_window_forgets_idle_keys() -> None:
    window = dom.CallWindow(1, 1.0, max_keys=2)
    assert window.allow("a", 0.0) and window.allow("b", 0.0)
    assert window.allow("c", 5.0)  # a and b were idle: forgotten
    assert not window.allow("c", 5.5)


@pytest.mark.parametrize(
    ("name", "ok"),
    [("a.txt", True), ("日本語 ☕.png", True), ("", False), ("a\x00b", False), ("x" * 256, False)],
)
def test_file_names(name: str, ok: bool) -> None:
    assert (dom.file_name_problem(name) is None) is ok


def test_etags_compare_without_quotes_or_case() -> None:
    assert dom.normalise_etag('"ABCdef"') == dom.normalise_etag("abcdef")


def test_ids_are_long_and_url_safe() -> None:
    for make, prefix in (
        (dom.new_set_id, "as-"),
        (dom.new_attachment_id, "attachment-"),
        (dom.new_upload_id, "upload-"),
    ):
        first, second = make(), make()
        assert first.startswith(prefix) and first != second
        assert len(first) >= len(prefix) + 43
    key = dom.attachment_blob_key("attachment-XYZabc")
    assert key == "a/XY/attachment-XYZabc"


def test_content_disposition_quotes_safely() -> None:
    assert content_disposition('a"b\\c\r\n.txt') == (
        "attachment; filename=\"a_b_c__.txt\"; filename*=UTF-8''a%22b%5Cc%0D%0A.txt"
    )


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def test_rechunk() -> None:
    async def run(size: int, *parts: bytes) -> list[bytes]:
        return [chunk async for chunk in rechunk(_chunks(*parts), size)]

    assert asyncio.run(run(4, b"abc", b"defgh", b"ij")) == [b"abcd", b"efgh", b"ij"]
    assert asyncio.run(run(4, b"abcd")) == [b"abcd"]
    assert asyncio.run(run(4)) == [b""]


def test_blob_directory(tmp_path: Path) -> None:
    blobs = DirectoryBlobs(tmp_path / "blobs")

    async def scenario() -> None:
        assert await blobs.put("u/up/1-aa", _chunks(b"hello ", b"world")) == 11
        assert await read_all(blobs, "u/up/1-aa") == b"hello world"
        assert await blobs.put("u/up/1-aa", _chunks(b"again")) == 5
        assert await read_all(blobs, "u/up/1-aa") == b"again"
        assert await blobs.put("a/xx/empty", _chunks()) == 0
        assert await read_all(blobs, "a/xx/empty") == b""

        async def failing() -> AsyncIterator[bytes]:
            yield b"partial"
            raise RuntimeError("client went away")

        with pytest.raises(RuntimeError):
            await blobs.put("a/xx/broken", failing())
        with pytest.raises(BlobNotFound):
            await read_all(blobs, "a/xx/broken")
        assert sorted([k async for k in blobs.list_keys("a/", 2**62)]) == ["a/xx/empty"]
        assert [k async for k in blobs.list_keys("a/", 0)] == []
        await blobs.delete_prefix("u/up/")
        with pytest.raises(BlobNotFound):
            await read_all(blobs, "u/up/1-aa")
        await blobs.delete("a/xx/empty")
        await blobs.delete("a/xx/empty")  # deleting nothing is fine
        for bad in ("../x", "a//b", "a/./b", "/abs", "a/b c"):
            with pytest.raises(ValueError):
                await blobs.put(bad, _chunks(b"x"))

    asyncio.run(scenario())
    assert not [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("value", "prefix", "ok"),
    [
        ("as-abc_DEF-123", "as-", True),
        ("as-", "as-", False),
        ("as-a\x00b", "as-", False),
        ("as-a/b", "as-", False),
        ("attachment-x", "as-", False),
        ("upload-" + "x" * 201, "upload-", False),
    ],
)
def test_plausible_ids(value: str, prefix: str, ok: bool) -> None:
    assert dom.plausible_id(value, prefix) is ok


@pytest.mark.parametrize(
    ("rules", "open_count", "open_bytes", "size", "allowed"),
    [
        (dom.UploadRules(2, 0), 1, 10**12, 10**9, True),  # no byte limit
        (dom.UploadRules(2, 0), 2, 0, 1, False),
        (dom.UploadRules(0, 100), 99, 60, 40, True),  # exactly the allowance
        (dom.UploadRules(0, 100), 99, 60, 41, False),
        (dom.UploadRules(3, 100), 2, 0, 101, False),  # one file over it alone
        (dom.NO_UPLOAD_LIMITS, 10**6, 10**15, 10**9, True),
    ],
)
def test_new_upload_rule(
    rules: dom.UploadRules, open_count: int, open_bytes: int, size: int, allowed: bool
) -> None:
    if allowed:
        dom.check_new_upload("111122223333", rules, open_count, open_bytes, size)
    else:
        with pytest.raises(dom.UploadLimit):
            dom.check_new_upload("111122223333", rules, open_count, open_bytes, size)
