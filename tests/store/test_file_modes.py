"""What supportd writes to disk is the owner's alone, whatever the umask: a real
`supportd serve` started with umask 000 (everything world-writable by default) makes
its data directory, database (-wal, -shm), server key and blobs 0700/0600, and
`supportd export --output` writes a 0600 file (on both stores)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import _database_url
from tests.support.clients import boto3_client
from tests.support.server import TEST_SERVER_KEY, ServerProcess, supportd_executable

PERMISSIVE = 0o000


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _use_everything(server: ServerProcess) -> None:
    """A case, an attachment set (a blob) and one part of a large upload (a part blob,
    and the server key that signs links)."""
    client = boto3_client(server.url, "210987654321")
    client.create_case(subject="private", communicationBody="data at rest")
    client.add_attachments_to_set(attachments=[{"fileName": "a.txt", "data": b"secret"}])
    links = client.get_attachment_upload_links(fileName="big.bin", fileSizeBytes=10)
    response = httpx.put(links["uploadUrls"][0]["url"], content=b"0123456789", timeout=30)
    assert response.status_code == 200, response.text


def test_the_sqlite_data_directory_is_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"  # made by supportd
    server = ServerProcess(data_dir=data, umask=PERMISSIVE).start()
    try:
        _use_everything(server)
        expected = {
            data / "supportd.db",
            data / "supportd.db-wal",
            data / "supportd.db-shm",
            data / "server.key",
        }
        assert expected <= set(data.iterdir())
        blobs = [p for p in (data / "blobs").rglob("*") if p.is_file()]
        assert {p.relative_to(data / "blobs").parts[0] for p in blobs} == {"a", "u"}
        # The data directory and everything in it.
        for path in [data, *data.rglob("*")]:
            wanted = 0o700 if path.is_dir() else 0o600
            assert _mode(path) == wanted, (path, oct(_mode(path)))
    finally:
        server.stop()


def test_export_output_is_owner_only(
    request: pytest.FixtureRequest, store_kind: str, tmp_path: Path
) -> None:
    database_url = _database_url(request, store_kind)
    server = ServerProcess(
        data_dir=tmp_path / "data", database_url=database_url, umask=PERMISSIVE
    ).start()
    try:
        boto3_client(server.url, "210987654321").create_case(
            subject="exported", communicationBody="b"
        )
    finally:
        server.stop()
    store = ["--database", database_url] if database_url else ["--data-dir", str(tmp_path / "data")]
    output = tmp_path / "backup.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")}
    env["SUPPORTD_SERVER_KEY"] = TEST_SERVER_KEY
    result = subprocess.run(
        [supportd_executable(), "export", "--output", str(output), *store],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        umask=PERMISSIVE,
    )
    assert result.returncode == 0, result.stderr
    assert '"exported"' in output.read_text()
    assert _mode(output) == 0o600
