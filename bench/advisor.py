"""Trusted Advisor latency: DescribeTrustedAdvisorCheckSummaries for all 130 checks.

A real `supportd serve` (one process) per store; requests are the bytes boto3 sends,
one at a time on a keep-alive connection, so each figure is one client's latency.
Two data shapes per store: an account without results (every check not_available) and
an account with a seeded result for every check (three flagged resources each).
DescribeTrustedAdvisorChecks (the catalogue) is measured alongside for scale.

    .venv/bin/python bench/advisor.py                       # SQLite, and PostgreSQL if reachable
    .venv/bin/python bench/advisor.py --rounds 5 --requests 300
    .venv/bin/python bench/advisor.py --database postgresql://postgres@127.0.0.1:5432/test

Prints medians (of the per-round medians) and p95, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from common import (
    VENV_BIN,
    Connection,
    Server,
    boto3_request,
    call,
    clean_env,
    free_port,
    healthz,
    loadavg,
    log,
    median,
)

from supportd.domain import advisor as results
from supportd.domain import clock
from supportd.reference import advisor as catalogue
from supportd.storage.base import Store

EMPTY_ACCOUNT = "310000000001"
SEEDED_ACCOUNT = "310000000002"
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/test"


def server(name: str, data_dir: Path, database: str, logs: Path) -> Server:
    port = free_port()
    args = [str(VENV_BIN / "supportd"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--database", database] if database else ["--data-dir", str(data_dir)]
    return Server(name, args, port, logs / f"{name}-{port}.log", env=clean_env())


def open_store(data_dir: Path, database: str) -> Store:
    if database:
        from supportd.storage.postgres import PostgresStore

        return PostgresStore(database, pool_size=2)
    from supportd.storage.sqlite import SQLiteStore

    return SQLiteStore(data_dir / "supportd.db")


async def seed(store: Store, account: str) -> int:
    """A result for every check: three flagged resources, savings on cost checks."""
    await store.open()
    try:
        checks = catalogue.load()
        for check in checks.checks:
            width = len(check.metadata)
            data: dict[str, Any] = {
                "flaggedResources": [
                    {
                        "status": ("warning", "error", "ok")[n],
                        "region": "us-east-1",
                        "resourceId": f"{check.id}-resource-{n}",
                        "metadata": [f"value {c}" for c in range(width)],
                    }
                    for n in range(3)
                ]
            }
            if check.cost_optimizing:
                data["categorySpecificSummary"] = {
                    "costOptimizing": {
                        "estimatedMonthlySavings": 12.5,
                        "estimatedPercentMonthlySavings": 3.0,
                    }
                }
            await store.put_advisor_result(
                results.parse_result(
                    data,
                    account_id=account,
                    check_id=check.id,
                    columns=width,
                    cost_optimizing=check.cost_optimizing,
                    now_ms=clock.now_ms(),
                    source=results.SEEDED,
                )
            )
        return len(checks)
    finally:
        await store.close()


def latencies(
    port: int, operation: str, params: dict[str, Any], account: str, n: int
) -> list[float]:
    headers, body = boto3_request(operation, params, account)
    conn = Connection(port)
    try:
        for _ in range(20):  # warm-up: connection, caches
            conn.post(headers, body)
        found = []
        for _ in range(n):
            start = time.perf_counter()
            status, raw = conn.post(headers, body)
            found.append((time.perf_counter() - start) * 1000)
            if status != 200:
                raise RuntimeError(f"{operation}: HTTP {status} {raw[:200]!r}")
        return found
    finally:
        conn.close()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


def measure(port: int, check_ids: list[str], rounds: int, n: int) -> dict[str, dict[str, float]]:
    cases = {
        "summaries, no results (130 x not_available)": (
            "DescribeTrustedAdvisorCheckSummaries",
            {"checkIds": check_ids},
            EMPTY_ACCOUNT,
        ),
        "summaries, 130 seeded results": (
            "DescribeTrustedAdvisorCheckSummaries",
            {"checkIds": check_ids},
            SEEDED_ACCOUNT,
        ),
        "checks catalogue (language en)": (
            "DescribeTrustedAdvisorChecks",
            {"language": "en"},
            EMPTY_ACCOUNT,
        ),
    }
    per_round: dict[str, list[list[float]]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (operation, params, account) in cases.items():  # interleaved rounds
            per_round[name].append(latencies(port, operation, params, account, n))
    return {
        name: {
            "median_ms": round(median(median(r) for r in runs), 3),
            "p95_ms": round(median(p95(r) for r in runs), 3),
            "requests": sum(len(r) for r in runs),
        }
        for name, runs in per_round.items()
    }


def run_store(label: str, database: str, work: Path, rounds: int, n: int) -> dict[str, Any]:
    data_dir = work / f"data-{label}"
    if not database:
        subprocess.run(
            [str(VENV_BIN / "supportd"), "migrate", "--data-dir", str(data_dir)],
            check=True,
            capture_output=True,
            env=clean_env(),
        )
    seeded = asyncio.run(seed(open_store(data_dir, database), SEEDED_ACCOUNT))
    srv = server(f"supportd-{label}", data_dir, database, work)
    srv.start()
    srv.wait_ready(healthz)
    try:
        ids = [
            c["id"]
            for c in call(srv.port, "DescribeTrustedAdvisorChecks", {"language": "en"})["checks"]
        ]
        assert len(ids) == seeded == 130, (len(ids), seeded)
        log(f"{label}: {rounds} rounds x {n} sequential requests per figure")
        return measure(srv.port, ids, rounds, n)
    finally:
        srv.stop()


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=3)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def throwaway_database(admin_url: str) -> str | None:
    """A new, migrated database on the server at admin_url (None if unreachable)."""
    name = f"supportd_bench_{secrets.token_hex(4)}"
    try:
        asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        log(f"PostgreSQL skipped: {type(exc).__name__}: {exc}")
        return None
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    subprocess.run(
        [str(VENV_BIN / "supportd"), "migrate", "--database", url],
        check=True,
        capture_output=True,
        env=clean_env(),
    )
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200, help="per round and figure")
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="admin URL ('' to skip)")
    args = parser.parse_args()
    report: dict[str, Any] = {"loadavg_start": loadavg()}
    with tempfile.TemporaryDirectory(prefix="supportd-bench-advisor-") as tmp:
        work = Path(tmp)
        report["sqlite"] = run_store("sqlite", "", work, args.rounds, args.requests)
        database = throwaway_database(args.database) if args.database else None
        if database:
            try:
                report["postgresql"] = run_store(
                    "postgresql", database, work, args.rounds, args.requests
                )
            finally:
                asyncio.run(
                    _admin(
                        args.database,
                        f'DROP DATABASE IF EXISTS "{database.rsplit("/", 1)[1]}" WITH (FORCE)',
                    )
                )
    report["loadavg_end"] = loadavg()
    print(json.dumps(report, indent=2))
    for store in ("sqlite", "postgresql"):
        for name, figure in report.get(store, {}).items():
            print(
                f"{store:<11} {name:<46} median {figure['median_ms']:7.2f} ms"
                f"   p95 {figure['p95_ms']:7.2f} ms"
            )


if __name__ == "__main__":
    main()
