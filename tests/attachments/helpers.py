"""Client-side steps of the attachment workflows: boto3 for the API, plain HTTP (httpx)
for the presigned links, as a user's script would do them."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sqlite3
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.support.server import ServerProcess


def error_code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def error_message(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Message"])


def xml_error(response: httpx.Response) -> str:
    """The S3-style error code of a presigned request's answer."""
    assert response.headers["content-type"].startswith("application/xml"), response.text
    root = ET.fromstring(response.content)
    assert root.tag == "Error"
    assert root.findtext("Message")
    assert root.findtext("RequestId")
    return root.findtext("Code") or ""


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic, incompressible-looking bytes."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


@dataclass
class Upload:
    upload_id: str
    part_bytes: int
    total_parts: int
    urls: dict[int, str] = field(default_factory=dict)
    etags: dict[int, str] = field(default_factory=dict)


def start_upload(client: Any, name: str, size: int) -> Upload:
    """GetAttachmentUploadLinks, then more calls until every part has its URL."""
    first = client.get_attachment_upload_links(fileName=name, fileSizeBytes=size)
    upload = Upload(first["uploadId"], first["partSizeBytes"], first["totalParts"])
    answer = first
    while True:
        for item in answer["uploadUrls"]:
            upload.urls[item["partIndex"]] = item["url"]
        if "nextIndex" not in answer:
            break
        answer = client.get_attachment_upload_links(
            fileName=name,
            uploadId=upload.upload_id,
            uploadRange={"startIndex": answer["nextIndex"]},
        )
    assert sorted(upload.urls) == list(range(1, upload.total_parts + 1))
    return upload


def part_of(data: bytes, upload: Upload, index: int) -> bytes:
    return data[(index - 1) * upload.part_bytes : index * upload.part_bytes]


def put_part(
    http: httpx.Client, upload: Upload, data: bytes, index: int, url: str | None = None
) -> httpx.Response:
    response = http.put(url or upload.urls[index], content=part_of(data, upload, index))
    if response.status_code == 200:
        upload.etags[index] = response.headers["etag"]
    return response


def completed(upload: Upload, indexes: list[int] | None = None) -> list[dict[str, Any]]:
    chosen = sorted(upload.etags) if indexes is None else indexes
    return [{"partIndex": i, "eTag": upload.etags[i]} for i in chosen]


def wait_ready(client: Any, upload_id: str, timeout_s: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        status: dict[str, Any] = client.describe_attachment_upload_status(uploadId=upload_id)
        if status["uploadStatus"] != "attachment-not-ready" or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def upload_file(client: Any, http: httpx.Client, data: bytes, name: str = "big.bin") -> str:
    """The whole large-file workflow; the ready upload's id."""
    upload = start_upload(client, name, len(data))
    for index in upload.urls:
        response = put_part(http, upload, data, index)
        assert response.status_code == 200, response.text
    client.complete_attachment_upload(uploadId=upload.upload_id, completedUploads=completed(upload))
    status = wait_ready(client, upload.upload_id)
    assert status["uploadStatus"] == "attachment-ready", status
    return upload.upload_id


def download(http: httpx.Client, client: Any, attachment_id: str) -> httpx.Response:
    link = client.get_attachment_download_link(attachmentId=attachment_id)
    return http.get(link["downloadUrl"]["url"])


def files_of(client: Any, case_id: str) -> list[dict[str, Any]]:
    """The case's communications, oldest first."""
    comms = client.describe_communications(caseId=case_id)["communications"]
    return list(reversed(comms))


def small_set(client: Any, *files: tuple[str, bytes]) -> str:
    answer = client.add_attachments_to_set(
        attachments=[{"fileName": name, "data": data} for name, data in files]
    )
    return str(answer["attachmentSetId"])


# --- what the server stored (read straight from its store) ------------------------


def _sql(server: ServerProcess, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    if server.database_url:

        async def run() -> list[tuple[Any, ...]]:
            conn = await asyncpg.connect(server.database_url)
            try:
                return [tuple(row) for row in await conn.fetch(sql, *args)]
            finally:
                await conn.close()

        return asyncio.run(run())
    conn = sqlite3.connect(server.data_dir / "supportd.db")
    try:
        return list(conn.execute(re.sub(r"\$\d+", "?", sql), args))
    finally:
        conn.close()


def stored_blob_keys(server: ServerProcess) -> set[str]:
    """Every blob the server keeps (files in the blob directory, or chunked rows)."""
    if server.database_url:
        return {row[0] for row in _sql(server, "SELECT DISTINCT blob_key FROM blob_chunks")}
    root = server.data_dir / "blobs"
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def referenced_blob_keys(server: ServerProcess) -> set[str]:
    rows = _sql(server, "SELECT blob_key FROM attachments UNION SELECT blob_key FROM upload_parts")
    return {row[0] for row in rows}


def attachment_rows(server: ServerProcess, account: str) -> int:
    return int(
        _sql(server, "SELECT COUNT(*) FROM attachments WHERE account_id = $1", account)[0][0]
    )


def raw_call(server: ServerProcess, account: str, operation: str, body: Any) -> httpx.Response:
    """A request boto3 would refuse to send (it validates some constraints itself)."""
    return httpx.post(
        server.url,
        content=json.dumps(body),
        headers={
            "X-Amz-Target": f"AWSSupport_20130415.{operation}",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/"
            "support/aws4_request, SignedHeaders=host, Signature=00",
        },
    )
