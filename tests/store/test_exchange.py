"""`supportd export` / `supportd import` through the real CLI and real servers:
SQLite -> PostgreSQL -> SQLite gives identical API answers and identical exports."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from supportd.storage import exchange, schema, sqlite_core
from supportd.storage.sqlite import SQLiteStore
from tests.support.clients import boto3_client
from tests.support.postgres import ThrowawayDatabases
from tests.support.server import ServerProcess, supportd_executable

ACCOUNTS = ("310000000001", "310000000002")


def supportd(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [supportd_executable(), *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")},
        timeout=120,
        check=False,
    )


def store_args(data_dir: Path | None = None, database_url: str = "") -> list[str]:
    return ["--database", database_url] if database_url else ["--data-dir", str(data_dir)]


def populate(url: str) -> None:
    """Cases of every shape: languages, cc lists, long threads, resolved, reopened."""
    for a, account in enumerate(ACCOUNTS):
        client = boto3_client(url, account)
        for n in range(12):
            case_id = client.create_case(
                subject=f"case {a}/{n} — ünïcödé",
                communicationBody=f"first message of {n}\nsecond line",
                language="ja" if n % 4 == 0 else "en",
                severityCode=("low", "normal", "high")[n % 3],
                ccEmailAddresses=[f"cc{n}@example.com"] if n % 2 else [],
                serviceCode="amazon-dynamodb",
                categoryCode="apis",
            )["caseId"]
            for r in range(n % 7):
                client.add_communication_to_case(caseId=case_id, communicationBody=f"reply {r}")
            if n % 5 == 0:
                client.resolve_case(caseId=case_id)
            if n == 5:
                client.add_communication_to_case(caseId=case_id, communicationBody="reopen")


def snapshot(url: str) -> dict[str, Any]:
    """What the API answers about all data: every page of DescribeCases and every
    case's communications."""
    answers: dict[str, Any] = {}
    for account in ACCOUNTS:
        client = boto3_client(url, account)
        pages, token = [], None
        while True:
            kwargs: dict[str, Any] = {"includeResolvedCases": True, "maxResults": 10}
            if token:
                kwargs["nextToken"] = token
            page = client.describe_cases(**kwargs)
            page.pop("ResponseMetadata")
            pages.append(page)
            token = page.get("nextToken")
            if not token:
                break
        answers[account] = pages
        for case in (c for p in pages for c in p["cases"]):
            comms = client.describe_communications(caseId=case["caseId"], maxResults=100)
            comms.pop("ResponseMetadata")
            answers[case["caseId"]] = comms
    return answers


def split_audit(export: str) -> tuple[str, list[str]]:
    """An export without its audit rows, and those rows (every API call adds one)."""
    kept: list[str] = []
    audit: list[str] = []
    for line in export.splitlines(keepends=True):
        (audit if line.startswith('{"table":"audit_events"') else kept).append(line)
    return "".join(kept), audit


def served_snapshot(data_dir: Path, database_url: str = "") -> dict[str, Any]:
    server = ServerProcess(data_dir=data_dir, database_url=database_url).start()
    try:
        return snapshot(server.url)
    finally:
        server.stop()


