from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.clients import boto3_client
from tests.support.server import ServerProcess


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real `supportd serve` process shared by the compatibility tests."""
    process = ServerProcess(data_dir=tmp_path_factory.mktemp("server") / "data").start()
    yield process
    process.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of its own, for tests that restart or kill it."""
    process = ServerProcess(data_dir=tmp_path / "data").start()
    yield process
    process.stop()


_accounts = iter(range(100_000_000_000, 999_999_999_999, 7919))


@pytest.fixture
def account() -> str:
    """A 12-digit account no other test uses, so tests do not see each other's cases."""
    return str(next(_accounts))


@pytest.fixture
def support(server: ServerProcess, account: str) -> Any:
    return boto3_client(server.url, account)
