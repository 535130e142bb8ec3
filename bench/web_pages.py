"""The staff console's pages at scale: queue, case page and search render times at
1,000 cases and at --cases cases, side by side, on SQLite and PostgreSQL, printed as a
table and written as JSON.

    python bench/web_pages.py [--cases 1000000] [--stores sqlite,postgresql] [--requests 30]

Each store is bulk-loaded with bench/staff.py's data (cases over 1,000 accounts, each
with its first message, its creation event and its support-side row: every status,
severity, assignee and SLA state; Zipf-distributed words in the messages), once with
1,000 cases and once with --cases. Then a real `supportd serve` answers; a staff member
made with the CLI (`supportd staff create`, `supportd staff password`) signs in through
the sign-in form, and each page is fetched --requests times over one keep-alive
connection, one at a time, after 3 warm-up requests: the whole server side of a page
(session check, the operations, the template) as a browser waits for it. Case pages
cycle through cases spread over the whole table, so no one case stays cached.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

import staff as staff_bench  # bench/staff.py: the data, the bulk loaders, serving

BENCH = Path(__file__).resolve().parent
SMALL = 1000
PASSWORD = "bench password, long enough"
TARGET_MS = 50.0
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def log(message: str) -> None:
    staff_bench.log(message)


def make_staff(store_args: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")}
    supportd = staff_bench.SUPPORTD
    subprocess.run(
        [supportd, "staff", "create", "bench", "--email", "bench@example.com", "--role",
         "admin", *store_args],
        check=True, capture_output=True, env=env,
    )  # fmt: skip
    subprocess.run(
        [supportd, "staff", "password", "bench", "--password-stdin", *store_args],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True, env=env,
    )  # fmt: skip


def sign_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=300)
    page = client.get("/console/sign-in")
    token = _CSRF.search(page.text)
    assert token, "no sign-in form"
    done = client.post(
        "/console/sign-in",
        data={
            "csrf_token": html.unescape(token.group(1)),
            "email": "bench@example.com",
            "password": PASSWORD,
        },
    )
    if done.status_code != 303:
        raise RuntimeError(f"sign-in failed: {done.status_code}")
    return client


def timed(client: httpx.Client, paths: list[str], requests: int) -> dict[str, Any]:
    """Fetch the paths in turn, `requests` times in all (after 3 warm-ups)."""
    samples = []
    size = 0
    for n in range(requests + 3):
        path = paths[n % len(paths)]
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
        size = len(response.content)
        if n >= 3:
            samples.append(elapsed)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[min(len(samples) - 1, int(0.95 * len(samples)))], 1),
        "bytes": size,
    }


def next_page(client: httpx.Client, path: str, pages: int) -> str:
    """The address of page `pages` of the queue, following the Next page links."""
    for _ in range(pages - 1):
        found = re.search(
            r'<a class="pager-next" href="([^"]+)">Next page</a>', client.get(path).text
        )
        if not found:
            break
        path = html.unescape(found.group(1))
    return path


def measure(url: str, count: int, requests: int) -> dict[str, Any]:
    client = sign_in(url)
    account = str(200_000_000_000 + 7)
    # Cases spread over the table (display ids are 1000000000 + seq).
    step = max(1, count // 97)
    case_paths = [f"/console/cases/{1_000_000_000 + seq}" for seq in range(1, count + 1, step)]
    mid_word = staff_bench.WORDS[150]
    pages: dict[str, list[str]] = {
        "queue: open, by SLA due time": ["/console/queue"],
        "queue: severity high": ["/console/queue?severity=high"],
        "queue: SLA breached": ["/console/queue?sla=breaching"],
        "queue: assignee agent7": ["/console/queue?assignee=agent7"],
        "queue: one account": [f"/console/queue?account={account}"],
        "queue: page 20": [next_page(client, "/console/queue?severity=high", 20)],
        "queue: live update (JSON)": ["/console/queue/updates"],
        "case page": case_paths,
        f"search: rare word ({staff_bench.RARE})": [f"/console/search?q={staff_bench.RARE}"],
        f"search: mid-frequency word ({mid_word})": [f"/console/search?q={mid_word}"],
        "search: two words": [f"/console/search?q={mid_word}+{staff_bench.WORDS[40]}"],
    }
    results = {}
    for name, paths in pages.items():
        results[name] = timed(client, paths, requests)
        log(f"  {name}: {results[name]}")
    client.close()
    return results


def run(kind: str, count: int, work: Path, requests: int) -> dict[str, Any]:
    data = staff_bench.Data(count, int(time.time() * 1000))
    log(f"{kind}: seeding {count} cases")
    if kind == "sqlite":
        data_dir = work / f"sqlite-{count}"
        seeded = staff_bench.seed_sqlite(data_dir, data)
        return _serve_and_measure(seeded, ["--data-dir", str(data_dir)], work, count, requests)
    with staff_bench.pg_database() as url:
        seeded = asyncio.run(staff_bench.seed_postgres(url, data))
        return _serve_and_measure(seeded, ["--database", url], work, count, requests)


def _serve_and_measure(
    seeded: dict[str, Any], store_args: list[str], work: Path, count: int, requests: int
) -> dict[str, Any]:
    log(f"  seeded: {seeded}")
    make_staff(store_args)
    process, url = staff_bench.serve(store_args, work)
    try:
        return {"seed": seeded, "pages": measure(url, count, requests)}
    finally:
        process.terminate()
        process.wait(timeout=30)


def table(report: dict[str, Any]) -> str:
    big = report["cases"]
    columns = [(kind, n) for kind in report["stores"] for n in (SMALL, big)]
    header = "| page | " + " | ".join(f"{k} {n:,}" for k, n in columns) + " |"
    lines = [header, "|" + "---|" * (len(columns) + 1)]
    names = next(iter(report["stores"].values()))[str(SMALL)]["pages"]
    for name in names:
        cells = []
        for kind, n in columns:
            p50 = report["stores"][kind][str(n)]["pages"][name]["p50_ms"]
            cells.append(f"{p50} ms" + (" (over 50)" if p50 > TARGET_MS else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args()
    work = args.work_dir or Path(f"/tmp/supportd-bench-web-{secrets.token_hex(3)}")
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "cases": args.cases,
        "small": SMALL,
        "cpus": os.cpu_count(),
        "loadavg_start": list(os.getloadavg()),
        "stores": {},
    }
    for kind in args.stores.split(","):
        report["stores"][kind] = {
            str(n): run(kind, n, work, args.requests) for n in (SMALL, args.cases)
        }
    report["loadavg_end"] = list(os.getloadavg())
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    out = results / f"web-pages-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(report, indent=2))
    print(table(report))
    log(f"written to {out}")


if __name__ == "__main__":
    sys.exit(main())
