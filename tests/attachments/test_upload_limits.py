"""Large-file uploads are capped per account, by number and by announced bytes, in open
mode with --limits none too (as attachment sets are): GetAttachmentUploadLinks answers
AttachmentLimitExceeded (dry runs included) until an open upload is attached."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.attachments.conftest import database_url, start
from tests.attachments.helpers import error_code, error_message, upload_file
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess

OPEN_LIMIT = 2
OPEN_BYTES = 100_000


@pytest.fixture(scope="module")
def capped(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    base: Path = tmp_path_factory.mktemp(f"att-capped-{store_kind}")
    process = start(
        base / "data",
        database_url(request, store_kind),
        [
            "--limits", "none",
            "--upload-open-limit", str(OPEN_LIMIT),
            "--upload-open-bytes", str(OPEN_BYTES),
        ],
    )  # fmt: skip
    yield process
    process.stop()


def _begin(client: Any, size: int, **extra: Any) -> str:
    return str(
        client.get_attachment_upload_links(fileName="f.bin", fileSizeBytes=size, **extra)[
            "uploadId"
        ]
    )


@pytest.mark.supportd_wording
def test_open_uploads_are_capped_by_number(capped: ServerProcess, account: str) -> None:
    client = boto3_client(capped.url, account)
    with httpx.Client(timeout=30) as http:
        first = upload_file(client, http, b"a" * 100)
    second = _begin(client, 100)  # still uploading: both count
    for extra in ({}, {"dryRun": True}):
        with pytest.raises(ClientError) as info:
            _begin(client, 100, **extra)
        assert error_code(info) == "AttachmentLimitExceeded"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert f"You have {OPEN_LIMIT} large-file uploads open" in error_message(info)
    # Links for an upload already begun are not a new upload.
    again = client.get_attachment_upload_links(fileName="f.bin", uploadId=second)
    assert again["uploadId"] == second
    # Another account is not affected.
    _begin(boto3_client(capped.url, str(int(account) + 1)), 100)
    # Attaching one frees its place.
    client.create_case(subject="with a file", communicationBody="b", uploadIds=[first])
    assert _begin(client, 100).startswith("upload-")


@pytest.mark.supportd_wording
def test_open_uploads_are_capped_by_bytes(capped: ServerProcess, account: str) -> None:
    client = boto3_client(capped.url, account)
    _begin(client, OPEN_BYTES - 10)
    with pytest.raises(ClientError) as info:
        _begin(client, 11)
    assert error_code(info) == "AttachmentLimitExceeded"
    assert f"exceed the {OPEN_BYTES} bytes allowed" in error_message(info)
    assert _begin(client, 10).startswith("upload-")  # exactly the allowance
