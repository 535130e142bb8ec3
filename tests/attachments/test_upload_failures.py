"""An upload whose assembly breaks inside supportd fails with a generic reason: the
customer never sees the internal error (a path, the database's words); the log has it.

The fault is real, on each store: on SQLite the directory the assembled file goes to
is a plain file (the blob write fails with an OSError naming the path); on PostgreSQL a
trigger refuses to store the assembled file's chunks with an error of its own. Three
attempts run (the server's fake clock moves past each lease), then the upload fails.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.attachments.conftest import advance_clock, database_url, start
from tests.attachments.helpers import completed, put_part, start_upload
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess

# What the injected faults say: none of it may reach a customer.
SECRET_DETAIL = "disk quota exceeded on /srv/internal/secret-volume"
LEAKS = ("secret-volume", "/srv/internal", "Not a directory", "Errno", "blobs", "/tmp")


@pytest.fixture
def faulty(
    request: pytest.FixtureRequest, store_kind: str, tmp_path: Path
) -> Iterator[ServerProcess]:
    """A server of its own (the fault breaks every assembly), with a clock to move."""
    process = start(
        tmp_path / "data",
        database_url(request, store_kind),
        ["--fake-clock-file", str(tmp_path / "clock")],
    )
    yield process
    process.stop()


def _break_assembly(server: ServerProcess) -> None:
    if server.database_url:

        async def install() -> None:
            conn = await asyncpg.connect(server.database_url)
            try:
                await conn.execute(
                    f"""
                    CREATE FUNCTION refuse_files() RETURNS trigger AS $$
                    BEGIN RAISE EXCEPTION '{SECRET_DETAIL}'; END $$ LANGUAGE plpgsql;
                    CREATE TRIGGER refuse_files BEFORE INSERT ON blob_chunks FOR EACH ROW
                    WHEN (NEW.blob_key LIKE 'a/%') EXECUTE FUNCTION refuse_files();
                    """
                )
            finally:
                await conn.close()

        asyncio.run(install())
    else:
        shards = server.data_dir / "blobs" / "a"
        assert not shards.exists()
        shards.parent.mkdir(exist_ok=True)
        shards.write_text("not a directory")


def _failed_status(server: ServerProcess, client: Any, upload_id: str) -> str:
    """Move the clock past each attempt's lease until the upload stops being processed."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.describe_attachment_upload_status(uploadId=upload_id)["uploadStatus"]
        if status != "attachment-not-ready":
            return str(status)
        advance_clock(server, 320)  # past the worker's lease: the next attempt
        time.sleep(0.3)
    pytest.fail("the upload never stopped processing")


@pytest.mark.supportd_wording
def test_an_internal_failure_is_not_shown_to_the_customer(
    faulty: ServerProcess, account: str
) -> None:
    client = boto3_client(faulty.url, account)
    data = b"x" * 1000
    upload = start_upload(client, "report.bin", len(data))
    with httpx.Client(timeout=30) as http:
        assert put_part(http, upload, data, 1).status_code == 200
    _break_assembly(faulty)
    client.complete_attachment_upload(uploadId=upload.upload_id, completedUploads=completed(upload))

    assert _failed_status(faulty, client, upload.upload_id) == "failed"
    with pytest.raises(ClientError) as info:
        client.create_case(subject="s", communicationBody="b", uploadIds=[upload.upload_id])
    error = info.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert "processing failed because of an internal error" in error["Message"]
    assert not [leak for leak in LEAKS if leak in error["Message"]], error["Message"]
    # The operator finds the detail in the log.
    log = faulty.log()
    assert (SECRET_DETAIL if faulty.database_url else "Not a directory") in log
    assert f"upload {upload.upload_id} failed after 3 attempts" in log
