"""The support side at scale: staff case-list and search latency, measured on SQLite and
PostgreSQL, printed as JSON.

    python bench/staff.py [--cases 1000000] [--stores sqlite,postgresql] [--requests 50]

For each store, a fresh database is bulk-loaded with SQL (not through the API) with
--cases cases spread over 1,000 accounts, each with its first communication (so as
many communications as cases), its creation event and its support-side row: statuses,
severities, assignees and SLA clocks of every kind (running, a third of them past due;
paused; none). Communication bodies are 40 words drawn from a Zipf-distributed
vocabulary of real words (each body drawn on its own), so search terms range from rare
to everywhere; one word ("zebrafish") is planted in one body in 10,007. The search
indexes are built after the load (SQLite: FTS5 'rebuild', as supportd's indexer would
fill them behind the writes; PostgreSQL: the GIN indexes, then ANALYZE as autovacuum
would run it).

Then a real `supportd serve` answers the staff API over HTTP/1.1 keep-alive, one
request at a time, and every query is timed --requests times (after 3 warm-up
requests): p50, p95 and p99 in milliseconds.

PostgreSQL databases are created on SUPPORTD_TEST_DATABASE_URL's server (default
postgresql://postgres@127.0.0.1:5432/test) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import secrets
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

BENCH = Path(__file__).resolve().parent
SUPPORTD = str(Path(sys.executable).with_name("supportd"))
ADMIN_URL = os.environ.get(
    "SUPPORTD_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
ACCOUNTS = 1000
AGENTS = 100
HOUR = 3_600_000
DAY = 24 * HOUR
RARE = "zebrafish"
RARE_EVERY = 10_007
BATCH = 20_000
BENCH_SERVER_KEY = "c3VwcG9ydGQtYmVuY2gtc2VydmVyLWtleS0zMmJ5dGU="

WORDS = """
instance server database connection timeout error restart reboot network latency
memory disk volume snapshot backup restore cluster node replica primary failover
region zone subnet gateway route table firewall security group policy role user
permission access denied throttling limit quota request response status code log
metric alarm dashboard deploy pipeline build release version upgrade downgrade patch
kernel driver agent daemon service process thread queue message topic stream shard
partition index query slow lock deadlock transaction commit rollback schema migration
bucket object upload download transfer bandwidth packet loss dns resolve certificate
expired renewal domain endpoint load balancer target health check unhealthy healthy
scaling autoscaling capacity reserved spot price billing invoice charge refund credit
account organization console login password reset mfa token key secret rotation
encryption decrypt storage throughput iops burst balance credits cpu utilization
high low spike drop intermittent constant production staging development test
customer impact outage degraded unavailable recovered monitoring investigate escalate
container image registry task definition function lambda invocation cold start
concurrency retry backoff exception stack trace crash panic segmentation fault core
dump heap garbage collection pause java python node runtime library dependency
configuration parameter setting environment variable file permission directory mount
filesystem inode quota exceeded full space cleanup rotation archive retention
compliance audit trail event notification email sms webhook integration api sdk cli
terraform template stack drift update rollback failed succeeded pending creating
deleting modifying available attached detached associated elastic address public
private vpc peering transit endpoint interface attachment propagation announcement
""".split()  # noqa: SIM905 (a block of words reads better)


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# --- the data ---------------------------------------------------------------------------

STATUSES = (
    ["resolved"] * 2
    + ["pending-customer-action"] * 4
    + ["work-in-progress"] * 4
    + ["customer-action-completed"] * 3
    + ["unassigned"] * 7
)
SEVERITIES = ("low", "normal", "high", "urgent", "critical")


class Data:
    """Deterministic rows for case i (0-based), the same for both stores."""

    def __init__(self, count: int, now_ms: int) -> None:
        self.count = count
        self.now_ms = now_ms
        rng = random.Random(42)
        cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(WORDS))))
        # Every body drawn on its own: real text has few exact duplicates, and many equal
        # scores would make ranking harder than it is.
        self.bodies = [
            " ".join(rng.choices(WORDS, cum_weights=cumulative, k=40)) for _ in range(count)
        ]

    def account(self, i: int) -> str:
        return str(200_000_000_000 + i % ACCOUNTS)

    def case(self, i: int) -> tuple[Any, ...]:
        status = STATUSES[i % len(STATUSES)]
        created = self.now_ms - (self.count - i) * 30_000
        return (
            i + 1,
            f"case-{self.account(i)}-supd-2026-{i:016x}",
            self.account(i),
            f"Case {i}: {WORDS[i % len(WORDS)]} {WORDS[(i * 7) % len(WORDS)]} problem",
            "amazon-elastic-compute-cloud-linux",
            "instance-issue",
            SEVERITIES[i % 5],
            status,
            status != "resolved",
            "en",
            "technical",
            f"account-{self.account(i)}@example.com",
            created,
            created + DAY if status == "resolved" else None,
        )

    def body(self, i: int) -> str:
        text = f"{self.bodies[i]} case {i}"
        return f"{text} {RARE}" if i % RARE_EVERY == 0 else text

    def work(self, i: int) -> tuple[Any, ...]:
        status = STATUSES[i % len(STATUSES)]
        assignee = (
            f"agent{i % AGENTS}"
            if status
            in ("work-in-progress", "customer-action-completed", "pending-customer-action")
            else None
        )
        if status == "resolved":
            return (i + 1, None, None, None, None, None)
        if status == "pending-customer-action":
            return (i + 1, assignee, "next-response", None, (i * 7919) % DAY, self.now_ms - DAY)
        if status == "work-in-progress" and (i // len(STATUSES)) % 7 == 0:
            # Some open cases owe the customer nothing (no clock): the queue's "None
            # due" filter has open cases to find.
            return (i + 1, assignee, None, None, None, None)
        # Due from a day ago to two days ahead: a third of them breaching.
        due = self.now_ms - DAY + (i * 7919) % (3 * DAY)
        target = "first-response" if status == "unassigned" else "next-response"
        return (i + 1, assignee, target, due, None, None)


# --- SQLite -----------------------------------------------------------------------------


def seed_sqlite(data_dir: Path, data: Data) -> dict[str, Any]:
    from supportd.storage.sqlite import migrate

    started = time.perf_counter()
    path = data_dir / "supportd.db"
    migrate(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -400000")
        conn.execute("BEGIN")
        for low in range(0, data.count, BATCH):
            high = min(data.count, low + BATCH)
            conn.executemany(
                "INSERT INTO cases (seq, case_id, account_id, subject, service_code,"
                " category_code, severity_code, status, is_open, language, issue_type,"
                " submitted_by, cc_emails, created_ms, resolved_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, ?)",
                (data.case(i) for i in range(low, high)),
            )
            conn.executemany(
                "INSERT INTO communications (seq, case_seq, body, submitted_by, author_kind,"
                " cc_emails, created_ms) VALUES (?, ?, ?, 'bench', 'customer', '[]', ?)",
                ((i + 1, i + 1, data.body(i), data.case(i)[12]) for i in range(low, high)),
            )
            conn.executemany(
                "INSERT INTO case_events (case_seq, at_ms, actor, from_status, to_status)"
                " VALUES (?, ?, 'bench', NULL, 'unassigned')",
                ((i + 1, data.case(i)[12]) for i in range(low, high)),
            )
            conn.executemany(
                "INSERT INTO case_work (seq, assignee, sla_target, sla_due_ms,"
                " sla_remaining_ms, pending_since_ms) VALUES (?, ?, ?, ?, ?, ?)",
                (data.work(i) for i in range(low, high)),
            )
            if high % 200_000 == 0 or high == data.count:
                log(f"  sqlite: {high} cases")
        conn.execute("COMMIT")
        log("  sqlite: building the search index")
        conn.execute("BEGIN")
        for table in ("cases", "communications"):
            # What supportd's indexer does behind the writes, in one go.
            conn.execute(f"INSERT INTO {table}_fts ({table}_fts) VALUES ('rebuild')")
            conn.execute(
                f"UPDATE search_progress SET upto = (SELECT MAX(seq) FROM {table}) WHERE name = ?",
                (table,),
            )
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()
    return {
        "seed_seconds": round(time.perf_counter() - started, 1),
        "db_mb": round(path.stat().st_size / 1e6),
    }


# --- PostgreSQL --------------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    name = f"supportd_bench_staff_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = with_database(ADMIN_URL, name)
    try:
        subprocess.run([SUPPORTD, "migrate", "--database", url], check=True, capture_output=True)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def seed_postgres(url: str, data: Data) -> dict[str, Any]:
    started = time.perf_counter()
    conn = await asyncpg.connect(url, server_settings={"statement_timeout": "0"})
    try:
        # Load without the search and SLA indexes, then build them (as a restore does).
        await conn.execute(
            "DROP INDEX communications_search; DROP INDEX cases_search; DROP INDEX case_work_by_due"
        )
        for low in range(0, data.count, BATCH):
            high = min(data.count, low + BATCH)
            cases = [data.case(i) for i in range(low, high)]
            await conn.copy_records_to_table(
                "cases",
                records=[(*c[:12], [], *c[12:]) for c in cases],
                columns=[
                    "seq", "case_id", "account_id", "subject", "service_code", "category_code",
                    "severity_code", "status", "is_open", "language", "issue_type",
                    "submitted_by", "cc_emails", "created_ms", "resolved_ms",
                ],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "communications",
                records=[
                    (i + 1, i + 1, data.body(i), "bench", "customer", [], c[12])
                    for i, c in zip(range(low, high), cases, strict=True)
                ],
                columns=[
                    "seq", "case_seq", "body", "submitted_by", "author_kind", "cc_emails",
                    "created_ms",
                ],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "case_events",
                records=[(i + 1, c[12], "bench", None, "unassigned") for i, c in
                         zip(range(low, high), cases, strict=True)],
                columns=["case_seq", "at_ms", "actor", "from_status", "to_status"],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "case_work",
                records=[data.work(i) for i in range(low, high)],
                columns=[
                    "seq", "assignee", "sla_target", "sla_due_ms", "sla_remaining_ms",
                    "pending_since_ms",
                ],
            )  # fmt: skip
            if high % 200_000 == 0 or high == data.count:
                log(f"  postgresql: {high} cases")
        log("  postgresql: building indexes")
        await conn.execute(
            "CREATE INDEX communications_search ON communications USING gin (body_tsv);"
            " CREATE INDEX cases_search ON cases USING gin (subject_tsv);"
            " CREATE INDEX case_work_by_due"
            " ON case_work ((COALESCE(sla_due_ms, 9223372036854775807)), seq)"
        )
        for table in ("cases", "communications", "case_events"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'seq'),"
                f" (SELECT MAX(seq) FROM {table}))"
            )
        await conn.execute("VACUUM ANALYZE")
        size = await conn.fetchval("SELECT pg_database_size(current_database())")
    finally:
        await conn.close()
    return {"seed_seconds": round(time.perf_counter() - started, 1), "db_mb": round(size / 1e6)}


# --- measuring ----------------------------------------------------------------------------


def serve(store_args: list[str], work: Path) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")}
    # PostgreSQL nodes need the (shared) server key; any 32 bytes do for a benchmark.
    env["SUPPORTD_SERVER_KEY"] = BENCH_SERVER_KEY
    log_file = open(work / f"server-{port}.log", "ab")  # noqa: SIM115 (lives with the server)
    process = subprocess.Popen(
        [SUPPORTD, "serve", "--port", str(port), "--no-background-worker", *store_args],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def token(store_args: list[str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")}
    subprocess.run(
        [SUPPORTD, "staff", "create", "bench", "--email", "bench@example.com", *store_args],
        check=True,
        capture_output=True,
        env=env,
    )
    out = subprocess.run(
        [SUPPORTD, "staff", "token", "bench", *store_args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return out.split()[-1]


def timed(client: httpx.Client, path: str, params: dict[str, Any], requests: int) -> dict[str, Any]:
    samples = []
    body: Any = None
    for n in range(requests + 3):
        started = time.perf_counter()
        response = client.get(path, params=params)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{path} {params}: {response.status_code} {response.text[:300]}")
        body = response.json()
        if n >= 3:
            samples.append(elapsed)
    samples.sort()

    def pct(q: float) -> float:
        return round(samples[min(len(samples) - 1, int(q * len(samples)))], 1)

    result: dict[str, Any] = {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
    }
    items = body.get("cases", body.get("results", []))
    result["returned"] = len(items)
    return result


def deep_page(client: httpx.Client, params: dict[str, Any], pages: int) -> dict[str, Any]:
    """The nextToken of page `pages` (walking there), to time a deep page."""
    token_ = None
    for _ in range(pages - 1):
        query = dict(params)
        if token_:
            query["nextToken"] = token_
        token_ = client.get("/staff/api/cases", params=query).json().get("nextToken")
        if token_ is None:  # fewer pages than that (a small --cases)
            break
    return {**params, "nextToken": token_} if token_ else dict(params)


def measure(url: str, staff_token: str, requests: int) -> dict[str, Any]:
    client = httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {staff_token}"}, timeout=300
    )
    lists = {
        "open, by SLA due time": {"limit": 50},
        "severity=high, by SLA due time": {"severity": "high", "limit": 50},
        "status=pending-customer-action, by SLA": {
            "status": "pending-customer-action",
            "limit": 50,
        },
        "sla=breaching": {"sla": "breaching", "limit": 50},
        "assignee=agent7 (1% of cases)": {"assignee": "agent7", "limit": 50},
        "account (0.1% of cases), by SLA": {"account": "200000000007", "limit": 50},
        "severity=urgent, newest first": {"severity": "urgent", "sort": "created", "limit": 50},
        "all statuses, by SLA": {"status": "all", "limit": 50},
    }
    results: dict[str, Any] = {"list": {}, "search": {}}
    for name, params in lists.items():
        results["list"][name] = timed(client, "/staff/api/cases", params, requests)
        log(f"  list {name}: {results['list'][name]}")
    deep = deep_page(client, {"severity": "high", "limit": 50}, 20)
    results["list"]["severity=high, page 20"] = timed(client, "/staff/api/cases", deep, requests)
    log(f"  list page 20: {results['list']['severity=high, page 20']}")
    common_word, mid_word = WORDS[2], WORDS[150]
    searches = {
        f"rare: {RARE}": RARE,
        f"mid-frequency: {mid_word}": mid_word,
        f"two words: {mid_word} {WORDS[40]}": f"{mid_word} {WORDS[40]}",
        f'phrase: "{WORDS[0]} {WORDS[1]}"': f'"{WORDS[0]} {WORDS[1]}"',
        f"common (in most bodies): {common_word}": common_word,
    }
    for name, q in searches.items():
        count = requests if "common" not in name else max(5, requests // 5)
        results["search"][name] = timed(client, "/staff/api/search", {"q": q, "limit": 20}, count)
        log(f"  search {name}: {results['search'][name]}")
    client.close()
    return results


def hit_counts(data: Data) -> dict[str, int]:
    """How many bodies hold each measured word (from the generator, not the index)."""
    words = {RARE: 0, WORDS[2]: 0, WORDS[150]: 0}
    for i in range(data.count):
        body = data.body(i).split()
        for word in words:
            if word in body:
                words[word] += 1
    return words


def run_store(kind: str, data: Data, work: Path, requests: int) -> dict[str, Any]:
    log(f"{kind}: seeding {data.count} cases")
    if kind == "sqlite":
        data_dir = work / "sqlite"
        seeded = seed_sqlite(data_dir, data)
        store_args = ["--data-dir", str(data_dir)]
        return _measure_store(seeded, store_args, work, requests)
    with pg_database() as url:
        seeded = asyncio.run(seed_postgres(url, data))
        return _measure_store(seeded, ["--database", url], work, requests)


def _measure_store(
    seeded: dict[str, Any], store_args: list[str], work: Path, requests: int
) -> dict[str, Any]:
    log(f"  seeded: {seeded}")
    staff_token = token(store_args)
    process, url = serve(store_args, work)
    try:
        return {"seed": seeded, **measure(url, staff_token, requests)}
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args()
    work = args.work_dir or Path(f"/tmp/supportd-bench-staff-{secrets.token_hex(3)}")
    work.mkdir(parents=True, exist_ok=True)
    data = Data(args.cases, int(time.time() * 1000))
    report: dict[str, Any] = {
        "cases": args.cases,
        "communications": args.cases,
        "accounts": ACCOUNTS,
        "cpus": os.cpu_count(),
        "loadavg_start": list(os.getloadavg()),
        "bodies_with_word": hit_counts(data),
        "stores": {},
    }
    for kind in args.stores.split(","):
        report["stores"][kind] = run_store(kind, data, work, args.requests)
    report["loadavg_end"] = list(os.getloadavg())
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    out = results / f"staff-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    log(f"written to {out}")


if __name__ == "__main__":
    main()
