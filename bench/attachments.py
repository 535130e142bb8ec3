"""Large-file attachments: a 150 MB file up through the presigned part links and back
down through a download link, against copying the same file on the same disk, and the
server's memory meanwhile.

    .venv/bin/python bench/attachments.py                  # SQLite, and PostgreSQL if reachable
    .venv/bin/python bench/attachments.py --stores sqlite --size-mb 50

For each store: a fresh `supportd serve` (one process, default settings: 100 MiB parts,
so two PUTs), idle RSS after a few API calls, then GetAttachmentUploadLinks, the PUTs
(streamed from the file, never read whole), CompleteAttachmentUpload and polling until
ready (the background join), a download link and its GET (streamed, hashed, checked
against the file). Throughput is file size over wall time of each step. The server's
RSS is sampled every 10 ms during the transfers, and its VmHWM (the kernel's peak) read
at the end. The disk copy is `shutil.copyfile` plus fsync (the server fsyncs what it
stores). Client and server share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    ACCOUNT,
    VENV_BIN,
    Server,
    call,
    clean_env,
    healthz,
    log,
    supportd,
)

MB = 1_000_000
CHUNK = 1024 * 1024
PG_URL = os.environ.get("SUPPORTD_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def make_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        left = size
        while left:
            block = os.urandom(min(CHUNK, left))
            handle.write(block)
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def disk_copy(src: Path, dst: Path) -> float:
    """Seconds to copy the file and fsync the copy."""
    start = time.perf_counter()
    shutil.copyfile(src, dst)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    seconds = time.perf_counter() - start
    dst.unlink()
    return seconds


def file_part(path: Path, offset: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(offset)
        left = length
        while left:
            block = handle.read(min(CHUNK, left))
            if not block:
                raise RuntimeError("file shorter than expected")
            left -= len(block)
            yield block


def peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class RssSampler:
    def __init__(self, server: Server, every_s: float = 0.01) -> None:
        self.server = server
        self.every_s = every_s
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, self.server.rss_kb())
            time.sleep(self.every_s)


async def _sql(url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=3)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def postgres_database() -> str | None:
    """A new migrated database (dropped at exit), or None if PostgreSQL is unreachable."""
    name = f"supportd_bench_{secrets.token_hex(4)}"
    try:
        asyncio.run(_sql(PG_URL, f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        log(f"PostgreSQL not reachable at {PG_URL}: {exc}")
        return None
    url = PG_URL.rsplit("/", 1)[0] + "/" + name

    def drop() -> None:
        with contextlib.suppress(Exception):
            asyncio.run(_sql(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    import atexit

    atexit.register(drop)
    subprocess.run(
        [str(VENV_BIN / "supportd"), "migrate", "--database", url],
        check=True,
        capture_output=True,
        env=clean_env(),
    )
    return url


def run_store(store: str, path: Path, size: int, digest: str, work: Path) -> dict[str, Any]:
    server = supportd(f"attachments-{store}", work / store / "data", 1, work / "logs")
    if store == "postgresql":
        url = postgres_database()
        if url is None:
            return {"store": store, "skipped": "PostgreSQL not reachable"}
        server.args += ["--database", url]
    server.start()
    try:
        server.wait_ready(healthz)
        assert server.process is not None
        pid = server.process.pid
        for _ in range(3):  # warm the API path up before reading the idle RSS
            call(server.port, "DescribeSeverityLevels", {})
            call(server.port, "DescribeCases", {})
        time.sleep(0.5)
        idle_kb = server.rss_kb()
        result: dict[str, Any] = {"store": store, "idle_rss_mb": round(idle_kb / 1024, 1)}
        with RssSampler(server) as sampler, httpx.Client(timeout=600) as http:
            links = call(
                server.port,
                "GetAttachmentUploadLinks",
                {"fileName": "bench.bin", "fileSizeBytes": size},
            )
            part = links["partSizeBytes"]
            parts = []
            start = time.perf_counter()
            for item in links["uploadUrls"]:
                index = item["partIndex"]
                length = min(part, size - (index - 1) * part)
                response = http.put(
                    item["url"],
                    content=file_part(path, (index - 1) * part, length),
                    headers={"Content-Length": str(length)},
                )
                response.raise_for_status()
                parts.append({"partIndex": index, "eTag": response.headers["etag"]})
            upload_s = time.perf_counter() - start
            start = time.perf_counter()
            call(
                server.port,
                "CompleteAttachmentUpload",
                {"uploadId": links["uploadId"], "completedUploads": parts},
            )
            while True:
                status = call(
                    server.port, "DescribeAttachmentUploadStatus", {"uploadId": links["uploadId"]}
                )["uploadStatus"]
                if status != "attachment-not-ready":
                    break
                time.sleep(0.05)
            ready_s = time.perf_counter() - start
            assert status == "attachment-ready", status
            case = call(
                server.port,
                "CreateCase",
                {"subject": "bench", "communicationBody": "b", "uploadIds": [links["uploadId"]]},
            )
            comms = call(server.port, "DescribeCommunications", {"caseId": case["caseId"]})
            attachment_id = comms["communications"][0]["attachments"][0]["attachmentId"]
            url = call(server.port, "GetAttachmentDownloadLink", {"attachmentId": attachment_id})[
                "downloadUrl"
            ]["url"]
            received = hashlib.sha256()
            got = 0
            start = time.perf_counter()
            with http.stream("GET", url) as response:
                response.raise_for_status()
                for block in response.iter_bytes(CHUNK):
                    received.update(block)
                    got += len(block)
            download_s = time.perf_counter() - start
            assert got == size and received.hexdigest() == digest, "downloaded file differs"
        hwm_kb = peak_kb(pid)
        result.update(
            {
                "parts": len(parts),
                "part_mb": round(part / MB, 1),
                "upload_s": round(upload_s, 3),
                "upload_mb_s": round(size / MB / upload_s, 1),
                "complete_to_ready_s": round(ready_s, 3),
                "download_s": round(download_s, 3),
                "download_mb_s": round(size / MB / download_s, 1),
                "peak_rss_sampled_mb": round(sampler.peak_kb / 1024, 1),
                "peak_rss_vmhwm_mb": round(hwm_kb / 1024, 1),
                "peak_above_idle_mb": round((sampler.peak_kb - idle_kb) / 1024, 1),
            }
        )
        return result
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=150.0, help="file size in MB (10^6)")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--work-dir", default="", help="keep data and logs here")
    args = parser.parse_args()
    size = min(int(args.size_mb * MB), 157_286_400)
    with tempfile.TemporaryDirectory(prefix="supportd-bench-att-") as tmp:
        work = Path(args.work_dir) if args.work_dir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        path = work / "file.bin"
        log(f"writing a {size / MB:.1f} MB file")
        digest = make_file(path, size)
        copy_s = disk_copy(path, work / "copy.bin")
        results: dict[str, Any] = {
            "size_bytes": size,
            "account": ACCOUNT,
            "disk_copy_s": round(copy_s, 3),
            "disk_copy_mb_s": round(size / MB / copy_s, 1),
            "stores": [],
        }
        for store in args.stores.split(","):
            log(f"{store}: upload, join, download")
            results["stores"].append(run_store(store, path, size, digest, work))
        results["disk_copy_again_mb_s"] = round(size / MB / disk_copy(path, work / "copy.bin"), 1)
    print(json.dumps(results, indent=2))
    print(f"\ndisk copy (copyfile + fsync): {results['disk_copy_mb_s']} MB/s, "
          f"again after the runs: {results['disk_copy_again_mb_s']} MB/s")  # fmt: skip
    for r in results["stores"]:
        if "skipped" in r:
            print(f"{r['store']}: skipped ({r['skipped']})")
            continue
        print(
            f"{r['store']}: upload {r['upload_mb_s']} MB/s ({r['parts']} parts of "
            f"{r['part_mb']} MB), join {r['complete_to_ready_s']} s, download "
            f"{r['download_mb_s']} MB/s; RSS idle {r['idle_rss_mb']} MB, peak "
            f"{r['peak_rss_sampled_mb']} MB during the transfers "
            f"(+{r['peak_above_idle_mb']} MB; VmHWM since start {r['peak_rss_vmhwm_mb']} MB)"
        )


if __name__ == "__main__":
    main()
