"""The SQLite store's disk fills up: writes are refused with a clear 503
ServiceUnavailable, reads go on, nothing is corrupted or half-written, and writes work
again as soon as there is space.

The disk is real: the data directory is on a small tmpfs mounted for the test, and a
filler file takes the rest of its space, so SQLite meets ENOSPC exactly as on a full
disk (its WAL cannot grow), and so does the blob store. Mounting needs root (CAP_SYS_ADMIN),
which CI has; the test says so plainly where it is missing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.staff.conftest import StaffApi
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess

ACCOUNT = "616161616161"
SIZE = "32m"


@contextlib.contextmanager
def small_disk(path: Path) -> Iterator[Path]:
    path.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "supportd-test", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.fail(
            "the full-disk test mounts a small tmpfs and needs root (CAP_SYS_ADMIN): run"
            f" `make test-faults` as root, as CI does ({mounted.stderr.strip()})"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path: Path) -> Path:
    """Take every free byte of the filesystem; the filler file."""
    filler = path / "filler"
    chunk = bytes(1 << 20)
    with open(filler, "wb", buffering=0) as handle:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    handle.write(chunk[:size])
            except OSError:
                continue
    return filler


def _error(call: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def test_a_full_disk_refuses_writes_cleanly_and_recovers(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        server = ServerProcess(data_dir=disk).start()  # its log goes next to the disk
        client = boto3_client(server.url, ACCOUNT)
        try:
            acknowledged = [
                client.create_case(subject=f"before {i}", communicationBody="x" * 4000)["caseId"]
                for i in range(5)
            ]
            filler = fill(disk)
            assert os.statvfs(disk).f_bavail == 0

            body = "y" * 8000
            refused = 0
            for i in range(200):  # until the WAL's last free page is used
                try:
                    acknowledged.append(
                        client.create_case(subject=f"full {i}", communicationBody=body)["caseId"]
                    )
                except ClientError as exc:
                    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 503
                    assert exc.response["Error"]["Code"] == "ServiceUnavailable"
                    assert "try again later" in exc.response["Error"]["Message"]
                    refused += 1
                    if refused == 3:
                        break
            assert refused == 3
            # The other writes too: a file for an attachment set, a staff note.
            assert _error(
                lambda: client.add_attachments_to_set(
                    attachments=[{"fileName": "a.txt", "data": b"z" * 1_000_000}]
                )
            ) == (503, "ServiceUnavailable")
            # Reads go on.
            listed = client.describe_cases(caseIdList=acknowledged[:5])["cases"]
            assert {c["caseId"] for c in listed} == set(acknowledged[:5])
            assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200

            # Space returns: writes work again at once.
            filler.unlink()
            acknowledged.append(
                client.create_case(subject="after", communicationBody="z")["caseId"]
            )
            made = client.add_attachments_to_set(
                attachments=[{"fileName": "a.txt", "data": b"z" * 1_000_000}]
            )
            assert made["attachmentSetId"]
        finally:
            client.close()
            server.stop()
        # No request failed as an internal error (the log would say so).
        assert "internal error" not in server.log(), server.log()[-3000:]

        conn = sqlite3.connect(disk / "supportd.db")
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            stored = [row[0] for row in conn.execute("SELECT case_id FROM cases")]
            orphans = conn.execute(
                "SELECT COUNT(*) FROM communications WHERE case_seq NOT IN (SELECT seq FROM cases)"
            ).fetchone()[0]
        finally:
            conn.close()
        # Every acknowledged case is there, and no refused one (nothing half-written).
        assert sorted(stored) == sorted(acknowledged)
        assert orphans == 0
        leftovers = [p for p in (disk / "blobs").rglob("*") if ".tmp-" in p.name]
        assert leftovers == []


def test_staff_writes_on_a_full_disk_are_a_json_503(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from supportd import cli

    with small_disk(tmp_path / "disk") as disk:
        store = ["--data-dir", str(disk)]
        runner = CliRunner()
        assert (
            runner.invoke(
                cli.main,
                ["staff", "create", "admin", "--email", "a@example.com", "--role", "admin", *store],
            ).exit_code
            == 0
        )
        token = runner.invoke(cli.main, ["staff", "token", "admin", *store]).output.split()[-1]
        server = ServerProcess(data_dir=disk).start()  # its log goes next to the disk
        try:
            client = boto3_client(server.url, ACCOUNT)
            case_id = client.create_case(subject="s", communicationBody="b")["caseId"]
            client.close()
            filler = fill(disk)
            staff = StaffApi(server.url, token)
            codes = set()
            for _ in range(100):
                response = staff.request(
                    "POST", f"/cases/{case_id}/notes", json={"body": "n" * 8000}
                )
                codes.add(response.status_code)
                if response.status_code == 503:
                    assert response.json()["error"]["code"] == "service_unavailable"
                    assert response.headers["retry-after"] == "1"
                    break
            assert 503 in codes
            filler.unlink()
            assert staff.post(f"/cases/{case_id}/notes", {"body": "after"})["changed"] is not None
        finally:
            server.stop()
