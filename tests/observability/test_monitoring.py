"""/metrics, /readyz and the logs of a real server, on each store.

One server per store for the module, started as an operator would turn everything on:
JSON logs, the access log, and a slow-request threshold of 1 ms (so that a large
AddAttachmentsToSet is certainly slow).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from tests.support.clients import boto3_client
from tests.support.postgres import _execute
from tests.support.server import ServerProcess

ACCOUNT = "313131313131"


@pytest.fixture(scope="module")
def monitored(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp(f"monitored-{store_kind}")
    database_url = ""
    if store_kind == "postgresql":
        database_url = request.getfixturevalue("postgres_databases").new_database()
    process = ServerProcess(
        data_dir=base / "data",
        database_url=database_url,
        extra_args=["--log-format", "json", "--access-log", "--slow-request-ms", "1"],
    ).start()
    yield process
    process.stop()


def scrape(server: ServerProcess) -> dict[str, list[Any]]:
    """Samples by metric family name (as prometheus-client parses the text)."""
    response = httpx.get(server.url + "/metrics", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        family.name: list(family.samples)
        for family in text_string_to_metric_families(response.text)
    }


def requests_counted(metrics: dict[str, list[Any]], **labels: str) -> float:
    return sum(
        s.value
        for s in metrics.get("supportd_requests", [])
        if s.name == "supportd_requests_total"
        and all(s.labels.get(k) == v for k, v in labels.items())
    )


def log_lines(server: ServerProcess) -> list[dict[str, Any]]:
    lines = []
    for line in server.log().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_requests_are_counted_by_operation_and_error_code(
    monitored: ServerProcess, store_kind: str
) -> None:
    client = boto3_client(monitored.url, ACCOUNT)
    before = scrape(monitored)
    created = requests_counted(before, api="aws", operation="CreateCase", error="none")
    missing = requests_counted(before, operation="DescribeCases", error="CaseIdNotFound")
    for _ in range(3):
        client.create_case(subject="counted", communicationBody="one of three")
    with pytest.raises(ClientError):
        client.describe_cases(caseIdList=["case-313131313131-supd-2026-0000000000000000"])
    httpx.get(monitored.url + "/staff/api/me", timeout=30)  # 401: no token
    after = scrape(monitored)
    assert requests_counted(after, api="aws", operation="CreateCase", status="200") >= created + 3
    assert (
        requests_counted(after, operation="DescribeCases", status="400", error="CaseIdNotFound")
        == missing + 1
    )
    assert requests_counted(after, api="staff", operation="GET /me", error="missing_token") >= 1
    latency = {
        s.labels["operation"]: s.value
        for s in after["supportd_request_duration_seconds"]
        if s.name.endswith("_count") and s.labels["api"] == "aws"
    }
    assert latency["CreateCase"] >= 3
    # Backlogs and the store's connections.
    assert after["supportd_store_up"][0].value == 1
    assert {s.labels["state"] for s in after["supportd_jobs"]} == {"queued", "running", "failed"}
    assert "supportd_jobs_due" in after
    if store_kind == "sqlite":
        assert after["supportd_sqlite_writer_queue"][0].value >= 0
    else:
        pool = {s.labels["state"]: s.value for s in after["supportd_database_pool_connections"]}
        assert pool["max"] == 10
        assert 1 <= pool["open"] <= 10
        assert 0 <= pool["in_use"] <= pool["open"]
    # The notification outbox's backlog (nothing configured to deliver to: it drains).
    assert after["supportd_outbox_events_pending"][0].value >= 0
    assert after["supportd_outbox_deliveries_pending"][0].value >= 0
    client.close()


def test_metrics_carry_no_account_data(monitored: ServerProcess) -> None:
    account = "424242424242"
    client = boto3_client(monitored.url, account)
    case_id = client.create_case(subject="secret subject", communicationBody="x")["caseId"]
    # An unknown operation named by the client must not become a label either.
    httpx.post(
        monitored.url,
        headers={"x-amz-target": "AWSSupport_20130415.Exfiltrate424242424242"},
        content=b"{}",
        timeout=30,
    )
    text = httpx.get(monitored.url + "/metrics", timeout=30).text
    for secret in (account, case_id, "secret subject", "Exfiltrate"):
        assert secret not in text
    assert 'operation="unknown"' in text
    client.close()


def test_the_outbox_backlog_is_counted_once_its_tables_exist(
    monitored: ServerProcess, store_kind: str
) -> None:
    """The notification area's tables may be missing (an older schema): the collector
    reports their backlog only when they are there. The real tables are moved aside for
    the test and put back after it."""
    aside = [
        "ALTER TABLE outbox_deliveries RENAME TO saved_outbox_deliveries",
        "ALTER TABLE outbox_events RENAME TO saved_outbox_events",
    ]
    back = [
        "ALTER TABLE saved_outbox_events RENAME TO outbox_events",
        "ALTER TABLE saved_outbox_deliveries RENAME TO outbox_deliveries",
    ]
    create = [
        "CREATE TABLE outbox_events (seq BIGINT PRIMARY KEY, fanned_out_ms BIGINT)",
        "CREATE TABLE outbox_deliveries (seq BIGINT PRIMARY KEY, status TEXT NOT NULL)",
        "INSERT INTO outbox_events VALUES (1, NULL), (2, NULL), (3, 5)",
        "INSERT INTO outbox_deliveries VALUES (1, 'pending'), (2, 'delivered')",
    ]
    drop = ["DROP TABLE outbox_events", "DROP TABLE outbox_deliveries"]
    run_sql(monitored, aside)
    try:
        run_sql(monitored, create)
        try:
            metrics = scrape(monitored)
            assert metrics["supportd_outbox_events_pending"][0].value == 2
            assert metrics["supportd_outbox_deliveries_pending"][0].value == 1
        finally:
            run_sql(monitored, drop)
        assert "supportd_outbox_events_pending" not in scrape(monitored)
    finally:
        run_sql(monitored, back)
    assert "supportd_outbox_events_pending" in scrape(monitored)


def run_sql(server: ServerProcess, statements: list[str]) -> None:
    if server.database_url:
        asyncio.run(_execute(server.database_url, *statements))
        return
    conn = sqlite3.connect(server.data_dir / "supportd.db", isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def test_readyz_follows_the_schema_while_healthz_stays_up(monitored: ServerProcess) -> None:
    ready = httpx.get(monitored.url + "/readyz", timeout=30)
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    run_sql(monitored, ["DELETE FROM schema_migrations WHERE version = 6"])
    try:
        missing = httpx.get(monitored.url + "/readyz", timeout=30)
        assert missing.status_code == 503
        assert missing.json() == {
            "status": "unavailable",
            "reason": "schema migrations missing: 6",
        }
        assert httpx.get(monitored.url + "/healthz", timeout=30).status_code == 200
    finally:
        run_sql(
            monitored, ["INSERT INTO schema_migrations (version, name) VALUES (6, '0006_jobs.sql')"]
        )
    assert httpx.get(monitored.url + "/readyz", timeout=30).status_code == 200


def test_json_logs_name_the_request_and_the_slow_operation(monitored: ServerProcess) -> None:
    client = boto3_client(monitored.url, ACCOUNT)
    data = b"x" * 4_000_000
    answer = client.add_attachments_to_set(attachments=[{"fileName": "big.bin", "data": data}])
    request_id = answer["ResponseMetadata"]["RequestId"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        mine = [line for line in log_lines(monitored) if line.get("request_id") == request_id]
        if len(mine) >= 2:
            break
        time.sleep(0.05)
    access = [line for line in mine if line["logger"] == "uvicorn.access"]
    slow = [line for line in mine if line["logger"] == "supportd.observe"]
    assert len(access) == 1 and "POST / HTTP/1.1" in access[0]["message"]
    assert len(slow) == 1
    assert slow[0]["level"] == "warning"
    assert slow[0]["operation"] == "AddAttachmentsToSet"
    assert slow[0]["duration_ms"] >= 1
    assert slow[0]["time"].endswith("Z")
    # Every line is JSON, and lines outside a request say so.
    assert all(line.get("request_id") for line in log_lines(monitored))
    assert any(line["request_id"] == "-" for line in log_lines(monitored))
    client.close()


def test_metrics_can_be_turned_off(tmp_path: Any) -> None:
    process = ServerProcess(data_dir=tmp_path / "data", extra_args=["--no-metrics"]).start()
    try:
        response = httpx.get(process.url + "/metrics", timeout=30)
        assert response.status_code == 404
        assert response.json()["__type"] == "UnknownOperationException"
        assert httpx.get(process.url + "/readyz", timeout=30).status_code == 200
    finally:
        process.stop()


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def _is_worker(pid: int) -> bool:
    """A uvicorn worker (spawned), not multiprocessing's resource tracker."""
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    return b"spawn_main" in cmdline and b"resource_tracker" not in cmdline


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_several_workers_are_counted_together(tmp_path: Any) -> None:
    """--workers 2: whichever process answers the scrape reports every process's
    requests (prometheus-client's multiprocess mode, in a private directory the server
    makes and removes)."""
    process = ServerProcess(data_dir=tmp_path / "data", extra_args=["--workers", "2"]).start()
    directory = ""
    try:
        assert process.process is not None
        workers: list[int] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            workers = [p for p in _children(process.process.pid) if _is_worker(p)]
            if len(workers) == 2:
                break
            time.sleep(0.1)
        assert len(workers) == 2
        directory = _environ(workers[0])["PROMETHEUS_MULTIPROC_DIR"]
        assert (Path(directory).stat().st_mode & 0o777) == 0o700

        def answered_by() -> set[int]:
            return {int(f.stem.rsplit("_", 1)[1]) for f in Path(directory).glob("counter_*.db")}

        sent = 0
        # A connection each: the kernel hands them to either worker; go on until both
        # have answered some.
        while (answered_by() != set(workers) or sent < 20) and sent < 1000:
            httpx.get(process.url + "/staff/api/me", timeout=30)
            sent += 1
        assert answered_by() == set(workers)
        totals = {
            requests_counted(scrape(process), api="staff", operation="GET /me") for _ in range(6)
        }
        assert totals == {sent}
    finally:
        process.stop()
    assert not Path(directory).exists()
