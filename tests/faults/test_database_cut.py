"""PostgreSQL goes away under load: the server reconnects, and every case it
acknowledged is stored.

While clients keep creating cases, the node's database connections are cut in the two
ways a restart or failover cuts them, without restarting the cluster the other tests
use: first its backends are terminated (pg_terminate_backend) again and again; then the
node's route to the database (a TCP proxy between them) goes down for a while, so its
connections are reset and new ones refused, and comes back. The first is absorbed by
the store's retries; during the second the node answers 503 ServiceUnavailable (and
/readyz 503) until the database is back.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from botocore.exceptions import ClientError

from tests.support.clients import boto3_client
from tests.support.postgres import ThrowawayDatabases
from tests.support.server import ServerProcess
from tests.support.tcp_proxy import TcpProxy

CLIENTS = 4
CUT_FOR_S = 1.5
DOWN_FOR_S = 1.0
ACCOUNT = "515151515151"


@dataclass
class Load:
    acknowledged: list[str] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    slowest_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, url: str, worker: int) -> None:
        client = boto3_client(url, ACCOUNT)
        n = 0
        while not self.stop.is_set():
            n += 1
            started = time.monotonic()
            try:
                case = client.create_case(subject=f"w{worker} #{n}", communicationBody="load")
                outcome: Any = case["caseId"]
            except ClientError as exc:
                outcome = (
                    exc.response["ResponseMetadata"]["HTTPStatusCode"],
                    exc.response["Error"]["Code"],
                )
            with self.lock:
                self.slowest_s = max(self.slowest_s, time.monotonic() - started)
                if isinstance(outcome, str):
                    self.acknowledged.append(outcome)
                else:
                    self.refused.append(outcome)
        client.close()


async def _cut(url: str, database: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        cut = await conn.fetchval(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = $1 AND application_name = 'supportd'",
            database,
        )
        return int(cut)
    finally:
        await conn.close()


async def _stored(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        return {row[0] for row in await conn.fetch("SELECT case_id FROM cases")}
    finally:
        await conn.close()


def _through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))


def _wait_for(condition: Any, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _readyz(server: ServerProcess) -> int:
    return httpx.get(server.url + "/readyz", timeout=10).status_code


def test_connections_cut_under_load_lose_nothing_acknowledged(
    postgres_databases: ThrowawayDatabases, tmp_path: Any
) -> None:
    url = postgres_databases.new_database()
    database = url.rsplit("/", 1)[1]
    target = urlsplit(url)
    proxy = TcpProxy((target.hostname or "127.0.0.1", target.port or 5432)).start()
    server = ServerProcess(data_dir=tmp_path / "data", database_url=_through(proxy, url)).start()
    load = Load()
    threads = [threading.Thread(target=load.run, args=(server.url, i)) for i in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        _wait_for(lambda: len(load.acknowledged) >= CLIENTS)
        before = len(load.acknowledged)

        # 1. Backends terminated again and again: the retries absorb it.
        cuts = 0
        deadline = time.monotonic() + CUT_FOR_S
        while time.monotonic() < deadline:
            cuts += asyncio.run(_cut(postgres_databases.url, database))
            time.sleep(0.05)
        after_cuts = len(load.acknowledged)
        refused_by_cuts = list(load.refused)

        # 2. The database unreachable for a while, then back.
        proxy.down()
        time.sleep(DOWN_FOR_S)
        ready_while_down = _readyz(server)
        acknowledged_while_down = len(load.acknowledged)
        time.sleep(DOWN_FOR_S)
        refused_while_down = len(load.refused) - len(refused_by_cuts)
        proxy.start()
        back = len(load.acknowledged)
        _wait_for(lambda: len(load.acknowledged) > back)
        ready_after = _readyz(server)
        load.stop.set()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        load.stop.set()
        server.stop()
        proxy.down()

    assert before >= CLIENTS and cuts > 0
    assert after_cuts > before and refused_by_cuts == []
    # While the database was away: refused, and not ready; nothing hung.
    assert refused_while_down > 0, load.refused
    assert ready_while_down == 503
    assert load.slowest_s < 10
    # It reconnected: cases are acknowledged again, and it is ready.
    assert len(load.acknowledged) > acknowledged_while_down
    assert ready_after == 200
    # Every failure was AWS's temporary failure, which SDKs retry: 503 when nothing was
    # written; 500 only when a COMMIT's outcome was lost with its connection.
    assert {code for code in load.refused} <= {
        (503, "ServiceUnavailable"),
        (500, "InternalServerError"),
    }
    assert (503, "ServiceUnavailable") in load.refused
    # Nothing acknowledged is lost, and nothing was acknowledged twice.
    stored = asyncio.run(_stored(url))
    assert set(load.acknowledged) <= stored
    assert len(set(load.acknowledged)) == len(load.acknowledged)
