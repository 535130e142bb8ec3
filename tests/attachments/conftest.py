"""Servers for the attachment tests, on both stores, with small limits so large-file
paths run in milliseconds: 64 KiB parts, 100 kB set files, few sets and DescribeAttachment
calls per account. Every test uses an account of its own (the `account` fixture), so the
per-account limits of one test do not reach another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from supportd.runtime import write_offset
from tests.support.clients import boto3_client
from tests.support.postgres import ThrowawayDatabases
from tests.support.server import ServerProcess, free_port

# One server key for every node of a test (several nodes must share it).
SERVER_KEY = "c3VwcG9ydGQtdGVzdC1rZXktMzItYnl0ZXMtbG9uZyE="
PART_BYTES = 65_536
FILE_BYTES = 100_000
SET_LIMIT = 6
DESCRIBE_LIMIT = 5

LIMITS = [
    "--upload-part-bytes",
    str(PART_BYTES),
    "--attachment-file-bytes",
    str(FILE_BYTES),
    "--attachment-set-limit",
    str(SET_LIMIT),
    "--describe-attachment-limit",
    str(DESCRIBE_LIMIT),
    "--worker-poll-ms",
    "50",
]


def database_url(request: pytest.FixtureRequest, store_kind: str) -> str:
    if store_kind != "postgresql":
        return ""
    databases: ThrowawayDatabases = request.getfixturevalue("postgres_databases")
    return databases.new_database()


def start(data_dir: Path, url: str, extra: list[str] | None = None, port: int = 0) -> ServerProcess:
    return ServerProcess(
        data_dir=data_dir,
        database_url=url,
        extra_args=[*LIMITS, *(extra or [])],
        env={"SUPPORTD_SERVER_KEY": SERVER_KEY},
        port=port,
    ).start()


@pytest.fixture(scope="session")
def att_server(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    process = start(
        tmp_path_factory.mktemp(f"att-{store_kind}") / "data", database_url(request, store_kind)
    )
    yield process
    process.stop()


@pytest.fixture(scope="session")
def fast_server(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server whose clock tests move forward (advance_clock), a sweeper every second,
    and links built from --public-url (a name of this host, not the address the client
    uses)."""
    port = free_port()
    base = tmp_path_factory.mktemp(f"att-fast-{store_kind}")
    process = start(
        base / "data",
        database_url(request, store_kind),
        [
            "--fake-clock-file",
            str(base / "clock"),
            "--attachment-sweep-interval-s",
            "1",
            "--public-url",
            f"http://localhost:{port}/",
        ],
        port=port,
    )
    yield process
    process.stop()


def advance_clock(server: ServerProcess, seconds: float) -> None:
    """Move the server's clock forward (its --fake-clock-file)."""
    path = Path(server.extra_args[server.extra_args.index("--fake-clock-file") + 1])
    text = path.read_text().strip() if path.exists() else ""
    write_offset(path, (int(text) if text else 0) + int(seconds * 1000))


@pytest.fixture
def client(att_server: ServerProcess, account: str) -> Any:
    return boto3_client(att_server.url, account)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as session:
        yield session
