"""The support side against real server processes, on SQLite and PostgreSQL.

One `supportd serve` per store for the whole directory, started with a fake clock file
(SUPPORTD_FAKE_CLOCK_FILE, injected through configuration) and a fast worker poll.
Tests that need time to pass move that clock forward with `clock.advance(...)`; the
clock only ever moves forward, and every test works relative to the times the server
reports, so tests do not disturb each other. Each test uses accounts of its own.
An admin staff member and their token are made with the CLI on the store itself, as an
operator would before starting the server. The store suite's in-process fixtures
(`store`, and its runner for `async def` tests) serve tests/staff/test_store.py.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from supportd import cli
from supportd.runtime import write_offset
from tests.store.conftest import pytest_pyfunc_call, runner, store  # noqa: F401
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess
from tests.support.staff_openapi_check import check_response

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
ADMIN = "admin"

# Accounts of this directory: far from the ones tests/conftest.py hands out.
_accounts = itertools.count(900_000_000_000, 7919)
_names = itertools.count(1)


@dataclass
class FakeClock:
    """The server's clock: system time plus the offset in this file."""

    path: Path
    offset_ms: int = 0

    def advance(self, ms: int) -> None:
        assert ms > 0, "the shared fake clock only moves forward"
        self.offset_ms += ms
        write_offset(self.path, self.offset_ms)

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms


@dataclass
class StaffApi:
    """A staff API client with one token."""

    url: str
    token: str

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        # A connection per request: nothing is left open when a test ends.
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        response = httpx.request(
            method, self.url + "/staff/api" + path, headers=headers, timeout=30, **kwargs
        )
        # Every answer is one the OpenAPI document describes.
        check_response(response)
        return response

    def get(self, path: str, **params: Any) -> Any:
        response = self.request("GET", path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: Any = None) -> Any:
        response = self.request("POST", path, json=body if body is not None else {})
        assert response.status_code == 200, response.text
        return response.json()

    def error(self, method: str, path: str, status: int, code: str, **kwargs: Any) -> str:
        """Send a request that must fail with this status and code; the message."""
        response = self.request(method, path, **kwargs)
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/json")
        error = response.json()["error"]
        assert error["code"] == code, error
        assert error["message"]
        return str(error["message"])


@dataclass
class StaffServer:
    process: ServerProcess
    store_args: list[str]  # --data-dir or --database, and the clock: the CLI on the store
    clock: FakeClock
    admin: StaffApi

    @property
    def url(self) -> str:
        return self.process.url

    def cli(self, *args: str, ok: bool = True) -> Any:
        """Run `supportd ARGS` on this server's store (in process)."""
        result = CliRunner().invoke(cli.main, [*args, *self.store_args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def remote(self, *args: str, token: str | None = None, ok: bool = True) -> Any:
        """Run `supportd ARGS` against this server's staff API."""
        result = CliRunner().invoke(
            cli.main,
            [*args, "--url", self.url, "--token", token or self.admin.token],
            catch_exceptions=False,
        )
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def new_staff(self, role: str = "agent") -> StaffApi:
        """A new staff member of this role, with a token of their own."""
        name = f"agent{next(_names)}"
        self.admin.post("/staff", {"name": name, "email": f"{name}@example.com", "role": role})
        token = self.admin.post(f"/staff/{name}/tokens")["token"]
        return StaffApi(self.url, token)


def _token_from_cli(output: str) -> str:
    return output.split()[-1]


@pytest.fixture(scope="session")
def staff_server(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StaffServer]:
    base = tmp_path_factory.mktemp(f"staff-{store_kind}")
    clock = FakeClock(base / "clock")
    write_offset(clock.path, 0)
    database_url = ""
    if store_kind == "postgresql":
        database_url = request.getfixturevalue("postgres_databases").new_database()
        store_args = ["--database", database_url]
    else:
        store_args = ["--data-dir", str(base / "data")]
    # Local commands read the same fake clock as the server.
    store_args += ["--fake-clock-file", str(clock.path)]
    cli_runner = CliRunner()
    created = cli_runner.invoke(
        cli.main,
        ["staff", "create", ADMIN, "--email", "admin@example.com", "--role", "admin", *store_args],
    )
    assert created.exit_code == 0, created.output
    token = cli_runner.invoke(cli.main, ["staff", "token", ADMIN, *store_args])
    assert token.exit_code == 0, token.output
    process = ServerProcess(
        data_dir=base / "data",
        database_url=database_url,
        extra_args=["--fake-clock-file", str(clock.path), "--worker-poll-ms", "50"],
    ).start()
    server = StaffServer(
        process, store_args, clock, StaffApi(process.url, _token_from_cli(token.output))
    )
    yield server
    process.stop()


@pytest.fixture
def admin(staff_server: StaffServer) -> StaffApi:
    return staff_server.admin


@pytest.fixture
def customer_account() -> str:
    return str(next(_accounts))


@pytest.fixture
def customer(staff_server: StaffServer, customer_account: str) -> Iterator[Any]:
    """A boto3 Support client of an account no other test uses."""
    client = boto3_client(staff_server.url, customer_account)
    yield client
    client.close()


def new_case(client: Any, **params: Any) -> str:
    params.setdefault("subject", "TEST CASE-Please ignore")
    params.setdefault("communicationBody", "Testing the support side.")
    return str(client.create_case(**params)["caseId"])


def customer_case(client: Any, case_id: str) -> dict[str, Any]:
    cases = client.describe_cases(caseIdList=[case_id], includeResolvedCases=True)["cases"]
    assert len(cases) == 1
    return dict(cases[0])


def wait_for(check: Any, timeout_s: float = 10.0) -> Any:
    """Poll until check() returns something truthy (the background worker's work)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)
