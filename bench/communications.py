"""DescribeCommunications: a page of 100 from a case with 10,000 communications against a
page from a case with 10 (target: within 1.5x), on both stores. Prints the figures as JSON.

    python bench/communications.py                       # both stores, 5 rounds, ~3 minutes
    python bench/communications.py --stores sqlite --rounds 3 --requests 20

Per store, one `supportd serve` (one process; PostgreSQL on a database made for the run
and dropped afterwards) is loaded through the API itself: two cases, then 9 and 9,999
AddCommunicationToCase calls (so 10 and 10,000 communications), then a third case with
--later replies, so the big case's messages are not the newest of the table (a page
read by walking the table's newest rows backwards would have to pass them).

Then rounds, the stores and the figures interleaved within each round: --requests (100)
sequential DescribeCommunications on one keep-alive connection (after 2 unmeasured) for
the small case's page (maxResults 100: its 10 communications), the big case's first page
of 100, its page 50 (the nextToken found by walking the pages before it) and its first
page of 10 (an answer the size of the small case's: what the case's size alone costs).
Figures: the median over rounds of each round's median latency, in milliseconds, and the
CPU time per request of the server process and (PostgreSQL) of its database's backends,
from /proc, over every measured request; ratios to the small case's page. A page of 100
also encodes ten times the communications: that part of its cost grows with the page,
not with the case.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common

import multinode
from multinode import Client

ACCOUNT = "530000000001"
SMALL, BIG = 10, 10_000
DEEP_PAGE = 50
TARGET = 1.5


async def load(port: int, later: int, connections: int = 16) -> dict[str, str]:
    """The cases, their communications through AddCommunicationToCase; case ids."""
    cases: dict[str, str] = {}
    client = Client(port)
    try:
        for name in ("small", "big", "later"):
            answer = await client.call("CreateCase", multinode.CREATE, ACCOUNT)
            cases[name] = answer["caseId"]
    finally:
        await client.close()
    # The small case's replies first, then the big case's, then the others': each case's
    # messages are a run of the table, the big case's followed by newer ones.
    for name, count in (("small", SMALL - 1), ("big", BIG - 1), ("later", later)):
        await reply(port, cases[name], count, connections)
        multinode.log(f"  {name}: {count + 1} communications")
    return cases


async def reply(port: int, case_id: str, count: int, connections: int) -> None:
    remaining = iter(range(count))

    async def loop() -> None:
        client = Client(port)
        try:
            for i in remaining:
                body = {"caseId": case_id, "communicationBody": f"Reply {i}: still failing."}
                await client.call("AddCommunicationToCase", body, ACCOUNT)
        finally:
            await client.close()

    await asyncio.gather(*(loop() for _ in range(min(connections, max(count, 1)))))


async def deep_token(port: int, case_id: str) -> str:
    """The nextToken of the big case's page DEEP_PAGE, by walking the pages before it."""
    client = Client(port)
    token = ""
    try:
        for _ in range(DEEP_PAGE - 1):
            params: dict[str, Any] = {"caseId": case_id, "maxResults": 100}
            if token:
                params["nextToken"] = token
            token = (await client.call("DescribeCommunications", params, ACCOUNT))["nextToken"]
    finally:
        await client.close()
    return token


async def timed(
    server: common.Server, database: str, params: dict[str, Any], requests: int
) -> dict[str, Any]:
    """Latency of each request (after 2 unmeasured), and the CPU time the server (and, on
    PostgreSQL, the backends of its database) used for them, per request."""
    client = Client(server.port)
    samples = []
    try:
        for _ in range(2):
            await client.call("DescribeCommunications", params, ACCOUNT)
        server_before = server.cpu_seconds()
        backends_before = multinode.postgres_cpu({"db": database})["db"] if database else 0.0
        for _ in range(requests):
            sent = time.perf_counter()
            status, raw = await client.send("DescribeCommunications", params, ACCOUNT)
            samples.append(time.perf_counter() - sent)
            if status != 200:
                raise RuntimeError(f"DescribeCommunications: HTTP {status} {raw[:300]!r}")
        server_cpu = server.cpu_seconds() - server_before
        backends = multinode.postgres_cpu({"db": database})["db"] if database else 0.0
    finally:
        await client.close()
    return {
        "median_ms": round(statistics.median(samples) * 1000, 3),
        "server_cpu_us": round(server_cpu / requests * 1e6, 1),
        "postgres_cpu_us": round((backends - backends_before) / requests * 1e6, 1),
        "communications": len(json.loads(raw)["communications"]),
    }


