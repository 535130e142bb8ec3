"""`supportd export` / `supportd import` carry attachments: the rows of sets, files and
uploads, and the files' bytes as blob lines, SQLite -> PostgreSQL -> SQLite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.attachments.conftest import PART_BYTES, start
from tests.attachments.helpers import (
    completed,
    files_of,
    payload,
    put_part,
    small_set,
    start_upload,
    upload_file,
)
from tests.store.test_exchange import split_audit, store_args, supportd
from tests.support.clients import boto3_client
from tests.support.postgres import ThrowawayDatabases
from tests.support.server import ServerProcess

ACCOUNT = "330000000001"
BIG = payload(2 * PART_BYTES + 77, seed=31)


def populate(server: ServerProcess) -> dict[str, Any]:
    client = boto3_client(server.url, ACCOUNT)
    with httpx.Client(timeout=30) as http:
        ready = upload_file(client, http, BIG, name="big.bin")
        set_id = small_set(client, ("a.txt", b"alpha"), ("empty", b""))
        case_id = client.create_case(
            subject="files", communicationBody="b", attachmentSetId=set_id, uploadIds=[ready]
        )["caseId"]
        small_set(client, ("unused.txt", b"still in a set"))
        pending = start_upload(client, "pending.bin", 2 * PART_BYTES)
        assert put_part(http, pending, payload(2 * PART_BYTES), 1).status_code == 200
        client.complete_attachment_upload(
            uploadId=pending.upload_id, completedUploads=completed(pending)
        )
    return {"case_id": case_id, "pending": pending.upload_id}


def served(data_dir: Path, url: str, made: dict[str, Any]) -> dict[str, Any]:
    """What the API answers about the files, and their bytes."""
    server = start(data_dir, url)
    try:
        client = boto3_client(server.url, ACCOUNT)
        (comm,) = files_of(client, made["case_id"])
        answers: dict[str, Any] = {"comm": comm}
        with httpx.Client(timeout=30) as http:
            for item in comm["attachments"]:
                link = client.get_attachment_download_link(attachmentId=item["attachmentId"])
                answers[item["fileName"]] = http.get(link["downloadUrl"]["url"]).content
        status = client.describe_attachment_upload_status(uploadId=made["pending"])
        status.pop("ResponseMetadata")
        answers["pending"] = status
        return answers
    finally:
        server.stop()


def test_files_survive_export_and_import_on_both_stores(
    postgres_databases: ThrowawayDatabases, tmp_path: Path
) -> None:
    source = start(tmp_path / "source" / "data", "")
    try:
        made = populate(source)
    finally:
        source.stop()
    original = served(source.data_dir, "", made)
    assert original["big.bin"] == BIG and original["a.txt"] == b"alpha"
    assert original["empty"] == b""

    first = supportd("export", *store_args(source.data_dir))
    assert first.returncode == 0, first.stderr
    # a.txt, empty, big.bin, unused.txt, and the pending upload's part
    assert "4 attachments, 2 uploads, 1 upload_parts," in first.stderr
    assert first.stderr.rstrip().endswith(", 5 blobs")
    lines = [json.loads(line) for line in first.stdout.splitlines()[1:]]
    blob_lines = [line for line in lines if "blob" in line]
    assert lines[-len(blob_lines) :] == blob_lines  # the files come after every table

    pg_url = postgres_databases.new_database()
    imported = supportd("import", *store_args(database_url=pg_url), stdin=first.stdout)
    assert imported.returncode == 0, imported.stderr
    assert "5 blobs" in imported.stderr
    assert served(tmp_path / "pg" / "data", pg_url, made) == original

    second = supportd("export", *store_args(database_url=pg_url))
    assert second.returncode == 0, second.stderr
    assert split_audit(second.stdout)[0] == split_audit(first.stdout)[0]

    back = tmp_path / "back" / "data"
    restored = supportd("import", *store_args(back), stdin=second.stdout)
    assert restored.returncode == 0, restored.stderr
    assert served(back, "", made) == original


def test_import_refuses_broken_blob_lines(tmp_path: Path) -> None:
    source = start(tmp_path / "source" / "data", "")
    try:
        client = boto3_client(source.url, ACCOUNT)
        small_set(client, ("a.txt", b"alpha"))
    finally:
        source.stop()
    exported = supportd("export", *store_args(source.data_dir))
    assert exported.returncode == 0, exported.stderr
    text = exported.stdout
    blob = next(line for line in text.splitlines() if line.startswith('{"blob"'))
    item = json.loads(blob)
    broken_lines = [
        ({**item, "data": "!!"}, "not base64"),
        ({**item, "chunk": 1}, "expected chunk 0"),
        ({**item, "blob": "../../etc/passwd"}, "invalid blob key"),
    ]
    for n, (broken, message) in enumerate(broken_lines):
        bad = text.replace(blob, json.dumps(broken))
        result = supportd("import", *store_args(tmp_path / f"x{n}" / "data"), stdin=bad)
        assert result.returncode == 1
        assert message in result.stderr, result.stderr
    after = text + json.dumps({"table": "cases", "row": {}}) + "\n"
    result = supportd("import", *store_args(tmp_path / "late" / "data"), stdin=after)
    assert result.returncode == 1
    assert "table rows after the files" in result.stderr
