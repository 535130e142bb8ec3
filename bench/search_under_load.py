"""Does one staff search hold up the AWS API? The AWS API's latency measured while staff
run common-word searches, at --cases cases, on SQLite and PostgreSQL; printed as JSON.

    python bench/search_under_load.py [--cases 1000000] [--stores sqlite,postgresql]
                                      [--seconds 10] [--searchers 1]

Each store is bulk-loaded the way bench/staff.py does it (same data generator, same
index build), then one `supportd serve` (one worker) answers both:

1. baseline: a client calls DescribeSeverityLevels back to back for --seconds and
   records every latency;
2. under search: the same client again, while --searchers other clients each loop the
   staff search for a word that is in most communication bodies.

Reported per store: the API's p50 / p99 / max in both phases, how many API calls were
made, and the common-word search's p50 / p99 and whether it said it cut its results.
The issue-10 targets: API p99 under 50 ms while searching, search under 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

import staff as staff_bench  # bench/staff.py: the data generator, seeding, serving

API_HEADERS = {
    "X-Amz-Target": "AWSSupport_20130415.DescribeSeverityLevels",
    "Content-Type": "application/x-amz-json-1.1",
    # Open mode: a 12-digit access key id names the account.
    "Authorization": (
        "AWS4-HMAC-SHA256 Credential=200000000007/20260101/us-east-1/support/aws4_request,"
        " SignedHeaders=host, Signature=00"
    ),
}


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    if not samples_ms:
        return {"n": 0}
    ordered = sorted(samples_ms)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(ordered[-1], 2),
    }


def api_loop(url: str, seconds: float) -> list[float]:
    samples: list[float] = []
    with httpx.Client(base_url=url, timeout=60) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            start = time.perf_counter()
            response = client.post("/", content=b"{}", headers=API_HEADERS)
            samples.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"API answered {response.status_code}: {response.text}")
    return samples


def search_loop(
    url: str, staff_token: str, word: str, stop: threading.Event, out: list[dict[str, Any]]
) -> None:
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {staff_token}"}, timeout=300
    ) as client:
        while not stop.is_set():
            start = time.perf_counter()
            response = client.get("/staff/api/search", params={"q": word, "limit": 20})
            elapsed = (time.perf_counter() - start) * 1000
            body = response.json()
            out.append(
                {
                    "ms": elapsed,
                    "status": response.status_code,
                    "truncated": bool(body.get("truncated", False)),
                }
            )


def measure(url: str, staff_token: str, seconds: float, searchers: int) -> dict[str, Any]:
    word = staff_bench.WORDS[2]
    api_loop(url, 1.0)  # warm-up
    baseline = api_loop(url, seconds)
    stop = threading.Event()
    searches: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=search_loop, args=(url, staff_token, word, stop, searches))
        for _ in range(searchers)
    ]
    for thread in threads:
        thread.start()
    try:
        during = api_loop(url, seconds)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=600)
    return {
        "word": word,
        "api_baseline": percentiles(baseline),
        "api_during_search": percentiles(during),
        "search": percentiles([s["ms"] for s in searches]),
        "search_statuses": sorted({s["status"] for s in searches}),
        "search_truncated": any(s["truncated"] for s in searches),
    }


def run_store(kind: str, data: Any, work: Path, seconds: float, searchers: int) -> dict[str, Any]:
    staff_bench.log(f"{kind}: seeding {data.count} cases")
    if kind == "sqlite":
        data_dir = work / "sqlite"
        seeded = staff_bench.seed_sqlite(data_dir, data)
        return _serve_and_measure(seeded, ["--data-dir", str(data_dir)], work, seconds, searchers)
    with staff_bench.pg_database() as url:
        seeded = asyncio.run(staff_bench.seed_postgres(url, data))
        return _serve_and_measure(seeded, ["--database", url], work, seconds, searchers)


def _serve_and_measure(
    seeded: dict[str, Any], store_args: list[str], work: Path, seconds: float, searchers: int
) -> dict[str, Any]:
    staff_token = staff_bench.token(store_args)
    process, url = staff_bench.serve(store_args, work)
    try:
        result = measure(url, staff_token, seconds, searchers)
    finally:
        process.terminate()
        process.wait(timeout=30)
    staff_bench.log(f"  {json.dumps(result)}")
    return {"seed": seeded, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--searchers", type=int, default=1)
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args()
    work = args.work_dir or Path(f"/tmp/supportd-bench-search-{secrets.token_hex(3)}")
    work.mkdir(parents=True, exist_ok=True)
    data = staff_bench.Data(args.cases, int(time.time() * 1000))
    report: dict[str, Any] = {
        "cases": args.cases,
        "cpus": os.cpu_count(),
        "loadavg_start": list(os.getloadavg()),
        "stores": {},
    }
    for kind in args.stores.split(","):
        report["stores"][kind] = run_store(kind, data, work, args.seconds, args.searchers)
    report["loadavg_end"] = list(os.getloadavg())
    results = staff_bench.BENCH / "results"
    results.mkdir(exist_ok=True)
    out = results / f"search-under-load-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
