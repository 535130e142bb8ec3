"""AddAttachmentsToSet against a real server: sets, their limits and expiry."""

from __future__ import annotations

import base64
import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.attachments.conftest import FILE_BYTES, SET_LIMIT, advance_clock
from tests.attachments.helpers import (
    attachment_rows,
    error_code,
    error_message,
    raw_call,
    referenced_blob_keys,
    small_set,
    stored_blob_keys,
)
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess

EXPIRY = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")


def _expiry(text: str) -> datetime:
    assert EXPIRY.match(text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def test_a_set_is_created_and_added_to_keeping_its_expiry(client: Any) -> None:
    before = datetime.now(UTC)
    first = client.add_attachments_to_set(attachments=[{"fileName": "a.txt", "data": b"one"}])
    set_id = first["attachmentSetId"]
    assert re.fullmatch(r"as-[A-Za-z0-9_-]{40,}", set_id)
    expiry = _expiry(first["expiryTime"])
    assert 3590 <= (expiry - before).total_seconds() <= 3610
    time.sleep(0.01)
    second = client.add_attachments_to_set(
        attachmentSetId=set_id, attachments=[{"fileName": "b.txt", "data": b"two"}]
    )
    assert second == {**second, "attachmentSetId": set_id, "expiryTime": first["expiryTime"]}


@pytest.mark.supportd_wording
def test_three_files_at_most(client: Any) -> None:
    files = [{"fileName": f"f{i}.txt", "data": b"x"} for i in range(4)]
    with pytest.raises(ClientError) as info:
        client.add_attachments_to_set(attachments=files)
    assert error_code(info) == "AttachmentSetSizeLimitExceeded"
    set_id = client.add_attachments_to_set(attachments=files[:2])["attachmentSetId"]
    with pytest.raises(ClientError) as info:
        client.add_attachments_to_set(attachmentSetId=set_id, attachments=files[2:])
    assert error_code(info) == "AttachmentSetSizeLimitExceeded"
    assert "at most 3" in error_message(info)
    # The refused call added nothing: one more still fits.
    client.add_attachments_to_set(attachmentSetId=set_id, attachments=files[3:])


@pytest.mark.supportd_wording
def test_file_size_limit_counts_decoded_bytes(client: Any) -> None:
    # FILE_BYTES is the server's configured limit (5 MB by default).
    client.add_attachments_to_set(attachments=[{"fileName": "max.bin", "data": b"x" * FILE_BYTES}])
    with pytest.raises(ClientError) as info:
        client.add_attachments_to_set(
            attachments=[{"fileName": "over.bin", "data": b"x" * (FILE_BYTES + 1)}]
        )
    assert error_code(info) == "AttachmentSetSizeLimitExceeded"
    assert str(FILE_BYTES) in error_message(info)


def test_unknown_and_other_accounts_sets_are_not_found(
    client: Any, att_server: ServerProcess
) -> None:
    with pytest.raises(ClientError) as info:
        client.add_attachments_to_set(
            attachmentSetId="as-doesnotexist", attachments=[{"fileName": "a", "data": b"a"}]
        )
    assert error_code(info) == "AttachmentSetIdNotFound"
    mine = small_set(client, ("a.txt", b"a"))
    other = boto3_client(att_server.url, "999900000001")
    with pytest.raises(ClientError) as info:
        other.add_attachments_to_set(
            attachmentSetId=mine, attachments=[{"fileName": "b", "data": b"b"}]
        )
    assert error_code(info) == "AttachmentSetIdNotFound"


def test_too_many_sets_in_the_window(client: Any) -> None:
    file = [{"fileName": "a.txt", "data": b"a"}]
    # Dry runs check the limit but create nothing.
    for _ in range(SET_LIMIT + 2):
        with pytest.raises(ClientError) as info:
            client.add_attachments_to_set(attachments=file, dryRun=True)
        assert error_code(info) == "DryRunOperationException"
    sets = [client.add_attachments_to_set(attachments=file) for _ in range(SET_LIMIT)]
    for dry_run in (True, False):
        with pytest.raises(ClientError) as info:
            client.add_attachments_to_set(attachments=file, dryRun=dry_run)
        assert error_code(info) == "AttachmentLimitExceeded"
    # Adding to an existing set is not creating one.
    client.add_attachments_to_set(attachmentSetId=sets[0]["attachmentSetId"], attachments=file)


def test_bad_input(client: Any, att_server: ServerProcess, account: str) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"attachments": []}, "InvalidParameterValueException"),
        ({"attachments": [{"data": b"no name"}]}, "InvalidParameterValueException"),
        ({"attachments": [{"fileName": "", "data": b"x"}]}, "InvalidParameterValueException"),
        ({"attachments": [{"fileName": "a\nb", "data": b"x"}]}, "InvalidParameterValueException"),
        ({"attachments": [{"fileName": "no-data"}]}, "InvalidParameterValueException"),
    ]
    for params, code in cases:
        with pytest.raises(ClientError) as info:
            client.add_attachments_to_set(**params)
        assert error_code(info) == code, params
    # Invalid base64 cannot come from boto3: send it raw.
    for data in ("!!!!", "YWJ", "aGk_Pz4-"):
        body = {"attachments": [{"fileName": "a", "data": data}]}
        response = raw_call(att_server, account, "AddAttachmentsToSet", body)
        assert response.status_code == 400
        assert response.json()["__type"] == "SerializationException"
        assert "base64" in response.json()["message"]
    # An empty file is a file.
    client.add_attachments_to_set(attachments=[{"fileName": "empty", "data": base64.b64decode("")}])


def test_dry_run_adds_nothing(client: Any) -> None:
    set_id = small_set(client, ("a", b"a"), ("b", b"b"))
    for _ in range(3):
        with pytest.raises(ClientError) as info:
            client.add_attachments_to_set(
                attachmentSetId=set_id, attachments=[{"fileName": "c", "data": b"c"}], dryRun=True
            )
        assert error_code(info) == "DryRunOperationException"
    client.add_attachments_to_set(
        attachmentSetId=set_id, attachments=[{"fileName": "c", "data": b"c"}]
    )


def test_an_expired_set_refuses_files_and_cases_and_is_swept(
    fast_server: ServerProcess, account: str
) -> None:
    client = boto3_client(fast_server.url, account)
    set_id = small_set(client, ("a.txt", b"a" * 1000))
    advance_clock(fast_server, 3601)  # sets expire after an hour
    with pytest.raises(ClientError) as info:
        client.add_attachments_to_set(
            attachmentSetId=set_id, attachments=[{"fileName": "b", "data": b"b"}]
        )
    assert error_code(info) == "AttachmentSetExpired"
    with pytest.raises(ClientError) as info:
        client.create_case(subject="s", communicationBody="b", attachmentSetId=set_id)
    assert error_code(info) == "AttachmentSetExpired"
    assert client.describe_cases()["cases"] == []
    # The sweeper (every second) deletes the set's files, rows and bytes; no other file
    # is left over.
    deadline = time.monotonic() + 10
    while attachment_rows(fast_server, account) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert attachment_rows(fast_server, account) == 0
    assert stored_blob_keys(fast_server) <= referenced_blob_keys(fast_server)
