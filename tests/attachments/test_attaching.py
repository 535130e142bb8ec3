"""Attaching sets and uploads to cases and replies; reading attachments back through
DescribeAttachment and the download links."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.attachments.conftest import DESCRIBE_LIMIT, FILE_BYTES, advance_clock
from tests.attachments.helpers import (
    error_code,
    error_message,
    files_of,
    payload,
    small_set,
    start_upload,
    upload_file,
    xml_error,
)
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess


def _names(files: list[dict[str, Any]]) -> list[str]:
    return [f["fileName"] for f in files]


@pytest.mark.supportd_wording
def test_create_case_with_a_set_and_an_upload(client: Any, http: httpx.Client) -> None:
    big = payload(FILE_BYTES + 1, seed=1)
    set_id = small_set(client, ("log.txt", b"line 1\n"), ("shot.png", b"\x89PNG..."))
    upload_id = upload_file(client, http, big, name="dump.bin")
    case_id = client.create_case(
        subject="with files", communicationBody="see files", attachmentSetId=set_id,
        uploadIds=[upload_id],
    )["caseId"]  # fmt: skip
    (first,) = files_of(client, case_id)
    # attachmentSet: files up to the set limit; attachments: every file.
    assert _names(first["attachmentSet"]) == ["log.txt", "shot.png"]
    assert _names(first["attachments"]) == ["log.txt", "shot.png", "dump.bin"]
    assert first["attachments"][:2] == first["attachmentSet"]
    # DescribeCases shows the same in recentCommunications.
    case = client.describe_cases(caseIdList=[case_id])["cases"][0]
    assert case["recentCommunications"]["communications"][0]["attachments"] == first["attachments"]
    # The small files come back through DescribeAttachment, the large one through its link.
    small = first["attachmentSet"][0]["attachmentId"]
    got = client.describe_attachment(attachmentId=small)["attachment"]
    assert got == {"fileName": "log.txt", "data": b"line 1\n"}
    large = first["attachments"][2]["attachmentId"]
    with pytest.raises(ClientError) as info:
        client.describe_attachment(attachmentId=large)
    assert error_code(info) == "InvalidParameterValueException"
    assert "GetAttachmentDownloadLink" in error_message(info)
    link = client.get_attachment_download_link(attachmentId=large)
    assert link["fileName"] == "dump.bin"
    response = http.get(link["downloadUrl"]["url"])
    assert response.status_code == 200
    assert response.content == big
    assert response.headers["content-length"] == str(len(big))
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith('attachment; filename="dump.bin"')
    assert response.headers["content-type"] == "application/octet-stream"


@pytest.mark.supportd_wording
def test_a_reply_with_files_and_a_set_used_once(client: Any) -> None:
    case_id = client.create_case(subject="s", communicationBody="b")["caseId"]
    set_id = small_set(client, ("a.txt", b"a"))
    assert client.add_communication_to_case(
        caseId=case_id, communicationBody="files", attachmentSetId=set_id
    )["result"]
    comms = files_of(client, case_id)
    assert [_names(c["attachments"]) for c in comms] == [[], ["a.txt"]]
    # A set is consumed by the communication it is attached to.
    for call in (
        lambda: client.add_communication_to_case(
            caseId=case_id, communicationBody="again", attachmentSetId=set_id
        ),
        lambda: client.create_case(subject="s", communicationBody="b", attachmentSetId=set_id),
        lambda: client.add_attachments_to_set(
            attachmentSetId=set_id, attachments=[{"fileName": "late", "data": b"x"}]
        ),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert error_code(info) == "AttachmentSetIdNotFound"
        assert "already attached" in error_message(info)
    assert len(files_of(client, case_id)) == 2
    assert len(client.describe_cases()["cases"]) == 1


@pytest.mark.supportd_wording
def test_attaching_is_all_or_nothing(client: Any, http: httpx.Client) -> None:
    set_id = small_set(client, ("a.txt", b"a"))
    ready = upload_file(client, http, payload(1000))
    pending = start_upload(client, "later.bin", 1000).upload_id
    for upload_ids, code in (
        (["upload-unknown"], "UploadIdNotFound"),
        ([ready, pending], "InvalidParameterValueException"),
    ):
        with pytest.raises(ClientError) as info:
            client.create_case(
                subject="s", communicationBody="b", attachmentSetId=set_id, uploadIds=upload_ids
            )
        assert error_code(info) == code
    assert client.describe_cases()["cases"] == []
    # Neither the set nor the ready upload was used up by the refused calls.
    case_id = client.create_case(
        subject="s", communicationBody="b", attachmentSetId=set_id, uploadIds=[ready, ready]
    )["caseId"]
    assert _names(files_of(client, case_id)[0]["attachments"]) == ["a.txt", "big.bin"]
    # An upload is attached once.
    with pytest.raises(ClientError) as info:
        client.add_communication_to_case(caseId=case_id, communicationBody="b", uploadIds=[ready])
    assert error_code(info) == "InvalidParameterValueException"
    assert "already attached" in error_message(info)


def test_upload_ids_limits_and_dry_runs(client: Any, http: httpx.Client) -> None:
    with pytest.raises(ClientError) as info:
        client.create_case(subject="s", communicationBody="b", uploadIds=["u"] * 11)
    assert error_code(info) == "ValidationException"
    ready = upload_file(client, http, payload(10))
    set_id = small_set(client, ("a.txt", b"a"))
    with pytest.raises(ClientError) as info:
        client.create_case(
            subject="s", communicationBody="b", attachmentSetId=set_id, uploadIds=[ready],
            dryRun=True,
        )  # fmt: skip
    assert error_code(info) == "DryRunOperationException"
    case_id = client.create_case(subject="s", communicationBody="b")["caseId"]
    with pytest.raises(ClientError) as info:
        client.add_communication_to_case(
            caseId=case_id, communicationBody="b", attachmentSetId="as-nope", dryRun=True
        )
    assert error_code(info) == "AttachmentSetIdNotFound"
    # The dry runs used nothing up.
    client.add_communication_to_case(
        caseId=case_id, communicationBody="b", attachmentSetId=set_id, uploadIds=[ready]
    )


def test_describe_attachment_errors_and_rate(client: Any, att_server: ServerProcess) -> None:
    set_id = small_set(client, ("a.txt", b"hello"))
    case_id = client.create_case(subject="s", communicationBody="b", attachmentSetId=set_id)[
        "caseId"
    ]
    attachment_id = files_of(client, case_id)[0]["attachmentSet"][0]["attachmentId"]
    other = boto3_client(att_server.url, "999900000002")
    for who, wanted in ((other, attachment_id), (client, "attachment-unknown")):
        with pytest.raises(ClientError) as info:
            who.describe_attachment(attachmentId=wanted)
        assert error_code(info) == "AttachmentIdNotFound"
        with pytest.raises(ClientError) as info:
            who.get_attachment_download_link(attachmentId=wanted)
        assert error_code(info) == "AttachmentIdNotFound"
    with pytest.raises(ClientError) as info:
        client.describe_attachment(attachmentId=attachment_id, dryRun=True)
    assert error_code(info) == "DryRunOperationException"
    # Two calls so far (refused ones count too); the limit is DESCRIBE_LIMIT a minute.
    for _ in range(DESCRIBE_LIMIT - 2):
        client.describe_attachment(attachmentId=attachment_id)
    with pytest.raises(ClientError) as info:
        client.describe_attachment(attachmentId=attachment_id)
    assert error_code(info) == "DescribeAttachmentLimitExceeded"
    # Another account has its own allowance.
    other_set = small_set(other, ("b.txt", b"b"))
    other_case = other.create_case(subject="s", communicationBody="b", attachmentSetId=other_set)
    (comm,) = files_of(other, other_case["caseId"])
    assert other.describe_attachment(attachmentId=comm["attachmentSet"][0]["attachmentId"])


def _signed_link(client: Any, name: str, data: bytes) -> tuple[str, str]:
    set_id = small_set(client, (name, data))
    case_id = client.create_case(subject="s", communicationBody="b", attachmentSetId=set_id)[
        "caseId"
    ]
    attachment_id = files_of(client, case_id)[0]["attachments"][0]["attachmentId"]
    return attachment_id, client.get_attachment_download_link(attachmentId=attachment_id)[
        "downloadUrl"
    ]["url"]


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_download_links_are_signed_and_name_the_file(
    client: Any, http: httpx.Client, att_server: ServerProcess
) -> None:
    attachment_id, url = _signed_link(client, "rapport d'état ☕.txt", b"contents")
    assert url.startswith(att_server.url + "/attachments/" + attachment_id + "?")
    response = http.get(url)
    assert response.content == b"contents"
    disposition = response.headers["content-disposition"]
    assert disposition == (
        'attachment; filename="rapport d\'_tat _.txt"; '
        "filename*=UTF-8''rapport%20d%27%C3%A9tat%20%E2%98%95.txt"
    )
    signature = dict(parse_qsl(urlsplit(url).query))["X-Supportd-Signature"]
    other_id, _ = _signed_link(client, "other.txt", b"other")
    tampered = [
        _with_query(url, **{"X-Supportd-Signature": ("0" if signature[0] != "0" else "1")
                           + signature[1:]}),
        _with_query(url, **{"X-Supportd-Expires": "99999999999"}),
        url.replace(attachment_id, other_id),  # this file's link for another file
        url.split("?")[0],
    ]  # fmt: skip
    for bad in tampered:
        response = http.get(bad)
        assert response.status_code == 403, bad
        assert xml_error(response) in ("SignatureDoesNotMatch", "AccessDenied")
    # HEAD answers the headers only.
    head = http.head(url)
    assert head.status_code == 200 and head.headers["content-length"] == "8"
    assert head.content == b""


def test_links_expire_and_use_the_public_url(fast_server: ServerProcess, account: str) -> None:
    client = boto3_client(fast_server.url, account)
    set_id = small_set(client, ("a.txt", b"a"))
    case_id = client.create_case(subject="s", communicationBody="b", attachmentSetId=set_id)[
        "caseId"
    ]
    attachment_id = files_of(client, case_id)[0]["attachments"][0]["attachmentId"]
    link = client.get_attachment_download_link(attachmentId=attachment_id)["downloadUrl"]
    assert link["url"].startswith(f"http://localhost:{fast_server.port}/attachments/")
    upload = client.get_attachment_upload_links(fileName="f.bin", fileSizeBytes=10)
    assert upload["uploadUrls"][0]["url"].startswith(f"http://localhost:{fast_server.port}/")
    advance_clock(fast_server, 3601)  # links live an hour
    with httpx.Client() as http:
        response = http.get(link["url"])
        assert response.status_code == 403
        assert xml_error(response) == "AccessDenied"
        response = http.put(upload["uploadUrls"][0]["url"], content=b"x" * 10)
        assert response.status_code == 403
        assert xml_error(response) == "AccessDenied"
