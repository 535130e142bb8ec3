"""Two `supportd serve` processes on one PostgreSQL database, clients on both.

Real processes, a real database, boto3 clients in threads. The load is bounded by call
count (about 1,000 CreateCase + AddCommunicationToCase calls), never by time; the fault
is injected when a number of cases has been acknowledged. bench/multinode.py runs the
10,000-call version and prints the figures.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from botocore.exceptions import BotoCoreError

from tests.support.clients import boto3_client
from tests.support.postgres import ThrowawayDatabases
from tests.support.server import ServerProcess

pytestmark = pytest.mark.postgres

ACCOUNTS = ("210000000001", "210000000002", "210000000003")
THREADS_PER_NODE = 4
CASES_PER_THREAD = 60  # 2 nodes x 4 threads x 60 x (CreateCase + reply) = 960 calls
KILL_AFTER_CASES = 120
CALLS_AFTER_KILL = 5  # each survivor client goes on at least this long after the kill


@dataclass(frozen=True)
class Acked:
    case_id: str
    account: str
    node: int
    thread: int
    sent_ns: int
    acked_ns: int


@dataclass
class Load:
    """What the clients were told: acknowledged cases and replies, and any errors."""

    cases: list[Acked] = field(default_factory=list)
    replies: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    connection_errors: dict[int, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)
    killed: threading.Event | None = None
    kill_after: int | None = None

    def ack(self, case: Acked) -> None:
        with self.lock:
            self.cases.append(case)
            if self.kill_after is not None and len(self.cases) >= self.kill_after:
                self.enough.set()


async def fetchval(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


@pytest.fixture
def database_url(postgres_databases: ThrowawayDatabases) -> str:
    return postgres_databases.new_database()


@pytest.fixture
def nodes(database_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    started = [
        ServerProcess(data_dir=tmp_path / f"node{i}" / "data", database_url=database_url).start()
        for i in range(2)
    ]
    yield started
    for node in started:
        node.stop()


def worker(
    load: Load,
    clients: list[Any],
    account: str,
    node: int,
    thread: int,
    cases: int,
    reply_via_other_node: bool,
) -> None:
    """CreateCase on `node`, then one reply to that case (via the other node if asked)."""
    reply_node = 1 - node if reply_via_other_node else node
    after_kill = 0
    try:
        for n in itertools.count():
            if n >= cases and (load.killed is None or after_kill >= CALLS_AFTER_KILL):
                break
            if load.killed is not None and load.killed.is_set():
                after_kill += 1
            sent = time.monotonic_ns()
            created = clients[node].create_case(
                subject=f"load {node}/{thread}/{n}", communicationBody="first"
            )
            case = Acked(created["caseId"], account, node, thread, sent, time.monotonic_ns())
            load.ack(case)
            clients[reply_node].add_communication_to_case(
                caseId=case.case_id, communicationBody=f"reply {n}"
            )
            with load.lock:
                load.replies[case.case_id] += 1
    except BotoCoreError as exc:  # the node is gone: no response, nothing acknowledged
        with load.lock:
            load.connection_errors.setdefault(node, []).append(repr(exc))
    except Exception as exc:  # an answer that is not success
        with load.lock:
            load.server_errors.append(f"node {node}: {exc!r}")


def run_load(
    nodes: list[ServerProcess],
    load: Load,
    cases_per_thread: dict[int, int],
    reply_via_other_node: bool,
) -> list[threading.Thread]:
    threads = []
    counter = itertools.count()
    for node in range(len(nodes)):
        for t in range(THREADS_PER_NODE):
            account = ACCOUNTS[next(counter) % len(ACCOUNTS)]
            # boto3 clients are thread-safe once made; making them is not.
            clients = [boto3_client(n.url, account) for n in nodes]
            args = (load, clients, account, node, t, cases_per_thread[node], reply_via_other_node)
            threads.append(threading.Thread(target=worker, args=args, daemon=True))
    for thread in threads:
        thread.start()
    return threads


def all_cases(
    nodes: list[ServerProcess], account: str, page_size: int = 20
) -> list[dict[str, Any]]:
    """Every case of the account, pages fetched alternately from each node."""
    clients = [boto3_client(n.url, account) for n in nodes]
    cases: list[dict[str, Any]] = []
    token: str | None = None
    for page in itertools.count():
        kwargs: dict[str, Any] = {"includeResolvedCases": True, "maxResults": page_size}
        if token:
            kwargs["nextToken"] = token
        answer = clients[page % len(clients)].describe_cases(**kwargs)
        cases.extend(answer["cases"])
        token = answer.get("nextToken")
        if not token:
            return cases
    raise AssertionError("unreachable")


def assert_display_ids_follow_creation_order(acked: list[Acked], display: dict[str, int]) -> None:
    """A case acknowledged before another was requested has the smaller displayId (on any
    node); and each client's own cases increase."""
    by_ack = sorted(acked, key=lambda c: c.acked_ns)
    highest_acked = 0
    i = 0
    for case in sorted(acked, key=lambda c: c.sent_ns):
        while i < len(by_ack) and by_ack[i].acked_ns < case.sent_ns:
            highest_acked = max(highest_acked, display[by_ack[i].case_id])
            i += 1
        assert display[case.case_id] > highest_acked, case
    per_client: dict[tuple[int, int], list[int]] = {}
    for case in sorted(acked, key=lambda c: c.sent_ns):
        per_client.setdefault((case.node, case.thread), []).append(display[case.case_id])
    for ids in per_client.values():
        assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_two_nodes_share_one_database_without_losing_or_repeating_anything(
    nodes: list[ServerProcess],
) -> None:
    load = Load()
    threads = run_load(nodes, load, {0: CASES_PER_THREAD, 1: CASES_PER_THREAD}, True)
    for thread in threads:
        thread.join()
    assert load.server_errors == []
    assert load.connection_errors == {}
    expected = 2 * THREADS_PER_NODE * CASES_PER_THREAD
    assert len(load.cases) == expected

    seen: list[dict[str, Any]] = []
    for account in ACCOUNTS:
        listed = all_cases(nodes, account)
        mine = {c.case_id for c in load.cases if c.account == account}
        assert len(listed) == len(mine)
        assert {c["caseId"] for c in listed} == mine
        seen.extend(listed)

    case_ids = [c["caseId"] for c in seen]
    display_ids = [int(c["displayId"]) for c in seen]
    assert len(set(case_ids)) == len(case_ids) == expected
    assert len(set(display_ids)) == expected
    # Each case: its first message and exactly one reply, written through the other node.
    for case in seen:
        bodies = [m["body"] for m in case["recentCommunications"]["communications"]]
        assert len(bodies) == 2 and bodies[1] == "first", case
    assert set(load.replies.values()) == {1}
    assert_display_ids_follow_creation_order(
        load.cases, {c["caseId"]: int(c["displayId"]) for c in seen}
    )


