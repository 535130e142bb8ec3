"""Large-file uploads against a real server: GetAttachmentUploadLinks' plan and paging,
PUTs to the presigned links (plain HTTP), CompleteAttachmentUpload, the asynchronous
processing and DescribeAttachmentUploadStatus; every refusal; a restart mid-upload."""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.attachments.conftest import PART_BYTES, database_url, start
from tests.attachments.helpers import (
    completed,
    download,
    error_code,
    error_message,
    files_of,
    part_of,
    payload,
    put_part,
    raw_call,
    referenced_blob_keys,
    start_upload,
    stored_blob_keys,
    upload_file,
    wait_ready,
    xml_error,
)
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess

MAX_UPLOAD = 157_286_400


def test_the_plan_and_the_url_pages(client: Any) -> None:
    size = 15 * PART_BYTES + 123
    first = client.get_attachment_upload_links(fileName="big.bin", fileSizeBytes=size)
    assert first["partSizeBytes"] == PART_BYTES
    assert first["totalParts"] == 16
    assert [u["partIndex"] for u in first["uploadUrls"]] == list(range(1, 11))
    assert first["nextIndex"] == 11
    for item in first["uploadUrls"]:
        assert item["url"].startswith("http://127.0.0.1:")
        assert len(item["expiryDate"]) == 24 and item["expiryDate"].endswith("Z")
    upload_id = first["uploadId"]
    rest = client.get_attachment_upload_links(
        fileName="big.bin", uploadId=upload_id, uploadRange={"startIndex": 11}
    )
    assert [u["partIndex"] for u in rest["uploadUrls"]] == list(range(11, 17))
    assert "nextIndex" not in rest
    assert (rest["uploadId"], rest["totalParts"]) == (upload_id, 16)
    some = client.get_attachment_upload_links(
        fileName="big.bin", uploadId=upload_id, uploadRange={"startIndex": 3, "endIndex": 5}
    )
    assert [u["partIndex"] for u in some["uploadUrls"]] == [3, 4]
    assert some["nextIndex"] == 5
    capped = client.get_attachment_upload_links(
        fileName="big.bin", uploadId=upload_id, uploadRange={"startIndex": 15, "endIndex": 20}
    )
    assert [u["partIndex"] for u in capped["uploadUrls"]] == [15, 16]
    # A one-part file.
    single = client.get_attachment_upload_links(fileName="s.bin", fileSizeBytes=1)
    assert (single["partSizeBytes"], single["totalParts"], len(single["uploadUrls"])) == (1, 1, 1)
    assert "nextIndex" not in single


