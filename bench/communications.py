"""DescribeCommunications: a page of 100 from a case with 10,000 communications against a
page from a case with 10 (target: within 1.5x), on both stores. Prints the figures as JSON.

    python bench/communications.py                       # both stores, 5 rounds, ~3 minutes
    python bench/communications.py --stores sqlite --rounds 3 --requests 20

Per store, one `supportd serve` (one process; PostgreSQL on a database made for the run
and dropped afterwards) is loaded through the API itself: two cases, then 9 and 9,999
AddCommunicationToCase calls (so 10 and 10,000 communications), then a third case with
--later replies, so the big case's messages are not the newest of the table (a page
read by walking the table's newest rows backwards would have to pass them).

Then rounds, the stores and the figures interleaved within each round: --requests
sequential DescribeCommunications on one keep-alive connection (after 2 unmeasured) for
the small case's page (maxResults 100: its 10 communications), the big case's first page
of 100, its page 50 (the nextToken found by walking the pages before it) and its first
page of 10 (an answer the size of the small case's: what the case's size alone costs).
Figures: the median over rounds of each round's median, in milliseconds; ratios to the
small case's page. A page of 100 also encodes ten times the communications: that part
of its cost grows with the page, not with the case.
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


async def timed(port: int, params: dict[str, Any], requests: int) -> dict[str, Any]:
    client = Client(port)
    samples = []
    try:
        for i in range(requests + 2):
            sent = time.perf_counter()
            answer = await client.call("DescribeCommunications", params, ACCOUNT)
            if i >= 2:
                samples.append(time.perf_counter() - sent)
    finally:
        await client.close()
    return {
        "median_ms": round(statistics.median(samples) * 1000, 3),
        "communications": len(answer["communications"]),
        "next_token": "nextToken" in answer,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=40, help="per figure and round")
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
            servers: dict[str, tuple[common.Server, dict[str, tuple[dict[str, Any], int]]]] = {}
            for store in stores:
                if store == "postgresql":
                    url = stack.enter_context(multinode.database())
                    server = multinode.start_pg_node("pg", url, workdir)
                else:
                    server = common.supportd("sqlite", workdir / "sqlite", 1, workdir)
                    server.start().wait_ready(common.healthz)
                stack.callback(server.stop)
                multinode.log(f"{store}: loading through the API ...")
                started = time.perf_counter()
                cases = asyncio.run(load(server.port, args.later))
                result[f"{store}_load_seconds"] = round(time.perf_counter() - started, 1)
                token = asyncio.run(deep_token(server.port, cases["big"]))
                servers[store] = (server, figures(cases, token))
            samples: dict[str, dict[str, list[float]]] = {
                store: {name: [] for name in shapes} for store, (_, shapes) in servers.items()
            }
            for r in range(args.rounds):
                order = stores if r % 2 == 0 else stores[::-1]
                for store in order:
                    server, shapes = servers[store]
                    names = list(shapes) if r % 2 == 0 else list(shapes)[::-1]
                    for name in names:
                        params, expected = shapes[name]
                        figure = asyncio.run(timed(server.port, params, args.requests))
                        if figure["communications"] != expected:
                            raise RuntimeError(f"{store} {name}: {figure}")
                        samples[store][name].append(figure["median_ms"])
                multinode.log(f"round {r + 1}: {json.dumps(samples)}")
            for store, by_name in samples.items():
                medians = {name: round(statistics.median(v), 3) for name, v in by_name.items()}
                small, first, deep, ten = medians.values()
                result[store] = {
                    "median_ms": medians,
                    "first_page_big_over_small": common.ratio(first, small),
                    "deep_page_big_over_small": common.ratio(deep, small),
                    "page_of_10_big_over_small": common.ratio(ten, small),
                    "rounds_ms": by_name,
                }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["load_average_end"] = common.loadavg()
    print(json.dumps(result, indent=2))
    verdicts = [
        result[s][k] is not None and result[s][k] <= TARGET
        for s in stores
        for k in ("first_page_big_over_small", "deep_page_big_over_small")
    ]
    sys.exit(0 if all(verdicts) else 1)


if __name__ == "__main__":
    main()
