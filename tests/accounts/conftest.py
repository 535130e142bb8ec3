"""Servers in SigV4 mode, accounts and keys made through `supportd accounts|keys`.

The admin commands run through click's CliRunner (the real CLI, in process: a
subprocess per command would cost half a second each); test_cli.py also runs them as
real processes. Every server and command shares one server key (SUPPORTD_SERVER_KEY),
so the same code path serves SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from click.testing import CliRunner

from supportd import cli
from tests.accounts.signer import Key
from tests.conftest import _database_url
from tests.support.server import ServerProcess

SERVER_KEY = "c3VwcG9ydGQtdGVzdC1zZXJ2ZXIta2V5LTMyLWJ5dGU="  # 32 bytes, base64
ENV = {"SUPPORTD_SERVER_KEY": SERVER_KEY}
REGIONS = "us-east-1,eu-west-1"  # the shared server's --sigv4-regions

_account_ids = itertools.count(400_000_000_000, 7)


def new_account_id() -> str:
    return str(next(_account_ids))


@dataclass
class Admin:
    """`supportd ...` against one server's store, with --json."""

    store_args: list[str]

    def run(self, *args: str, expect_ok: bool = True) -> Any:
        result = CliRunner().invoke(cli.main, [*args, "--json", *self.store_args], env=ENV)
        if expect_ok:
            assert result.exit_code == 0, result.output
            return json.loads(result.output) if result.output.strip() else None
        assert result.exit_code != 0, result.output
        return result.output

    def account(self, plan: str = "enterprise", email: str | None = None) -> str:
        account_id = new_account_id()
        self.run(
            "accounts",
            "create",
            account_id,
            "--email",
            email or f"owner-{account_id}@example.org",
            "--plan",
            plan,
        )
        return account_id

    def key(self, account_id: str, *extra: str) -> Key:
        made = self.run("keys", "create", "--account", account_id, *extra)
        return Key(made["accessKeyId"], made["secretAccessKey"], made.get("sessionToken"))

    def audit(self, *filters: str) -> list[dict[str, Any]]:
        result = CliRunner().invoke(
            cli.main, ["audit", "--json", *filters, *self.store_args], env=ENV
        )
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.output.splitlines() if line.strip()]

    def audit_rows(self, request_ids: Sequence[str], *filters: str) -> dict[str, dict[str, Any]]:
        """The audit rows of these requests, waiting for the batch that writes them (rows
        are written shortly after the answer, not before it)."""
        deadline = time.monotonic() + 15
        while True:
            rows = {row["requestId"]: row for row in self.audit(*filters)}
            missing = [r for r in request_ids if r not in rows]
            if not missing or time.monotonic() > deadline:
                assert not missing, f"no audit rows for {missing}"
                return rows
            time.sleep(0.05)


@dataclass
class SigV4Server:
    process: ServerProcess
    admin: Admin
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def port(self) -> int:
        return self.process.port


def start_sigv4_server(
    request: pytest.FixtureRequest,
    store_kind: str,
    data_dir: Path,
    *args: str,
    cache_ms: int = 0,
) -> SigV4Server:
    """A `supportd serve --auth sigv4` process. Without a look-up cache by default, so
    that a revocation or a plan change applies to the very next request."""
    database_url = _database_url(request, store_kind)
    process = ServerProcess(
        data_dir=data_dir,
        database_url=database_url,
        extra_args=["--auth", "sigv4", "--auth-cache-ms", str(cache_ms), *args],
        env=ENV,
    ).start()
    store_args = ["--database", database_url] if database_url else ["--data-dir", str(data_dir)]
    return SigV4Server(process, Admin(store_args))


@pytest.fixture(scope="session")
def sigv4_server(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SigV4Server]:
    """A `supportd serve --auth sigv4 --limits none` shared by the tests of this folder,
    accepting signatures for two regions."""
    data_dir = tmp_path_factory.mktemp(f"sigv4-{store_kind}") / "data"
    server = start_sigv4_server(
        request, store_kind, data_dir, "--limits", "none", "--sigv4-regions", REGIONS
    )
    yield server
    server.process.stop()


@pytest.fixture(scope="session")
def enterprise(sigv4_server: SigV4Server) -> tuple[str, Key]:
    """An enterprise account and a key of it (user `jane`)."""
    account_id = sigv4_server.admin.account("enterprise")
    return account_id, sigv4_server.admin.key(account_id, "--user", "jane")


def client(url: str, key: Key, region: str = "us-east-1", **config: Any) -> Any:
    """A boto3 Support client signing with this key; no retries (they would hide the
    throttling and quota answers under test)."""
    return boto3.client(
        "support",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret,
        aws_session_token=key.session_token,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, **config),
    )
