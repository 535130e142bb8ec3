"""PostgreSQL and several nodes, measured: prints the figures as JSON.

    python bench/multinode.py [--rounds 5] [--duration 5] [--connections 32]
    python bench/multinode.py --only throughput --rounds 3 --duration 3

1. CreateCase throughput: PostgreSQL with 1 node (its own database) against 2 nodes
   (another database, wrk's connections split across both), in interleaved rounds
   (optionally a SQLite node too); medians. Each round also reads the CPU time every
   party used, per acknowledged CreateCase: the supportd processes, the PostgreSQL
   backends of that database, the cluster's own processes (WAL writer, checkpointer,
   autovacuum), the load generator and the whole machine (/proc/stat). On a small
   machine they all share the same cores, so the 2-node figure is bounded by total CPU
   per request: the decomposition says where it goes.
2. The 10,000-call run on 2 nodes: half CreateCase, half AddCommunicationToCase (each
   reply sent to the *other* node than the one that created the case), then checked:
   no lost or duplicated case, no duplicate displayId, every case has its reply, and a
   DescribeCases walk with pages fetched alternately from both nodes sees every case
   exactly once.
3. DescribeCases latency (sequential requests, one client) on a PostgreSQL database
   holding --cases cases (bulk-loaded with SQL in the rows CreateCase writes).

Every server is a real `supportd serve`; every database is created for the run (on
SUPPORTD_TEST_DATABASE_URL's server, default postgresql://postgres@127.0.0.1:5432/test)
and dropped afterwards. Throughput load is wrk (bench/loadgen.py) with boto3's own
CreateCase request; parts 2 and 3 send raw HTTP/1.1 on keep-alive connections with the
headers boto3 sends (open mode reads the account from the access key).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import common
import loadgen

ADMIN_URL = os.environ.get(
    "SUPPORTD_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SUPPORTD = str(Path(sys.executable).with_name("supportd"))
TARGET = "AWSSupport_20130415"
ACCOUNTS = [f"5100000000{i:02d}" for i in range(10)]
BIG_ACCOUNT = "520000000000"
# Nodes of one database share the server key (it seals access keys' secrets); made per run.
SERVER_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
CREATE = {
    "subject": "EC2 instance unreachable after scheduled reboot",
    "serviceCode": "amazon-elastic-compute-cloud-linux",
    "categoryCode": "instance-issue",
    "severityCode": "low",
    "communicationBody": "Our instance stopped answering health checks after the reboot. " * 4,
    "ccEmailAddresses": ["oncall@example.com"],
    "language": "en",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- processes and databases -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Node:
    def __init__(self, workdir: Path, name: str, database_url: str = "") -> None:
        self.port = free_port()
        self.log_path = workdir / f"{name}.log"
        args = [SUPPORTD, "serve", "--port", str(self.port), "--data-dir", str(workdir / name)]
        if database_url:
            args += ["--database", database_url]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")}
        env["SUPPORTD_SERVER_KEY"] = SERVER_KEY
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited:\n{self.log_path.read_text()}")
            healthz = f"http://127.0.0.1:{self.port}/healthz"
            with contextlib.suppress(OSError), urllib.request.urlopen(healthz, timeout=1):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{name} did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


@contextlib.contextmanager
def nodes(workdir: Path, count: int, database_url: str = "") -> Iterator[list[Node]]:
    started: list[Node] = []
    try:
        for i in range(count):
            started.append(Node(workdir, f"node{i}-{secrets.token_hex(3)}", database_url))
        yield started
    finally:
        for node in started:
            node.stop()


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def database() -> Iterator[str]:
    """A new database migrated with `supportd migrate`, dropped afterwards."""
    name = f"supportd_bench_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = with_database(ADMIN_URL, name)
    try:
        subprocess.run([SUPPORTD, "migrate", "--database", url], check=True, capture_output=True)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- a small HTTP/1.1 client ----------------------------------------------------------


class Client:
    """One keep-alive connection sending AWS JSON 1.1 requests."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def call(self, operation: str, params: dict[str, Any], account: str) -> Any:
        status, raw = await self.send(operation, params, account)
        answer = json.loads(raw) if raw else {}
        if status != 200:
            raise RuntimeError(f"{operation}: HTTP {status} {answer}")
        return answer

    async def send(self, operation: str, params: dict[str, Any], account: str) -> tuple[int, bytes]:
        """The status and body bytes of one call (a caller timing the server alone
        leaves the body unparsed)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        body = json.dumps(params).encode()
        head = (
            f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            "Content-Type: application/x-amz-json-1.1\r\n"
            f"X-Amz-Target: {TARGET}.{operation}\r\n"
            "Authorization: AWS4-HMAC-SHA256 "
            f"Credential={account}/20260101/us-east-1/support/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length) if length else b""

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


# --- 1. CreateCase throughput, 1 node against 2, interleaved ---------------------------

PG_AUX = ("walwriter", "checkpointer", "background writer", "autovacuum", "logical replication")


def _ticks(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def postgres_cpu(databases: dict[str, str]) -> dict[str, float]:
    """CPU seconds used so far by the PostgreSQL backends serving each database (by
    name), and by the cluster's own processes ("aux": WAL writer, checkpointer,
    autovacuum; shared with anything else using the server). Read from /proc: the
    server runs on this machine."""
    totals = dict.fromkeys([*databases, "aux"], 0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if not cmdline.startswith("postgres: "):
                continue
            if any(name in cmdline for name in PG_AUX):
                totals["aux"] += _ticks(int(entry.name))
                continue
            for label, db in databases.items():
                if f" {db} " in cmdline:
                    totals[label] += _ticks(int(entry.name))
    hz = os.sysconf("SC_CLK_TCK")
    return {label: ticks / hz for label, ticks in totals.items()}


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / hz, sum(fields) / hz


def start_pg_node(
    name: str, url: str, workdir: Path, *options: str, source: Path | None = None
) -> common.Server:
    """`supportd serve` on the database; with `source`, the code under that src/
    directory (an export of another commit)."""
    server = common.supportd(name, workdir / name, 1, workdir, source=source)
    server.args += ["--database", url, *options]
    server.env = {**server.env, "SUPPORTD_SERVER_KEY": SERVER_KEY}
    server.start().wait_ready(common.healthz)
    return server


def drive(ports: list[int], connections: int, duration: int) -> dict[str, Any]:
    """wrk on each port at once, the connections split between them; summed."""
    headers, body = common.boto3_request("CreateCase", common.CREATE_CASE)
    shares = [connections // len(ports) + (i < connections % len(ports)) for i in range(len(ports))]
    with ThreadPoolExecutor(len(ports)) as pool:
        runs = list(
            pool.map(
                lambda port_share: loadgen.run(
                    port_share[0], headers, body, duration=duration, connections=port_share[1]
                ),
                zip(ports, shares, strict=True),
            )
        )
    seconds = max(r["duration_s"] for r in runs)
    ok = sum(r["ok"] for r in runs)
    return {
        "ok": ok,
        "errors": sum(r["status_errors"] + r["socket_errors"] + r["timeouts"] for r in runs),
        "seconds": seconds,
        "per_second": ok / seconds,
        "p50_ms": max(r["p50_ms"] for r in runs),
        "generator": runs[0]["generator"],
    }


def measured_round(
    servers: list[common.Server], label: str, db: str, connections: int, duration: int
) -> dict[str, Any]:
    """One round of load on `servers`, with the CPU every party used meanwhile, per
    acknowledged CreateCase: the supportd processes, the PostgreSQL backends of their
    database, the cluster's own processes, the load generator (wrk), the machine."""
    databases = {label: db}
    node_before = [s.cpu_seconds() for s in servers]
    pg_before = postgres_cpu(databases)
    gen_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_before, total_before = machine_cpu()
    load = drive([s.port for s in servers], connections, duration)
    busy_after, total_after = machine_cpu()
    gen_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    pg_after = postgres_cpu(databases)
    node_after = [s.cpu_seconds() for s in servers]
    ok = max(load["ok"], 1)

    def us(seconds: float) -> float:
        return round(seconds / ok * 1e6, 1)

    generator = (gen_after.ru_utime + gen_after.ru_stime) - (
        gen_before.ru_utime + gen_before.ru_stime
    )
    return {
        **load,
        "cpu_us_per_case": {
            "supportd": us(sum(node_after) - sum(node_before)),
            "postgres_backends": us(pg_after[label] - pg_before[label]),
            "postgres_aux": us(pg_after["aux"] - pg_before["aux"]),
            "load_generator": us(generator),
            "machine_busy": us(busy_after - busy_before),
        },
        "machine_busy_share": round((busy_after - busy_before) / (total_after - total_before), 3),
    }


