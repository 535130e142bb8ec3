"""Servers for the Trusted Advisor tests, on both stores.

Each server finds the test plug-in (tests/advisor/plugin, a distribution with
`supportd.advisor_checks` entry points) on its PYTHONPATH, reads the operator checks
file tests/advisor/checks.json, refreshes with a short minimum interval and provider
timeout, and polls for jobs every 50 ms. Every provider run is logged to a file
(ADVISOR_TEST_LOG), so tests count runs across processes.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import postgres
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess

HERE = Path(__file__).resolve().parent
PLUGIN = HERE / "plugin"
CHECKS_FILE = HERE / "checks.json"
INTERVAL_MS = 2000
TIMEOUT_MS = 1500
POLL_MS = 50

# Residue 3 modulo 7919: apart from the accounts of other suites.
_accounts = itertools.count(200_000_000_003, 7919)


@dataclass
class AdvisorServer:
    process: ServerProcess
    log: Path  # one line per provider run: name, account, check, pid
    store_args: list[str]  # the CLI options naming its store

    @property
    def url(self) -> str:
        return self.process.url

    def runs(self, account: str) -> list[tuple[str, str, int]]:
        """(provider, check, pid) of every provider run for the account."""
        if not self.log.exists():
            return []
        found = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            name, owner, check, pid = line.split()
            if owner == account:
                found.append((name, check, int(pid)))
        return found


def server_env(log: Path) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(PLUGIN), os.environ.get("PYTHONPATH", "")]))
    return {"PYTHONPATH": path, "ADVISOR_TEST_LOG": str(log)}


def advisor_args(*extra: str) -> list[str]:
    return [
        "--advisor-checks-file",
        str(CHECKS_FILE),
        "--advisor-refresh-interval-ms",
        str(INTERVAL_MS),
        "--advisor-refresh-timeout-ms",
        str(TIMEOUT_MS),
        "--worker-poll-ms",
        str(POLL_MS),
        *extra,
    ]


def database_url(request: pytest.FixtureRequest, store_kind: str) -> str:
    if store_kind != "postgresql":
        return ""
    databases: postgres.ThrowawayDatabases = request.getfixturevalue("postgres_databases")
    return databases.new_database()


def start_server(
    directory: Path, url: str, log: Path, *extra: str, data_dir: Path | None = None
) -> AdvisorServer:
    data = data_dir or directory / "data"
    process = ServerProcess(
        data_dir=data,
        database_url=url,
        extra_args=advisor_args(*extra),
        env=server_env(log),
    ).start()
    store_args = ["--database", url] if url else ["--data-dir", str(data)]
    return AdvisorServer(process, log, store_args)


@pytest.fixture(scope="module")
def advisor_server(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AdvisorServer]:
    directory = tmp_path_factory.mktemp(f"advisor-{store_kind}")
    server = start_server(directory, database_url(request, store_kind), directory / "runs.log")
    yield server
    server.process.stop()


@pytest.fixture
def advisor_account() -> str:
    return str(next(_accounts))


@pytest.fixture
def client(advisor_server: AdvisorServer, advisor_account: str) -> Any:
    return boto3_client(advisor_server.url, advisor_account)
