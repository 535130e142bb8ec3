"""What only the PostgreSQL store has: migrations shared by many nodes, the schema check,
and retries where PostgreSQL asks for them.

Failures are real: PostgreSQL itself raises the SQLSTATEs, and lost connections are
backends really terminated (pg_terminate_backend), also in the middle of COMMIT.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

import supportd.storage as supportd_storage
from supportd.domain import search
from supportd.domain.accounts import AuditEntry, AuditQuery
from supportd.storage import migrations
from supportd.storage.base import SchemaError
from supportd.storage.postgres import PostgresStore, check_schema, display_url, migrate
from supportd.storage.sql import UniqueViolation
from tests.store.test_contract import comm, new_case
from tests.support.postgres import ThrowawayDatabases
from tests.support.server import TEST_SERVER_KEY, supportd_executable

NEWEST = migrations.latest("postgresql")


@pytest.fixture
def databases(postgres_databases: ThrowawayDatabases) -> ThrowawayDatabases:
    return postgres_databases


@pytest.fixture
def migrated_url(databases: ThrowawayDatabases) -> str:
    return databases.new_database()


@pytest.fixture
def empty_url(databases: ThrowawayDatabases) -> str:
    return databases.new_empty_database()


async def fetchval(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def opened_store(url: str, runner: asyncio.Runner, **options: Any) -> Iterator[PostgresStore]:
    opened = PostgresStore(url, **options)
    runner.run(opened.open())
    try:
        yield opened
    finally:
        runner.run(opened.close())


@pytest.fixture
def pg_store(migrated_url: str, runner: asyncio.Runner) -> Iterator[PostgresStore]:
    yield from opened_store(migrated_url, runner, pool_size=2, max_attempts=3)


class Attempts:
    """A transaction body that fails in a chosen way on its first `failures` calls."""

    def __init__(self, failing_sql: str, failures: int) -> None:
        self.failing_sql = failing_sql
        self.failures = failures
        self.calls = 0

    async def __call__(self, conn: Any) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            await conn.execute(self.failing_sql)
        return f"done on call {self.calls}"


TERMINATE_SELF = "SELECT pg_terminate_backend(pg_backend_pid())"
SERIALIZATION_FAILURE = "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$"
DEADLOCK = "DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$"
UNIQUE_VIOLATION = "DO $$ BEGIN RAISE EXCEPTION 'dup' USING ERRCODE = '23505'; END $$"


# --- migrations and the schema check ------------------------------------------------


async def test_concurrent_migrations_apply_each_file_once(empty_url: str) -> None:
    results = await asyncio.gather(*(migrate(empty_url) for _ in range(4)))
    assert sorted(results) == [
        [],
        [],
        [],
        [name for _, name, _ in migrations.migrations("postgresql")],
    ]
    assert await fetchval(empty_url, "SELECT COUNT(*) FROM schema_migrations") == len(
        migrations.migrations("postgresql")
    )
    await check_schema(empty_url)
    assert await migrate(empty_url) == []


async def test_open_refuses_an_unmigrated_database(empty_url: str) -> None:
    store = PostgresStore(empty_url)
    with pytest.raises(SchemaError, match=r"no supportd schema: run `supportd migrate --database"):
        await store.open()


async def test_open_and_migrate_refuse_a_newer_schema(migrated_url: str) -> None:
    await fetchval(
        migrated_url,
        "INSERT INTO schema_migrations (version, name) VALUES ($1, 'future.sql')",
        NEWEST + 1,
    )
    with pytest.raises(
        SchemaError, match=rf"schema version {NEWEST + 1}, newer than this supportd"
    ):
        await PostgresStore(migrated_url).open()
    with pytest.raises(SchemaError, match="newer than this supportd"):
        await migrate(migrated_url)


def test_messages_never_show_the_password() -> None:
    url = "postgresql://app:s3cret@db.example.com:5433/supportd?sslmode=require"
    assert display_url(url) == "postgresql://app@db.example.com:5433/supportd?sslmode=require"


KEY = {"SUPPORTD_SERVER_KEY": TEST_SERVER_KEY}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")}
    return subprocess.run(
        [supportd_executable(), *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=60,
        check=False,
    )


def test_serve_refuses_an_unmigrated_database_in_one_line(empty_url: str) -> None:
    for result in (
        run_cli("serve", "--port", "0", "--database", empty_url, env=KEY),
        run_cli("serve", "--port", "0", env={"SUPPORTD_DATABASE_URL": empty_url, **KEY}),
    ):
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("Error: the PostgreSQL database")
        assert "run `supportd migrate --database URL`" in lines[0]

    migrated = run_cli("migrate", "--database", empty_url)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.splitlines() == [
        *(f"applied {name}" for _, name, _ in migrations.migrations("postgresql")),
        "schema is up to date",
    ]


def test_serve_on_postgresql_refuses_to_start_without_a_server_key(
    migrated_url: str, tmp_path: Path
) -> None:
    """Every node must sign links and seal secrets with one shared key: none is made up."""
    result = run_cli(
        "serve", "--port", "0", "--database", migrated_url, "--data-dir", str(tmp_path)
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: no server key: give --server-key")
    assert not (tmp_path / "server.key").exists()


def test_unreachable_database_is_one_line_too(databases: ThrowawayDatabases) -> None:
    url = databases.url.rsplit("/", 1)[0] + "/supportd_no_such_database"
    result = run_cli("migrate", "--database", url)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: cannot connect to PostgreSQL at {url}: "
        'database "supportd_no_such_database" does not exist'
    )


# --- retries --------------------------------------------------------------------------


async def test_a_read_is_retried_on_a_lost_connection(pg_store: PostgresStore) -> None:
    body = Attempts(TERMINATE_SELF, failures=1)
    assert await pg_store._read(body) == "done on call 2"


@pytest.mark.parametrize("failure", [TERMINATE_SELF, SERIALIZATION_FAILURE, DEADLOCK])
async def test_a_write_that_failed_before_commit_is_retried(
    pg_store: PostgresStore, failure: str
) -> None:
    body = Attempts(failure, failures=2)
    assert await pg_store._write(body) == "done on call 3"


async def test_retries_are_bounded(pg_store: PostgresStore) -> None:
    body = Attempts(SERIALIZATION_FAILURE, failures=99)
    with pytest.raises(asyncpg.exceptions.SerializationError):
        await pg_store._write(body)
    assert body.calls == pg_store.max_attempts == 3


async def test_other_errors_are_not_retried(pg_store: PostgresStore) -> None:
    body = Attempts(UNIQUE_VIOLATION, failures=1)
    # Both dialects' unique violations reach area code as one error.
    with pytest.raises(UniqueViolation):
        await pg_store._write(body)
    assert body.calls == 1


async def test_statement_timeout_cancels_and_is_not_retried(migrated_url: str) -> None:
    store = PostgresStore(migrated_url, pool_size=1, statement_timeout_ms=50)
    await store.open()
    try:
        body = Attempts("SELECT pg_sleep(30)", failures=1)
        with pytest.raises(asyncpg.exceptions.QueryCanceledError):
            await store._read(body)
        assert body.calls == 1
    finally:
        await store.close()


@pytest.fixture
def commit_killer(migrated_url: str) -> None:
    # A deferred constraint trigger runs inside COMMIT: the backend dies mid-commit, the
    # client loses the connection without knowing whether the transaction committed.
    asyncio.run(
        execute(
            migrated_url,
            """
        CREATE TABLE commit_probe (x INTEGER);
        CREATE FUNCTION die_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$;
        CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON commit_probe
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die_at_commit();
        """,
        )
    )


class DiesAtCommit:
    def __init__(self, times: int) -> None:
        self.times = times
        self.calls = 0

    async def __call__(self, conn: Any) -> str:
        self.calls += 1
        if self.calls <= self.times:
            await conn.execute("INSERT INTO commit_probe VALUES (1)")
        return f"done on call {self.calls}"


async def test_a_write_lost_during_commit_is_not_repeated(
    commit_killer: None, pg_store: PostgresStore
) -> None:
    body = DiesAtCommit(times=1)
    with pytest.raises(
        (
            asyncpg.exceptions.PostgresConnectionError,
            asyncpg.InterfaceError,
            asyncpg.exceptions.AdminShutdownError,
        )
    ):
        await pg_store._write(body)
    assert body.calls == 1
    # The store keeps working on a new connection.
    assert (
        await pg_store._read(lambda conn: conn.fetchval("SELECT COUNT(*) FROM commit_probe")) == 0
    )


async def test_an_idempotent_write_lost_during_commit_is_repeated(
    commit_killer: None, pg_store: PostgresStore
) -> None:
    body = DiesAtCommit(times=1)
    assert await pg_store._write(body, idempotent=True) == "done on call 2"


async def test_create_case_repeated_after_it_committed_finds_the_case(
    pg_store: PostgresStore,
) -> None:
    # What a retry after a lost COMMIT that did commit sees: the case id is taken.
    new = new_case()
    first = await pg_store.create_case(new, comm("once"))
    again = await pg_store.create_case(new, comm("once"))
    assert again == first
    recent = await pg_store.recent_communications([first.seq], 5)
    assert [c.body for c in recent[first.seq]] == ["once"]


async def test_an_audit_batch_written_again_skips_the_rows_already_there(
    pg_store: PostgresStore,
) -> None:
    # What a batch retried after a lost COMMIT that did commit meets (only PostgreSQL
    # retries writes: SQLite's writer has no connection to lose).
    def entry(request_id: str) -> AuditEntry:
        return AuditEntry(
            at_ms=1,
            request_id=request_id,
            account_id="111122223333",
            access_key_id=None,
            caller=None,
            operation="CreateCase",
            source_ip="127.0.0.1",
            user_agent="test",
            http_status=200,
            error_code=None,
        )

    pg_store.record_audit(entry("a"))
    pg_store.record_audit(entry("b"))
    await pg_store.flush_audit()
    for request_id in ("b", "c", "a"):
        pg_store.record_audit(entry(request_id))
    await pg_store.flush_audit()
    rows = await pg_store.list_audit(AuditQuery(limit=10))
    assert [row.request_id for row in rows] == ["a", "b", "c"]


# --- connections given back to the pool -------------------------------------------------
# The pool's reset on release is only asyncpg's rollback of an open transaction (no
# RESET ALL round trip): what a connection carries to its next user must be nothing.


@pytest.fixture
def one_connection_store(migrated_url: str, runner: asyncio.Runner) -> Iterator[PostgresStore]:
    # One connection: the next acquire gets the connection the previous user gave back.
    yield from opened_store(migrated_url, runner, pool_size=1, statement_timeout_ms=4321)


async def test_a_transaction_left_open_is_rolled_back_before_reuse(
    one_connection_store: PostgresStore,
) -> None:
    store = one_connection_store
    async with store._connection() as conn:
        first_pid = conn.get_server_pid()
        await conn.execute("BEGIN")
        await conn.execute("CREATE TABLE left_open (x INTEGER)")
    async with store._connection() as conn:
        assert conn.get_server_pid() == first_pid
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT to_regclass('left_open')") is None


async def test_a_reused_connection_keeps_the_configured_settings(
    one_connection_store: PostgresStore,
) -> None:
    store = one_connection_store
    pids = set()
    for _ in range(3):
        async with store._connection() as conn:
            pids.add(conn.get_server_pid())
            assert await conn.fetchval("SHOW statement_timeout") == "4321ms"
            assert await conn.fetchval("SHOW application_name") == "supportd"
    assert len(pids) == 1


async def test_the_api_commits_durably(one_connection_store: PostgresStore) -> None:
    async with one_connection_store._connection() as conn:
        assert await conn.fetchval("SHOW synchronous_commit") == "on"


async def test_the_delivery_process_store_commits_lazily(migrated_url: str) -> None:
    # runtime.open_store(config, lazy_commits=True): the delivery process only.
    store = PostgresStore(migrated_url, pool_size=1, lazy_commits=True)
    await store.open()
    try:
        async with store._connection() as conn:
            assert await conn.fetchval("SHOW synchronous_commit") == "off"
            assert await conn.fetchval("SHOW application_name") == "supportd-delivery"
        # Its writes still commit: another session sees them at once.
        await store.create_case(new_case(), comm("lazy"))
        assert await fetchval(migrated_url, "SELECT COUNT(*) FROM cases") == 1
    finally:
        await store.close()


async def test_an_advisory_lock_ends_with_its_transaction(
    one_connection_store: PostgresStore, migrated_url: str
) -> None:
    # tx.lock is transaction-scoped: a write that took one leaves no lock on the reused
    # connection for another node to wait on.
    async def locks(tx: Any) -> None:
        await tx.lock("case-quota", "111122223333")

    await one_connection_store._write(locks)
    held = await fetchval(migrated_url, "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'")
    assert held == 0


# SQL keywords as the store writes them (upper case); function names in any case.
SESSION_STATE = re.compile(
    r"\b(SET\s+(SESSION\s+)?[a-z_.]+\s*(=|TO)|LISTEN\b|DECLARE\b|PREPARE\s+\w+\s+AS|"
    r"(?i:pg_advisory_lock(_shared)?\(|set_config\())"
)


def test_no_store_statement_leaves_session_state_behind() -> None:
    # The pool does not RESET ALL / UNLISTEN / CLOSE ALL / unlock on release: a statement
    # that changed the session would leak into the next request on that connection.
    storage = Path(supportd_storage.__file__).parent
    offenders = [
        f"{path.name}: {match.group(0)}"
        for path in sorted(storage.rglob("*.py"))
        for match in SESSION_STATE.finditer(path.read_text())
        # UPDATE ... SET column = value is a row change, not a session setting.
        if not re.search(r"UPDATE(\s+\w+)?\s+$", path.read_text()[: match.start()][-40:])
    ]
    assert offenders == []


def test_the_session_state_check_finds_what_it_looks_for() -> None:
    for leaking in (
        "SET search_path = x",
        "SET SESSION statement_timeout TO 0",
        "LISTEN jobs",
        "SELECT pg_advisory_lock(1)",
        "SELECT set_config('a.b', 'c', false)",
    ):
        assert SESSION_STATE.search(leaking), leaking
    assert not SESSION_STATE.search("SELECT pg_advisory_xact_lock($1, $2)")


# --- search ------------------------------------------------------------------------------


async def test_search_windows_hand_over_what_one_read_of_the_index_does(
    pg_store: PostgresStore,
) -> None:
    """However the newest matches are split into windows (postgres_search), the same
    matches are ranked: none lost between two windows, none read twice."""
    accounts = ("111122223333", "444455556666")
    for i in range(40):
        subject = f"wombat {i}" if i % 3 == 0 else f"other {i}"
        body = "a wombat burrow" if i % 2 == 0 or i > 30 else "nothing here"
        await pg_store.create_case(new_case(accounts[i % 4 == 0], subject=subject), comm(body))

    async def found(**fields: Any) -> list[tuple[int, float, bool]]:
        query = search.SearchQuery(search.parse("wombat"), 50, **fields)
        result = await pg_store.search_cases(query)
        return [(h.case.case.seq, h.score, result.truncated) for h in result.hits]

    for fields in (
        {"candidates": 1000},
        {"candidates": 1},
        {"candidates": 5},
        {"candidates": 12},
        {"candidates": 3, "account_id": accounts[1]},
        {"candidates": 30, "account_id": accounts[0]},
    ):
        pg_store.search_window = 10**9  # one window: every match in one read
        expected = await found(**fields)
        assert expected
        for window in (1, 2, 3, 7, 39):
            pg_store.search_window = window
            assert await found(**fields) == expected, (fields, window)