def test_round_trip_sqlite_postgresql_sqlite(
    postgres_databases: ThrowawayDatabases, tmp_path: Path
) -> None:
    source = ServerProcess(data_dir=tmp_path / "source" / "data").start()
    try:
        populate(source.url)
        original = snapshot(source.url)
    finally:
        source.stop()
    assert len(original[ACCOUNTS[0]]) == 2  # pages (12 cases, 10 a page)

    first = tmp_path / "first.jsonl"
    exported = supportd("export", *store_args(source.data_dir), "-o", str(first))
    assert exported.returncode == 0, exported.stderr
    assert exported.stderr.startswith("exported 24 cases, 88 communications, 32 case_events,")

    pg_url = postgres_databases.new_database()
    imported = supportd("import", str(first), *store_args(database_url=pg_url))
    assert imported.returncode == 0, imported.stderr
    assert imported.stderr.startswith("imported 24 cases, 88 communications, 32 case_events,")
    assert served_snapshot(tmp_path / "pg" / "data", pg_url) == original

    second = supportd("export", *store_args(database_url=pg_url))  # to standard output
    assert second.returncode == 0, second.stderr
    first_data, first_audit = split_audit(first.read_text(encoding="utf-8"))
    second_data, second_audit = split_audit(second.stdout)
    assert second_data == first_data
    # The audit trail came along, and the PostgreSQL server added its own calls after it.
    assert len(first_audit) > 0
    assert second_audit[: len(first_audit)] == first_audit
    assert len(second_audit) > len(first_audit)

    back = tmp_path / "back" / "data"
    restored = supportd("import", *store_args(back), stdin=second.stdout)  # from stdin
    assert restored.returncode == 0, restored.stderr
    assert served_snapshot(back) == original

    # New cases continue after the imported ones on both stores.
    for data_dir, url in ((back, ""), (tmp_path / "pg" / "data", pg_url)):
        server = ServerProcess(data_dir=data_dir, database_url=url).start()
        try:
            client = boto3_client(server.url, ACCOUNTS[0])
            case_id = client.create_case(subject="after", communicationBody="new")["caseId"]
            newest = client.describe_cases(includeResolvedCases=True, maxResults=10)["cases"][0]
        finally:
            server.stop()
        assert newest["caseId"] == case_id
        highest = max(int(c["displayId"]) for p in original[ACCOUNTS[0]] for c in p["cases"])
        assert int(newest["displayId"]) > highest


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_import_refuses_a_store_that_is_not_empty_or_input_that_is_not_an_export(
    store: str, postgres_databases: ThrowawayDatabases, tmp_path: Path
) -> None:
    if store == "postgresql":
        args = store_args(database_url=postgres_databases.new_database())
    else:
        args = store_args(tmp_path / "data")
    bad = supportd("import", *args, stdin='{"hello": "world"}\n')
    assert bad.returncode == 1
    assert bad.stderr.strip() == "Error: the input does not start with a supportd export header"

    server = ServerProcess(
        data_dir=tmp_path / "data", database_url=args[1] if store == "postgresql" else ""
    )
    server.start()
    try:
        boto3_client(server.url, ACCOUNTS[0]).create_case(subject="x", communicationBody="y")
    finally:
        server.stop()
    dump = supportd("export", *args)
    assert dump.returncode == 0, dump.stderr
    again = supportd("import", *args, stdin=dump.stdout)
    assert again.returncode == 1
    assert again.stderr.strip() == (
        "Error: the store is not empty: import only into a freshly migrated store"
    )


def test_export_of_a_missing_sqlite_database_is_refused(tmp_path: Path) -> None:
    result = supportd("export", "--data-dir", str(tmp_path / "typo"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: no supportd database at {tmp_path}/typo/supportd.db"
    assert not (tmp_path / "typo").exists()


def test_sqlite_export_reads_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every batch of the SQLite export is read and decoded on the export's own thread,
    in seq order."""
    threads: list[str] = []
    read_batch = sqlite_core._export_batch

    def recording(*args: Any) -> list[dict[str, Any]]:
        threads.append(threading.current_thread().name)
        return read_batch(*args)

    monkeypatch.setattr(sqlite_core, "_export_batch", recording)
    store = SQLiteStore(tmp_path / "supportd.db")
    text = {"account_id", "subject", "severity_code", "status", "language", "submitted_by"}
    case = {c: "x" if c in text else None for c in schema.CASES.names}
    case |= {"is_open": True, "issue_type": "technical", "cc_emails": [], "created_ms": 1}

    async def scenario() -> list[tuple[str, list[int]]]:
        await store.open()
        try:
            seqs = (1, 2, 3, 7, 9)
            await store.import_rows(
                "cases", [case | {"seq": seq, "case_id": f"case-{seq}"} for seq in seqs]
            )
            return [
                (name, [row["seq"] for row in batch]) async for name, batch in store.export_all(2)
            ]
        finally:
            await store.close()

    assert asyncio.run(scenario()) == [("cases", [1, 2]), ("cases", [3, 7]), ("cases", [9])]
    # Three batches of cases, then one (empty) read of every other table.
    assert len(threads) == 3 + len(exchange.TABLES) - 1
    assert all(name.startswith("supportd-sqlite-export") for name in threads)