def throughput(
    workdir: Path,
    rounds: int,
    duration: int,
    connections: int,
    *,
    with_sqlite: bool = False,
    options: Sequence[str] = (),
    baseline: Path | None = None,
) -> dict[str, Any]:
    """Rounds alternate between 1 node (its own database) and 2 nodes (another
    database), so a busy minute on the shared machine hurts both alike; medians.
    `options`: more `supportd serve` options for every PostgreSQL node; `baseline`: the
    src/ of another commit, run as one more 1-node setup (A/B in the same rounds)."""
    log(f"CreateCase: 1 node against 2, {rounds} interleaved rounds of {duration} s ...")
    samples: dict[str, list[dict[str, Any]]] = {"postgresql_1_node": [], "postgresql_2_nodes": []}
    with contextlib.ExitStack() as stack:
        url1 = stack.enter_context(database())
        url2 = stack.enter_context(database())
        setups: dict[str, tuple[list[common.Server], str]] = {
            "postgresql_1_node": ([start_pg_node("pg1-a", url1, workdir, *options)], url1),
            "postgresql_2_nodes": (
                [start_pg_node(n, url2, workdir, *options) for n in ("pg2-a", "pg2-b")],
                url2,
            ),
        }
        if baseline is not None:
            url3 = stack.enter_context(database())
            node = start_pg_node("base-a", url3, workdir, *options, source=baseline)
            setups["baseline_postgresql_1_node"] = ([node], url3)
            samples["baseline_postgresql_1_node"] = []
        if with_sqlite:
            sqlite = common.supportd("sqlite-1", workdir / "sqlite-1", 1, workdir)
            sqlite.start().wait_ready(common.healthz)
            setups["sqlite_1_node"] = ([sqlite], "")
            samples["sqlite_1_node"] = []
        for servers, _ in setups.values():
            stack.callback(lambda servers=servers: [s.stop() for s in servers])
            drive([s.port for s in servers], connections, 1)  # warm-up
        for r in range(rounds):
            order = list(setups) if r % 2 == 0 else list(reversed(setups))
            for label in order:
                servers, url = setups[label]
                db = urlsplit(url).path.lstrip("/") if url else "-"
                figure = measured_round(servers, label, db, connections, duration)
                samples[label].append(figure)
                cpu = figure["cpu_us_per_case"]
                log(f"  round {r + 1} {label}: {figure['per_second']:.0f}/s, us/case {cpu}")
    return summarise(samples)


