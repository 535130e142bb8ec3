"""Two `supportd serve` processes on one PostgreSQL: file bytes live in PostgreSQL, so an
upload whose parts land on different nodes completes, and a link signed by one node is
accepted by the other (they share the server key)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.attachments.conftest import PART_BYTES, start
from tests.attachments.helpers import (
    completed,
    files_of,
    payload,
    put_part,
    small_set,
    start_upload,
    stored_blob_keys,
    wait_ready,
    xml_error,
)
from tests.support.clients import boto3_client
from tests.support.postgres import ThrowawayDatabases
from tests.support.server import ServerProcess

pytestmark = pytest.mark.postgres

ACCOUNT = "220000000001"


@pytest.fixture
def nodes(postgres_databases: ThrowawayDatabases, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    url = postgres_databases.new_database()
    started = [start(tmp_path / f"node{i}" / "data", url) for i in range(2)]
    yield started
    for node in started:
        node.stop()


def _on(node: ServerProcess, url: str) -> str:
    """The same link, sent to another node."""
    path = url.split("/", 3)[3]
    return f"{node.url}/{path}"


def test_parts_on_both_nodes_make_one_file(nodes: list[ServerProcess]) -> None:
    a, b = (boto3_client(node.url, ACCOUNT) for node in nodes)
    data = payload(5 * PART_BYTES + 999, seed=21)
    upload = start_upload(a, "spread.bin", len(data))
    assert upload.total_parts == 6
    with httpx.Client(timeout=30) as http:
        for index in upload.urls:
            node = nodes[index % 2]  # odd parts to node 1, even parts to node 0
            response = put_part(http, upload, data, index, _on(node, upload.urls[index]))
            assert response.status_code == 200, response.text
        # Reported half on each node; processed by whichever worker claims the job.
        a.complete_attachment_upload(
            uploadId=upload.upload_id, completedUploads=completed(upload, [1, 2, 3])
        )
        b.complete_attachment_upload(
            uploadId=upload.upload_id, completedUploads=completed(upload, [4, 5, 6])
        )
        assert wait_ready(a, upload.upload_id)["uploadStatus"] == "attachment-ready"
        set_id = small_set(b, ("note.txt", b"small"))
        case_id = b.create_case(
            subject="s", communicationBody="b", uploadIds=[upload.upload_id],
            attachmentSetId=set_id,
        )["caseId"]  # fmt: skip
        (comm,) = files_of(a, case_id)
        assert [f["fileName"] for f in comm["attachments"]] == ["note.txt", "spread.bin"]
        big_id = comm["attachments"][1]["attachmentId"]
        # A download link from node 0, fetched from node 1 (and the other way round).
        link = a.get_attachment_download_link(attachmentId=big_id)["downloadUrl"]["url"]
        assert http.get(_on(nodes[1], link)).content == data
        small_link = b.get_attachment_download_link(
            attachmentId=comm["attachments"][0]["attachmentId"]
        )["downloadUrl"]["url"]
        assert http.get(_on(nodes[0], small_link)).content == b"small"
        assert (
            a.describe_attachment(attachmentId=comm["attachments"][0]["attachmentId"])[
                "attachment"
            ]["data"]
            == b"small"
        )
    assert all(not key.startswith("u/") for key in stored_blob_keys(nodes[0]))


def test_a_node_with_another_key_refuses_the_links(
    postgres_databases: ThrowawayDatabases, tmp_path: Path
) -> None:
    url = postgres_databases.new_database()
    signer = start(tmp_path / "a" / "data", url)
    stranger = ServerProcess(
        data_dir=tmp_path / "b" / "data",
        database_url=url,
        env={"SUPPORTD_SERVER_KEY": "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktISE="},
    ).start()
    try:
        client = boto3_client(signer.url, ACCOUNT)
        upload = start_upload(client, "f.bin", 10)
        with httpx.Client() as http:
            response = http.put(_on(stranger, upload.urls[1]), content=b"x" * 10)
            assert response.status_code == 403
            assert xml_error(response) == "SignatureDoesNotMatch"
    finally:
        signer.stop()
        stranger.stop()