def test_a_node_killed_mid_load_loses_no_acknowledged_case(
    nodes: list[ServerProcess], tmp_path: Path
) -> None:
    survivor, victim = nodes
    # The victim's clients go on until it dies; the survivor's do a fixed amount and go
    # on past the kill.
    load = Load(kill_after=KILL_AFTER_CASES, killed=threading.Event())
    threads = run_load(nodes, load, {0: CASES_PER_THREAD, 1: 1_000_000}, False)
    assert load.enough.wait(timeout=120), "the load never reached the kill point"
    victim.kill()  # SIGKILL: no shutdown, connections and requests cut
    killed_ns = time.monotonic_ns()
    load.killed.set()
    for thread in threads:
        thread.join()

    assert load.server_errors == []
    assert 0 not in load.connection_errors  # the survivor never failed a call
    assert len(load.connection_errors[1]) == THREADS_PER_NODE  # every victim client saw it
    survivor_cases = [c for c in load.cases if c.node == 0]
    assert len(survivor_cases) >= THREADS_PER_NODE * CASES_PER_THREAD
    # It kept serving while and after the other node died.
    after = Counter(c.thread for c in survivor_cases if c.sent_ns > killed_ns)
    assert min(after[t] for t in range(THREADS_PER_NODE)) >= CALLS_AFTER_KILL

    listed: list[dict[str, Any]] = []
    for account in ACCOUNTS:
        listed.extend(all_cases([survivor], account))
    present = {c["caseId"] for c in listed}
    assert {c.case_id for c in load.cases} <= present
    assert len(present) == len(listed)
    # A write cut off by the kill is there whole or not at all: every case has its first
    # message; an acknowledged reply is stored, an unacknowledged one at most once.
    acked = {c.case_id: c for c in load.cases}
    for case in listed:
        bodies = [m["body"] for m in case["recentCommunications"]["communications"]]
        assert bodies[-1] == "first", case
        stored_replies = len(bodies) - 1
        told = load.replies[case["caseId"]]
        if case["caseId"] not in acked:
            assert stored_replies == 0, case  # CreateCase cut off: no reply was ever sent
        elif acked[case["caseId"]].node == 0:
            assert stored_replies == told == 1, case
        else:
            assert told <= stored_replies <= told + 1, case
    assert_display_ids_follow_creation_order(
        load.cases, {c["caseId"]: int(c["displayId"]) for c in listed}
    )

    # The victim comes back on the same database and sees everything.
    revived = ServerProcess(
        data_dir=tmp_path / "revived" / "data", database_url=victim.database_url
    ).start()
    try:
        assert {c["caseId"] for c in all_cases([revived, survivor], ACCOUNTS[0])} == {
            c["caseId"] for c in listed if c["caseId"].startswith(f"case-{ACCOUNTS[0]}-")
        }
    finally:
        revived.stop()


def test_a_node_reconnects_when_its_database_connections_are_cut(
    nodes: list[ServerProcess], database_url: str
) -> None:
    node = nodes[0]
    client = boto3_client(node.url, ACCOUNTS[0])
    before = client.create_case(subject="before", communicationBody="x")["caseId"]
    # What a database restart or failover does to the node's pooled connections.
    name = database_url.rsplit("/", 1)[1]
    cut = asyncio.run(
        fetchval(
            database_url,
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    )
    assert cut >= 2  # both nodes' pools held connections
    after = [
        client.create_case(subject=f"after {i}", communicationBody="y")["caseId"] for i in range(5)
    ]
    listed = client.describe_cases(maxResults=10)["cases"]
    assert [c["caseId"] for c in listed] == [*reversed(after), before]
