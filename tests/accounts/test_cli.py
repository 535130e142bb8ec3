"""`supportd accounts|keys` as an operator uses them: real processes, --json and text
output, mistakes answered in one line, secrets shown once and kept sealed at rest; and
`supportd serve` refusing unsafe settings."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from click.testing import CliRunner

from supportd import cli
from supportd.config import Config, exposure_problem
from tests.accounts.conftest import (
    ENV,
    SigV4Server,
    client,
    new_account_id,
    start_sigv4_server,
)
from tests.accounts.signer import Key, call
from tests.support.server import supportd_executable


def supportd(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")}
    return subprocess.run(
        [supportd_executable(), *args],
        capture_output=True,
        text=True,
        env={**env, **ENV},
        timeout=60,
        check=False,
    )


def test_accounts_and_keys_as_processes(sigv4_server: SigV4Server) -> None:
    store = sigv4_server.admin.store_args
    account_id = new_account_id()
    made = supportd(
        "accounts", "create", account_id, "--email", "a@example.com", "--plan", "business", *store
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == f"created account {account_id} (business)"

    key = supportd("keys", "create", "--account", account_id, "--user", "ci", "--json", *store)
    assert key.returncode == 0, key.stderr
    document = json.loads(key.stdout)
    assert set(document) == {"accessKeyId", "secretAccessKey", "accountId", "userName"}
    assert document["accessKeyId"].startswith("AKIA") and len(document["accessKeyId"]) == 20
    assert len(document["secretAccessKey"]) == 40

    listed = supportd("keys", "list", "--account", account_id, "--json", *store)
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)
    assert entry["accessKeyId"] == document["accessKeyId"]
    assert entry["status"] == "active" and entry["userName"] == "ci"
    assert document["secretAccessKey"] not in listed.stdout

    support = client(sigv4_server.url, Key(document["accessKeyId"], document["secretAccessKey"]))
    assert support.describe_severity_levels()["severityLevels"]

    text = supportd("accounts", "list", *store)
    assert text.returncode == 0
    assert any(line.split()[:2] == [account_id, "business"] for line in text.stdout.splitlines())
    assert document["secretAccessKey"] not in sigv4_server.process.log()


def test_mistakes_are_one_line_errors(sigv4_server: SigV4Server) -> None:
    admin = sigv4_server.admin
    account_id = admin.account("enterprise")
    cases: list[tuple[list[str], str]] = [
        (["accounts", "create", account_id, "--email", "x@example.com", "--plan", "basic"],
         "exists already"),
        (["accounts", "create", "12345", "--email", "x@example.com", "--plan", "basic"],
         "12 digits"),
        (["accounts", "create", new_account_id(), "--email", "nobody", "--plan", "basic"],
         "not an e-mail address"),
        (["accounts", "create", new_account_id(), "--email", "x@example.com", "--plan", "gold"],
         "Invalid value for '--plan'"),
        (["accounts", "set-plan", new_account_id(), "business"], "no account"),
        (["accounts", "delete", new_account_id()], "no account"),
        (["keys", "create", "--account", new_account_id()], "no account"),
        (["keys", "create", "--account", account_id, "--expires-in", "60"], "--temporary"),
        (["keys", "create", "--account", account_id, "--temporary", "--expires-in", "0"],
         "temporary key lasts"),
        (["keys", "revoke", "AKIANOSUCHKEY0000000"], "no access key"),
    ]  # fmt: skip
    for args, message in cases:
        output = admin.run(*args, expect_ok=False)
        assert message in output, (args, output)
        assert "Traceback" not in output


def test_revoke_and_delete(sigv4_server: SigV4Server) -> None:
    admin = sigv4_server.admin
    account_id = admin.account("enterprise")
    kept, revoked = admin.key(account_id), admin.key(account_id)
    created = call(
        sigv4_server.port, kept, "CreateCase", {"subject": "s", "communicationBody": "b"}
    )
    shown = admin.run("keys", "revoke", revoked.access_key_id)
    assert shown["status"] == "revoked" and "revoked" in shown
    assert call(sigv4_server.port, revoked, "DescribeCases").code == "UnrecognizedClientException"
    assert call(sigv4_server.port, kept, "DescribeCases").status == 200

    assert admin.run("accounts", "delete", account_id) == {"accountId": account_id, "deleted": True}
    assert admin.run("keys", "list", "--account", account_id) == []
    assert call(sigv4_server.port, kept, "DescribeCases").code == "UnrecognizedClientException"
    # The cases stay: the account, made again, finds them.
    admin.run("accounts", "create", account_id, "--email", "b@example.com", "--plan", "business")
    again = admin.key(account_id)
    listed = call(sigv4_server.port, again, "DescribeCases", {"includeCommunications": False})
    assert [c["caseId"] for c in listed.body["cases"]] == [created.body["caseId"]]


def test_with_the_default_cache_a_revocation_applies_within_a_second(
    request: pytest.FixtureRequest, store_kind: str, tmp_path: Path
) -> None:
    server = start_sigv4_server(
        request, store_kind, tmp_path / "data", "--limits", "none", cache_ms=1000
    )
    try:
        admin = server.admin
        key = admin.key(admin.account("enterprise"))
        assert call(server.port, key, "DescribeServices").status == 200  # now cached
        admin.run("keys", "revoke", key.access_key_id)
        revoked_at = time.monotonic()
        while True:
            answer = call(server.port, key, "DescribeServices")
            if answer.code == "UnrecognizedClientException":
                break
            assert answer.status == 200
            assert time.monotonic() - revoked_at < 15, "the revocation never applied"
            time.sleep(0.05)
    finally:
        server.process.stop()


def test_temporary_key_listing(sigv4_server: SigV4Server) -> None:
    admin = sigv4_server.admin
    account_id = admin.account("enterprise")
    made = admin.run("keys", "create", "--account", account_id, "--temporary", "--expires-in", "90")
    assert made["accessKeyId"].startswith("ASIA")
    assert set(made) == {
        "accessKeyId", "secretAccessKey", "sessionToken", "expiration", "accountId", "userName"
    }  # fmt: skip
    [entry] = admin.run("keys", "list", "--account", account_id)
    assert entry["temporary"] is True and entry["expiration"] == made["expiration"]
    assert made["sessionToken"] not in json.dumps(entry)


def _everything_stored(store_args: list[str]) -> bytes:
    """Every byte the store holds: the SQLite files (WAL included) as they are on disk,
    or every row of every table of the PostgreSQL database as text."""
    if store_args[0] == "--data-dir":
        return b"".join(p.read_bytes() for p in Path(store_args[1]).glob("supportd.db*"))

    async def dump() -> bytes:
        conn = await asyncpg.connect(store_args[1])
        try:
            tables = await conn.fetch(
                "SELECT quote_ident(table_name) FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
            rows = []
            for (table,) in tables:
                rows += await conn.fetch(f"SELECT t::text FROM {table} t")
            return "\n".join(row[0] for row in rows).encode()
        finally:
            await conn.close()

    return asyncio.run(dump())


def test_secrets_are_sealed_at_rest(sigv4_server: SigV4Server) -> None:
    admin = sigv4_server.admin
    made = admin.run("keys", "create", "--account", admin.account("enterprise"), "--temporary")
    # Used once, so the server has read (and cached) the secret too.
    key = Key(made["accessKeyId"], made["secretAccessKey"], made["sessionToken"])
    assert call(sigv4_server.port, key, "DescribeSeverityLevels", {"language": "en"}).status == 200
    stored = _everything_stored(admin.store_args)
    assert made["accessKeyId"].encode() in stored  # the dump does hold the key's row
    assert made["secretAccessKey"].encode() not in stored
    assert made["sessionToken"].encode() not in stored


def _serve(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli.main, ["serve", *args], env=env or {})


def test_serve_refuses_open_mode_on_a_network_address() -> None:
    result = _serve("--host", "0.0.0.0", "--port", "0")
    assert result.exit_code == 2
    assert "refusing to serve open mode" in result.output
    assert "--allow-open-on-network" in result.output


@pytest.mark.parametrize(
    ("host", "auth", "allowed", "problem"),
    [
        ("127.0.0.1", "open", False, False),
        ("::1", "open", False, False),
        ("localhost", "open", False, False),
        ("0.0.0.0", "open", False, True),
        ("192.168.1.10", "open", False, True),
        ("support.internal", "open", False, True),
        ("0.0.0.0", "open", True, False),
        ("0.0.0.0", "sigv4", False, False),
    ],
)
def test_exposure_rule(host: str, auth: str, allowed: bool, problem: bool) -> None:
    config = Config(host=host, auth=auth, allow_open_on_network=allowed)
    assert (exposure_problem(config) is not None) is problem


def test_serve_sigv4_on_postgresql_needs_a_shared_server_key(tmp_path: Path) -> None:
    result = _serve(
        "--auth",
        "sigv4",
        "--database",
        "postgresql://nobody@127.0.0.1:1/none",
        "--data-dir",
        str(tmp_path),
    )
    assert result.exit_code == 1
    assert "no server key" in result.output and "--server-key" in result.output
    assert not (tmp_path / "server.key").exists()