def test_upload_link_errors(client: Any, att_server: ServerProcess, account: str) -> None:
    upload_id = client.get_attachment_upload_links(fileName="f.bin", fileSizeBytes=1000)["uploadId"]
    wrong: list[tuple[dict[str, Any], str]] = [
        ({"fileName": "f.bin"}, "InvalidParameterValueException"),
        ({"fileName": "", "fileSizeBytes": 5}, "InvalidParameterValueException"),
        ({"fileName": "f.bin", "uploadId": "upload-nope"}, "UploadIdNotFound"),
        ({"fileName": "other.bin", "uploadId": upload_id}, "InvalidParameterValueException"),
        (
            {"fileName": "f.bin", "uploadId": upload_id, "fileSizeBytes": 999},
            "InvalidParameterValueException",
        ),
        (
            {"fileName": "f.bin", "uploadId": upload_id, "uploadRange": {"startIndex": 2}},
            "InvalidParameterValueException",
        ),
        (
            {
                "fileName": "f.bin",
                "fileSizeBytes": 100 * PART_BYTES,
                "uploadRange": {"startIndex": 1, "endIndex": 12},
            },
            "InvalidParameterValueException",
        ),
        (
            {
                "fileName": "f.bin",
                "fileSizeBytes": 100 * PART_BYTES,
                "uploadRange": {"startIndex": 5, "endIndex": 5},
            },
            "InvalidParameterValueException",
        ),
    ]
    for params, code in wrong:
        with pytest.raises(ClientError) as info:
            client.get_attachment_upload_links(**params)
        assert error_code(info) == code, params
    # Out of the model's range: boto3 refuses to send these, so send them raw.
    for size in (0, MAX_UPLOAD + 1):
        response = raw_call(
            att_server,
            account,
            "GetAttachmentUploadLinks",
            {"fileName": "f", "fileSizeBytes": size},
        )
        assert response.status_code == 400
        assert response.json()["__type"] == "ValidationException"
    other = boto3_client(att_server.url, "999900000003")
    for call in (
        lambda: other.get_attachment_upload_links(fileName="f.bin", uploadId=upload_id),
        lambda: other.describe_attachment_upload_status(uploadId=upload_id),
        lambda: other.complete_attachment_upload(
            uploadId=upload_id, completedUploads=[{"partIndex": 1, "eTag": "x"}]
        ),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert error_code(info) == "UploadIdNotFound"
    with pytest.raises(ClientError) as info:
        client.get_attachment_upload_links(fileName="f.bin", fileSizeBytes=10, dryRun=True)
    assert error_code(info) == "DryRunOperationException"


def test_a_file_in_parts_with_progress(client: Any, http: httpx.Client) -> None:
    data = payload(2 * PART_BYTES + 5000, seed=7)
    upload = start_upload(client, "parts.bin", len(data))
    assert upload.total_parts == 3
    status = client.describe_attachment_upload_status(uploadId=upload.upload_id)
    assert status == {
        **status,
        "uploadStatus": "attachment-not-ready",
        "fileName": "parts.bin",
        "uploadProgress": {"totalParts": 3, "completedPartsCount": 0},
    }
    for index in (3, 1, 2):  # any order
        response = put_part(http, upload, data, index)
        assert response.status_code == 200, response.text
        digest = hashlib.md5(part_of(data, upload, index)).hexdigest()
        assert response.headers["etag"] == f'"{digest}"'
    # Parts reported in several calls; quotes around the ETag are optional.
    answer = client.complete_attachment_upload(
        uploadId=upload.upload_id,
        completedUploads=[{"partIndex": 1, "eTag": upload.etags[1].strip('"')}],
    )
    assert answer["uploadStatus"] == "attachment-not-ready"
    status = client.describe_attachment_upload_status(uploadId=upload.upload_id)
    assert status["uploadProgress"] == {"totalParts": 3, "completedPartsCount": 1}
    with pytest.raises(ClientError) as info:
        client.complete_attachment_upload(
            uploadId=upload.upload_id, completedUploads=completed(upload, [2]), dryRun=True
        )
    assert error_code(info) == "DryRunOperationException"
    assert client.describe_attachment_upload_status(uploadId=upload.upload_id)[
        "uploadProgress"
    ] == {"totalParts": 3, "completedPartsCount": 1}
    client.complete_attachment_upload(
        uploadId=upload.upload_id, completedUploads=completed(upload, [1, 2, 3])
    )
    status = wait_ready(client, upload.upload_id)
    assert status["uploadStatus"] == "attachment-ready"
    assert status["uploadProgress"] == {"totalParts": 3, "completedPartsCount": 3}
    # Reporting again is harmless; asking for more links is not.
    again = client.complete_attachment_upload(
        uploadId=upload.upload_id, completedUploads=completed(upload, [1])
    )
    assert again["uploadStatus"] == "attachment-ready"
    with pytest.raises(ClientError) as info:
        client.get_attachment_upload_links(fileName="parts.bin", uploadId=upload.upload_id)
    assert error_code(info) == "InvalidParameterValueException"
    case_id = client.create_case(subject="s", communicationBody="b", uploadIds=[upload.upload_id])[
        "caseId"
    ]
    (comm,) = files_of(client, case_id)
    assert comm["attachmentSet"] == []
    assert download(http, client, comm["attachments"][0]["attachmentId"]).content == data


@pytest.mark.supportd_wording
def test_complete_errors(client: Any, http: httpx.Client) -> None:
    data = payload(2 * PART_BYTES, seed=3)
    upload = start_upload(client, "two.bin", len(data))
    assert put_part(http, upload, data, 1).status_code == 200
    bad: list[tuple[list[dict[str, Any]], str]] = [
        ([{"partIndex": 1, "eTag": '"0123456789abcdef0123456789abcdef"'}], "does not match"),
        ([{"partIndex": 2, "eTag": upload.etags[1]}], "has not been uploaded"),
        ([{"partIndex": 3, "eTag": upload.etags[1]}], "does not exist"),
        ([{"partIndex": 0, "eTag": upload.etags[1]}], "does not exist"),
        ([], "at least one part"),
    ]
    for parts, message in bad:
        with pytest.raises(ClientError) as info:
            client.complete_attachment_upload(uploadId=upload.upload_id, completedUploads=parts)
        assert error_code(info) == "InvalidParameterValueException"
        assert message in error_message(info)
    with pytest.raises(ClientError) as info:
        client.complete_attachment_upload(
            uploadId="upload-nope", completedUploads=[{"partIndex": 1, "eTag": "e"}]
        )
    assert error_code(info) == "UploadIdNotFound"
    with pytest.raises(ClientError) as info:
        client.describe_attachment_upload_status(uploadId="upload-nope")
    assert error_code(info) == "UploadIdNotFound"
    # None of that changed anything.
    progress = client.describe_attachment_upload_status(uploadId=upload.upload_id)
    assert progress["uploadProgress"]["completedPartsCount"] == 0


@pytest.mark.supportd_wording
def test_put_refusals_store_nothing(
    client: Any, http: httpx.Client, att_server: ServerProcess
) -> None:
    data = payload(2 * PART_BYTES + 10, seed=5)
    upload = start_upload(client, "r.bin", len(data))
    url1, url3 = upload.urls[1], upload.urls[3]
    # Tampered, or one part's link used for another part.
    refusals = [
        (url1.replace("X-Supportd-Signature=", "X-Supportd-Signature=0"), "SignatureDoesNotMatch"),
        (url1.replace("/parts/1?", "/parts/2?"), "SignatureDoesNotMatch"),
        (url1.replace(upload.upload_id, upload.upload_id[:-1] + "x"), "SignatureDoesNotMatch"),
        (url1.split("?")[0], "AccessDenied"),
    ]
    for url, code in refusals:
        response = http.put(url, content=part_of(data, upload, 2))
        assert response.status_code == 403, url
        assert xml_error(response) == code
    # A body of another size than planned: 400, and nothing stored.
    for url, body, code in (
        (url1, part_of(data, upload, 1) + b"x", "EntityTooLarge"),
        (url1, part_of(data, upload, 1)[:-1], "EntityTooSmall"),
        (url1, b"", "EntityTooSmall"),
        (url3, b"x" * 11, "EntityTooLarge"),  # the last part is 10 bytes
    ):
        response = http.put(url, content=body)
        assert response.status_code == 400, response.text
        assert xml_error(response) == code
    # Chunked (no Content-Length): refused.
    response = http.put(url1, content=iter([part_of(data, upload, 1)]))
    assert response.status_code == 411
    assert xml_error(response) == "MissingContentLength"
    # A client that stops sending half-way: nothing stored.
    _put_half_and_hang_up(url1, PART_BYTES)
    progress = client.describe_attachment_upload_status(uploadId=upload.upload_id)
    assert progress["uploadProgress"]["completedPartsCount"] == 0
    with pytest.raises(ClientError) as info:
        client.complete_attachment_upload(
            uploadId=upload.upload_id,
            completedUploads=[{"partIndex": 1, "eTag": hashlib.md5(b"").hexdigest()}],
        )
    assert "has not been uploaded" in error_message(info)
    time.sleep(0.2)
    assert stored_blob_keys(att_server) <= referenced_blob_keys(att_server)
    # The same part sent again replaces it; once reported, a part is fixed.
    assert put_part(http, upload, data, 1).status_code == 200
    first_etag = upload.etags[1]
    assert put_part(http, upload, data, 1).status_code == 200
    assert upload.etags[1] == first_etag
    client.complete_attachment_upload(uploadId=upload.upload_id, completedUploads=completed(upload))
    response = put_part(http, upload, data, 1)
    assert response.status_code == 409
    assert xml_error(response) == "InvalidUploadState"
    assert stored_blob_keys(att_server) <= referenced_blob_keys(att_server)


def _put_half_and_hang_up(url: str, size: int) -> None:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=5) as sock:
        head = (
            f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Length: {size}\r\n\r\n"
        )
        sock.sendall(head.encode() + b"x" * (size // 2))
        time.sleep(0.2)


def test_a_restart_mid_upload_loses_nothing_acknowledged(
    request: pytest.FixtureRequest, store_kind: str, tmp_path: Path
) -> None:
    url = database_url(request, store_kind)
    server = start(tmp_path / "data", url)
    data = payload(4 * PART_BYTES, seed=11)
    try:
        client = boto3_client(server.url, "100000000777")
        upload = start_upload(client, "restart.bin", len(data))
        with httpx.Client(timeout=30) as http:
            for index in (1, 2):
                assert put_part(http, upload, data, index).status_code == 200
            client.complete_attachment_upload(
                uploadId=upload.upload_id, completedUploads=completed(upload, [1])
            )
            server.kill()  # kill -9: acknowledged parts and reports must survive
            server = start(tmp_path / "data", url, port=server.port)
            progress = client.describe_attachment_upload_status(uploadId=upload.upload_id)
            assert progress["uploadProgress"]["completedPartsCount"] == 1
            # The links from before the restart still work.
            for index in (3, 4):
                assert put_part(http, upload, data, index).status_code == 200
            client.complete_attachment_upload(
                uploadId=upload.upload_id, completedUploads=completed(upload, [2, 3, 4])
            )
            assert wait_ready(client, upload.upload_id)["uploadStatus"] == "attachment-ready"
            case_id = client.create_case(
                subject="s", communicationBody="b", uploadIds=[upload.upload_id]
            )["caseId"]
            attachment_id = files_of(client, case_id)[0]["attachments"][0]["attachmentId"]
            assert download(http, client, attachment_id).content == data
        # The parts were deleted once joined.
        assert all(not key.startswith("u/") for key in stored_blob_keys(server))
    finally:
        server.stop()


def test_whole_workflow_with_the_aws_cli_style_client(client: Any, http: httpx.Client) -> None:
    """A file of exactly a number of parts, through the helpers end to end."""
    data = payload(3 * PART_BYTES, seed=13)
    upload_id = upload_file(client, http, data, name="exact.bin")
    case_id = client.create_case(subject="s", communicationBody="b", uploadIds=[upload_id])[
        "caseId"
    ]
    attachment = files_of(client, case_id)[0]["attachments"][0]
    assert attachment["fileName"] == "exact.bin"
    assert download(http, client, attachment["attachmentId"]).content == data


@pytest.mark.parametrize(
    ("operation", "body", "code"),
    [
        ("AddAttachmentsToSet", {"attachmentSetId": "as-\x00", "attachments": [
            {"fileName": "a", "data": "YQ=="}]}, "AttachmentSetIdNotFound"),
        ("DescribeAttachment", {"attachmentId": "attachment-\x00"}, "AttachmentIdNotFound"),
        ("GetAttachmentDownloadLink", {"attachmentId": "\x00"}, "AttachmentIdNotFound"),
        ("GetAttachmentUploadLinks", {"fileName": "f", "uploadId": "\x00"}, "UploadIdNotFound"),
        ("CompleteAttachmentUpload", {"uploadId": "upload-\x00", "completedUploads": []},
         "UploadIdNotFound"),
        ("DescribeAttachmentUploadStatus", {"uploadId": "é"}, "UploadIdNotFound"),
        ("CreateCase", {"subject": "s", "communicationBody": "b", "uploadIds": ["\x00"]},
         "UploadIdNotFound"),
        ("CreateCase", {"subject": "s", "communicationBody": "b", "attachmentSetId": "\x00"},
         "AttachmentSetIdNotFound"),
    ],
)  # fmt: skip
def test_ids_that_cannot_be_ours_are_not_found(
    att_server: ServerProcess, account: str, operation: str, body: dict[str, Any], code: str
) -> None:
    # PostgreSQL cannot even hold a NUL in text: such ids must never reach a query.
    response = raw_call(att_server, account, operation, body)
    assert response.status_code == 400, response.text
    assert response.json()["__type"] == code