def summarise(samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for label, figures in samples.items():
        parts = figures[0]["cpu_us_per_case"]
        result[label] = {
            "per_second_median": round(common.median(f["per_second"] for f in figures), 1),
            "p50_ms_median": round(common.median(f["p50_ms"] for f in figures), 2),
            "errors": sum(f["errors"] for f in figures),
            "cpu_us_per_case_median": {
                part: round(common.median(f["cpu_us_per_case"][part] for f in figures), 1)
                for part in parts
            },
            "machine_busy_share_median": common.median(f["machine_busy_share"] for f in figures),
            "rounds": figures,
        }
    one = result["postgresql_1_node"]["per_second_median"]
    two = result["postgresql_2_nodes"]["per_second_median"]
    result["two_nodes_over_one"] = common.ratio(two, one)
    result["ceilings"] = ceilings(result["postgresql_1_node"]["cpu_us_per_case_median"])
    # The same ratio per round (each pair ran minutes apart at most): how steady it is.
    result["two_nodes_over_one_per_round"] = [
        common.ratio(b["per_second"], a["per_second"])
        for a, b in zip(samples["postgresql_1_node"], samples["postgresql_2_nodes"], strict=True)
    ]
    return result


def ceilings(cpu: dict[str, float]) -> dict[str, float | None]:
    """What the CPU per case allows on this machine: a node is one event loop (at most
    one core of supportd), and every party shares the machine's cores. With one node
    the lower of the two binds; with two, only the machine (each node has a core's
    worth of room before its own loop binds). Their ratio is the best 2 nodes / 1 node
    the measured costs allow."""
    cores = os.cpu_count() or 1
    shared = cpu["supportd"] + cpu["postgres_backends"] + cpu["postgres_aux"]
    shared += cpu["load_generator"]
    machine = cores * 1e6 / shared
    one_loop = 1e6 / cpu["supportd"]
    one = min(one_loop, machine)
    two = min(2 * one_loop, machine)
    return {
        "machine_per_second": round(machine),
        "one_event_loop_per_second": round(one_loop),
        "best_two_over_one": common.ratio(two, one),
    }


# --- 2. the 10,000-call correctness run -------------------------------------------------


async def mixed_run(ports: list[int], calls: int, connections: int) -> dict[str, Any]:
    pairs = itertools.count()
    created: list[tuple[str, str]] = []  # (account, caseId), as acknowledged
    replies: dict[str, int] = {}

    async def loop(i: int) -> None:
        home = [Client(ports[i % len(ports)]), Client(ports[(i + 1) % len(ports)])]
        account = ACCOUNTS[i % len(ACCOUNTS)]
        try:
            while next(pairs) < calls // 2:
                answer = await home[0].call("CreateCase", CREATE, account)
                created.append((account, answer["caseId"]))
                await home[1].call(
                    "AddCommunicationToCase",
                    {"caseId": answer["caseId"], "communicationBody": "reply via the other node"},
                    account,
                )
                replies[answer["caseId"]] = replies.get(answer["caseId"], 0) + 1
        finally:
            for client in home:
                await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(loop(i) for i in range(connections)))
    elapsed = time.perf_counter() - started

    # Walk every account's cases, pages alternately from each node.
    clients = [Client(port) for port in ports]
    seen: list[dict[str, Any]] = []
    pages = 0
    for account in ACCOUNTS:
        token = None
        while True:
            params: dict[str, Any] = {"includeResolvedCases": True, "maxResults": 100}
            if token:
                params["nextToken"] = token
            answer = await clients[pages % len(clients)].call("DescribeCases", params, account)
            pages += 1
            seen.extend(answer["cases"])
            token = answer.get("nextToken")
            if not token:
                break
    for client in clients:
        await client.close()

    seen_ids = [c["caseId"] for c in seen]
    display_ids = [c["displayId"] for c in seen]
    acked = {case_id for _, case_id in created}
    missing_replies = sum(1 for c in seen if len(c["recentCommunications"]["communications"]) != 2)
    checks = {
        "acknowledged_cases": len(acked),
        "listed_cases": len(seen),
        "lost_cases": len(acked - set(seen_ids)),
        "unexpected_cases": len(set(seen_ids) - acked),
        "duplicate_listings": len(seen_ids) - len(set(seen_ids)),
        "duplicate_display_ids": len(display_ids) - len(set(display_ids)),
        "cases_without_exactly_one_reply": missing_replies,
        "describe_pages_alternating_nodes": pages,
    }
    checks["ok"] = (
        checks["lost_cases"] == 0
        and checks["unexpected_cases"] == 0
        and checks["duplicate_listings"] == 0
        and checks["duplicate_display_ids"] == 0
        and missing_replies == 0
        and len(acked) == calls // 2
    )
    return {
        "calls": 2 * (calls // 2),
        "seconds": round(elapsed, 2),
        "per_second": round(2 * (calls // 2) / elapsed, 1),
        "checks": checks,
    }


def correctness(workdir: Path, calls: int, connections: int) -> dict[str, Any]:
    with database() as url, nodes(workdir, 2, url) as pair:
        log(f"{calls} CreateCase + AddCommunicationToCase calls on 2 nodes ...")
        return asyncio.run(mixed_run([n.port for n in pair], calls, connections))


# --- 3. DescribeCases latency at many cases -------------------------------------------


SEED_SQL = """
INSERT INTO cases (case_id, account_id, subject, service_code, category_code, severity_code,
    status, is_open, language, issue_type, submitted_by, cc_emails, created_ms, resolved_ms)
SELECT 'case-' || acct || '-supd-2026-' || lpad(to_hex(g), 16, '0'), acct,
    'Seeded case ' || g, 'amazon-dynamodb', 'apis', 'low',
    CASE WHEN g % 10 = 0 THEN 'resolved' ELSE 'unassigned' END, g % 10 <> 0, 'en',
    'technical', 'account-' || acct || '@example.com', ARRAY['oncall@example.com'],
    1767225600000 + g * 1000, CASE WHEN g % 10 = 0 THEN 1767225600000 + g * 1000 + 60000 END
FROM (
    SELECT g, CASE WHEN (g / 10) % 10 < $2 THEN $3 ELSE '53' || lpad((g % 10000)::text, 10, '0') END
        AS acct
    FROM generate_series($1::bigint, $4::bigint) AS g
) s;
"""
SEED_CHILDREN = """
INSERT INTO communications (case_seq, body, submitted_by, author_kind, cc_emails, created_ms)
SELECT seq, 'Seeded first message ' || seq, 'seed (User) <seed@example.com>', 'customer',
    ARRAY['oncall@example.com'], created_ms FROM cases WHERE seq >= $1;
INSERT INTO case_events (case_seq, at_ms, actor, from_status, to_status)
SELECT seq, created_ms, submitted_by, NULL, 'unassigned' FROM cases WHERE seq >= $1;
"""


async def seed(url: str, count: int, big_share: int) -> dict[str, Any]:
    """count cases: big_share tenths of them in one account, the rest spread across
    10,000 accounts; each with its first communication and its creation event."""
    conn = await asyncpg.connect(url, server_settings={"statement_timeout": "0"})
    try:
        started = time.perf_counter()
        step = 200_000
        for low in range(1, count + 1, step):
            high = min(count, low + step - 1)
            first_seq = await conn.fetchval("SELECT COALESCE(MAX(seq), 0) + 1 FROM cases")
            async with conn.transaction():
                await conn.execute(SEED_SQL, low, big_share, BIG_ACCOUNT, high)
                for statement in SEED_CHILDREN.strip().split(";\n"):
                    await conn.execute(statement, first_seq)
            log(f"  seeded {high} cases")
        await conn.execute("VACUUM ANALYZE")
        return {
            "cases": await conn.fetchval("SELECT COUNT(*) FROM cases"),
            "cases_in_measured_account": await conn.fetchval(
                "SELECT COUNT(*) FROM cases WHERE account_id = $1", BIG_ACCOUNT
            ),
            "seed_seconds": round(time.perf_counter() - started, 1),
        }
    finally:
        await conn.close()


async def describe_latency(port: int, requests: int) -> dict[str, Any]:
    client = Client(port)
    figures: dict[str, Any] = {}
    try:
        shapes: dict[str, dict[str, Any]] = {
            "first_page_100_with_communications": {"maxResults": 100},
            "first_page_100_including_resolved": {"maxResults": 100, "includeResolvedCases": True},
            "first_page_10_without_communications": {
                "maxResults": 10,
                "includeCommunications": False,
            },
        }
        for name, params in shapes.items():
            samples = []
            for _ in range(requests):
                sent = time.perf_counter()
                await client.call("DescribeCases", params, BIG_ACCOUNT)
                samples.append(time.perf_counter() - sent)
            figures[name] = percentiles(samples)
        # Walking pages: each request carries the previous page's token.
        samples, token = [], None
        for _ in range(requests):
            params = {"maxResults": 100, "includeCommunications": False}
            if token:
                params["nextToken"] = token
            sent = time.perf_counter()
            answer = await client.call("DescribeCases", params, BIG_ACCOUNT)
            samples.append(time.perf_counter() - sent)
            token = answer.get("nextToken")
        figures["successive_pages_100"] = percentiles(samples)
        # One case by id (caseIdList) among all of them.
        page = await client.call("DescribeCases", {"maxResults": 100}, BIG_ACCOUNT)
        ids = [c["caseId"] for c in page["cases"]]
        samples = []
        for i in range(requests):
            sent = time.perf_counter()
            await client.call("DescribeCases", {"caseIdList": [ids[i % len(ids)]]}, BIG_ACCOUNT)
            samples.append(time.perf_counter() - sent)
        figures["one_case_by_id"] = percentiles(samples)
    finally:
        await client.close()
    return figures


def latency(workdir: Path, count: int, requests: int) -> dict[str, Any]:
    with database() as url:
        log(f"seeding {count} cases into PostgreSQL ...")
        seeded = asyncio.run(seed(url, count, big_share=1))
        with nodes(workdir, 1, url) as (node,):
            log("DescribeCases latency ...")
            return {**seeded, **asyncio.run(describe_latency(node.port, requests))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000, help="calls of the correctness run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved throughput rounds")
    parser.add_argument("--duration", type=int, default=5, help="seconds of load per round")
    parser.add_argument(
        "--with-sqlite", action="store_true", help="a SQLite node in the throughput rounds too"
    )
    parser.add_argument(
        "--node-option",
        action="append",
        default=[],
        help="a `supportd serve` option for every PostgreSQL node (repeat; e.g."
        " --node-option=--no-notify-worker)",
    )
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="src/ of another commit (git archive REV src | tar -x -C DIR): one more"
        " 1-node setup in the same rounds",
    )
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases for the latency run")
    parser.add_argument("--requests", type=int, default=200, help="requests per latency figure")
    parser.add_argument("--only", choices=["throughput", "correctness", "latency"], action="append")
    args = parser.parse_args()
    only = set(args.only or ["throughput", "correctness", "latency"])
    workdir = Path(tempfile.mkdtemp(prefix="supportd-bench-"))
    result: dict[str, Any] = {"cpus": os.cpu_count(), "connections": args.connections}
    try:
        if "throughput" in only:
            result["create_case_throughput"] = throughput(
                workdir,
                args.rounds,
                args.duration,
                args.connections,
                with_sqlite=args.with_sqlite,
                options=args.node_option,
                baseline=args.baseline_src,
            )
        if "correctness" in only:
            result["two_node_run"] = correctness(workdir, args.calls, args.connections)
        if "latency" in only:
            result["describe_cases_latency"] = latency(workdir, args.cases, args.requests)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result, indent=2))
    if "two_node_run" in result and not result["two_node_run"]["checks"]["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