def figures(cases: dict[str, str], token: str) -> dict[str, tuple[dict[str, Any], int]]:
    """Each figure's request and how many communications its answer must hold."""
    big = {"caseId": cases["big"], "maxResults": 100}
    return {
        f"case with {SMALL}: page of 100": ({"caseId": cases["small"], "maxResults": 100}, SMALL),
        f"case with {BIG:,}: first page of 100": (big, 100),
        f"case with {BIG:,}: page {DEEP_PAGE} of 100": ({**big, "nextToken": token}, 100),
        # The answer of the small case's size: what the case's size alone costs.
        f"case with {BIG:,}: first page of 10": ({**big, "maxResults": 10}, 10),
    }


Shapes = dict[str, tuple[dict[str, Any], int]]
MEASURES = ("median_ms", "server_cpu_us", "postgres_cpu_us")


def start(store: str, workdir: Path, stack: contextlib.ExitStack) -> tuple[common.Server, str]:
    """A `supportd serve` for the store (stopped with the stack); its database's name."""
    if store == "postgresql":
        url = stack.enter_context(multinode.database())
        server = multinode.start_pg_node("pg", url, workdir)
        stack.callback(server.stop)
        return server, url.rsplit("/", 1)[1]
    server = common.supportd("sqlite", workdir / "sqlite", 1, workdir)
    server.start().wait_ready(common.healthz)
    stack.callback(server.stop)
    return server, ""


def summary(by_name: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    """Per figure over rounds, and each figure over the small case's page: latency and
    CPU (the server's plus, on PostgreSQL, its backends')."""
    # CPU times come in clock ticks (10 ms): their mean over rounds, i.e. the total over
    # every measured request, is the precise figure; latency is the median of medians.
    medians = {
        name: {
            m: round((statistics.median if m == "median_ms" else statistics.mean)(values[m]), 3)
            for m in MEASURES
        }
        for name, values in by_name.items()
    }
    small = next(iter(medians.values()))

    def cpu(figure: dict[str, float]) -> float:
        return figure["server_cpu_us"] + figure["postgres_cpu_us"]

    return {
        "medians": medians,
        "over_small_latency": {
            name: common.ratio(medians[name]["median_ms"], small["median_ms"])
            for name in list(medians)[1:]
        },
        "over_small_cpu": {
            name: common.ratio(cpu(medians[name]), cpu(small)) for name in list(medians)[1:]
        },
        "rounds": by_name,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=100, help="per figure and round")
    parser.add_argument("--later", type=int, default=1_000, help="replies to a third case")
    args = parser.parse_args()
    stores = args.stores.split(",")
    workdir = Path(tempfile.mkdtemp(prefix="supportd-bench-"))
    result: dict[str, Any] = {
        "load_average_start": common.loadavg(),
        "rounds": args.rounds,
        "requests": args.requests,
    }
    try:
        with contextlib.ExitStack() as stack:
            servers: dict[str, tuple[common.Server, str, Shapes]] = {}
            for store in stores:
                server, database = start(store, workdir, stack)
                multinode.log(f"{store}: loading through the API ...")
                started = time.perf_counter()
                cases = asyncio.run(load(server.port, args.later))
                result[f"{store}_load_seconds"] = round(time.perf_counter() - started, 1)
                token = asyncio.run(deep_token(server.port, cases["big"]))
                servers[store] = (server, database, figures(cases, token))
            samples = {
                store: {name: {m: [] for m in MEASURES} for name in shapes}
                for store, (_, _, shapes) in servers.items()
            }
            for r in range(args.rounds):
                for store in stores if r % 2 == 0 else stores[::-1]:
                    server, database, shapes = servers[store]
                    for name in list(shapes) if r % 2 == 0 else list(shapes)[::-1]:
                        params, expected = shapes[name]
                        figure = asyncio.run(timed(server, database, params, args.requests))
                        if figure["communications"] != expected:
                            raise RuntimeError(f"{store} {name}: {figure}")
                        for m in MEASURES:
                            samples[store][name][m].append(figure[m])
                multinode.log(f"round {r + 1} done")
            for store, by_name in samples.items():
                result[store] = summary(by_name)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["load_average_end"] = common.loadavg()
    print(json.dumps(result, indent=2))
    met = [
        ratio is not None and ratio <= TARGET
        for store in stores
        for ratio in result[store]["over_small_latency"].values()
    ]
    sys.exit(0 if all(met) else 1)


if __name__ == "__main__":
    main()
