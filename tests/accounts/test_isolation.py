"""Cross-account isolation with real keys: for every operation that takes an id (case,
display id, pagination token, attachment set, attachment, upload), another account's
id gets exactly the answer of an id that never existed, and changes nothing. Every row
runs: the fixture that makes the ids fails if an operation it needs fails.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.accounts.conftest import SigV4Server, client


def outcome(call: Callable[..., Any], **params: Any) -> tuple[str, Any]:
    """("OK", result without metadata) or (error code, HTTP status)."""
    try:
        result = call(**params)
    except ClientError as error:
        return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]
    result.pop("ResponseMetadata", None)
    return "OK", result


def _other(value: str) -> str:
    """An id of the same shape that names nothing."""
    return value[:-4] + ("0000" if not value.endswith("0000") else "1111")


@dataclass
class World:
    a: Any  # the owner's client
    b: Any  # the other account's client
    case_id: str
    display_id: str
    cases_token: str
    comms_token: str
    b_case_id: str
    attachment_set_id: str
    attachment_id: str
    upload_id: str


@pytest.fixture(scope="module")
def world(sigv4_server: SigV4Server) -> World:
    admin = sigv4_server.admin
    a = client(sigv4_server.url, admin.key(admin.account("enterprise")))
    b = client(sigv4_server.url, admin.key(admin.account("enterprise")))
    case_ids = [
        a.create_case(subject=f"owned by A {n}", communicationBody="secret of A")["caseId"]
        for n in range(11)
    ]
    for n in range(6):
        a.add_communication_to_case(caseId=case_ids[0], communicationBody=f"reply {n}")
    page = a.describe_cases(maxResults=10, includeCommunications=False)
    comms = a.describe_communications(caseId=case_ids[0], maxResults=10)
    assert "nextToken" not in comms  # 7 communications
    comms_page = a.describe_cases(caseIdList=[case_ids[0]])["cases"][0]["recentCommunications"]
    [case] = a.describe_cases(caseIdList=[case_ids[0]])["cases"]
    b_case_id = b.create_case(subject="owned by B", communicationBody="B")["caseId"]

    # The attachment ids: these calls must work (a failure here fails every row).
    attachment_set_id = a.add_attachments_to_set(
        attachments=[{"fileName": "a.txt", "data": base64.b64decode(b"c2VjcmV0")}],
    )["attachmentSetId"]
    with_file = a.create_case(
        subject="with a file", communicationBody="see file", attachmentSetId=attachment_set_id
    )["caseId"]
    [first] = a.describe_communications(caseId=with_file)["communications"]
    attachment_id = first["attachmentSet"][0]["attachmentId"]
    # A fresh set for the rows that use a set (the first one is now on a case).
    attachment_set_id = a.add_attachments_to_set(
        attachments=[{"fileName": "b.txt", "data": b"more"}]
    )["attachmentSetId"]
    upload_id = a.get_attachment_upload_links(fileName="big.bin", fileSizeBytes=10)["uploadId"]
    return World(
        a=a,
        b=b,
        case_id=case_ids[0],
        display_id=case["displayId"],
        cases_token=page["nextToken"],
        comms_token=comms_page["nextToken"],
        b_case_id=b_case_id,
        attachment_set_id=attachment_set_id,
        attachment_id=attachment_id,
        upload_id=upload_id,
    )


# (name, operation, needs, params given the id)
Row = tuple[str, str, str, Callable[[World, str], dict[str, Any]]]
ROWS: list[Row] = [
    ("DescribeCases caseIdList", "describe_cases", "case_id", lambda w, i: {"caseIdList": [i]}),
    ("DescribeCases displayId", "describe_cases", "display_id", lambda w, i: {"displayId": i}),
    (
        "DescribeCases nextToken",
        "describe_cases",
        "cases_token",
        lambda w, i: {"nextToken": i, "maxResults": 10, "includeCommunications": False},
    ),
    ("DescribeCommunications", "describe_communications", "case_id", lambda w, i: {"caseId": i}),
    (
        "DescribeCommunications nextToken",
        "describe_communications",
        "comms_token",
        lambda w, i: {"caseId": w.b_case_id, "nextToken": i},
    ),
    (
        "AddCommunicationToCase",
        "add_communication_to_case",
        "case_id",
        lambda w, i: {"caseId": i, "communicationBody": "from B"},
    ),
    ("ResolveCase", "resolve_case", "case_id", lambda w, i: {"caseId": i}),
    (
        "CreateCase attachmentSetId",
        "create_case",
        "attachment_set_id",
        lambda w, i: {"subject": "B", "communicationBody": "B", "attachmentSetId": i},
    ),
    (
        "AddCommunicationToCase attachmentSetId",
        "add_communication_to_case",
        "attachment_set_id",
        lambda w, i: {"caseId": w.b_case_id, "communicationBody": "B", "attachmentSetId": i},
    ),
    (
        "AddAttachmentsToSet",
        "add_attachments_to_set",
        "attachment_set_id",
        lambda w, i: {"attachmentSetId": i, "attachments": [{"fileName": "b", "data": b"B"}]},
    ),
    (
        "DescribeAttachment",
        "describe_attachment",
        "attachment_id",
        lambda w, i: {"attachmentId": i},
    ),
    (
        "GetAttachmentDownloadLink",
        "get_attachment_download_link",
        "attachment_id",
        lambda w, i: {"attachmentId": i},
    ),
    (
        "GetAttachmentUploadLinks",
        "get_attachment_upload_links",
        "upload_id",
        lambda w, i: {"fileName": "big.bin", "uploadId": i},
    ),
    (
        "DescribeAttachmentUploadStatus",
        "describe_attachment_upload_status",
        "upload_id",
        lambda w, i: {"uploadId": i},
    ),
    (
        "CompleteAttachmentUpload",
        "complete_attachment_upload",
        "upload_id",
        lambda w, i: {"uploadId": i, "completedUploads": [{"partIndex": 1, "eTag": "x"}]},
    ),
    (
        "CreateCase uploadIds",
        "create_case",
        "upload_id",
        lambda w, i: {"subject": "B", "communicationBody": "B", "uploadIds": [i]},
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_another_accounts_id_is_an_unknown_id(world: World, row: Row) -> None:
    _, operation, needs, params = row
    owned = getattr(world, needs)
    before = outcome(world.a.describe_cases, includeResolvedCases=True, maxResults=100)

    as_other = outcome(getattr(world.b, operation), **params(world, owned))
    as_unknown = outcome(getattr(world.b, operation), **params(world, _other(owned)))

    assert as_other[0] != "UnknownOperationException", as_other
    assert as_other == as_unknown
    if needs == "display_id":
        assert as_other == ("OK", {"cases": []})
        as_owner = outcome(world.a.describe_cases, displayId=owned)
        assert [c["caseId"] for c in as_owner[1]["cases"]] == [world.case_id]
    else:
        assert as_other[0] != "OK" and as_other[1] == 400, as_other
    # Nothing of A's changed.
    assert outcome(world.a.describe_cases, includeResolvedCases=True, maxResults=100) == before


def test_other_account_changes_leave_no_trace(sigv4_server: SigV4Server) -> None:
    admin = sigv4_server.admin
    a = client(sigv4_server.url, admin.key(admin.account("enterprise")))
    b = client(sigv4_server.url, admin.key(admin.account("enterprise")))
    case_id = a.create_case(subject="mine", communicationBody="first")["caseId"]
    before = a.describe_cases(caseIdList=[case_id])["cases"]
    assert outcome(b.add_communication_to_case, caseId=case_id, communicationBody="x")[0] == (
        "CaseIdNotFound"
    )
    assert outcome(b.resolve_case, caseId=case_id)[0] == "CaseIdNotFound"
    assert a.describe_cases(caseIdList=[case_id])["cases"] == before
    assert b.describe_cases(includeResolvedCases=True)["cases"] == []
