"""The web pages at scale: the staff console's queue, case page and search, and the
Support Center's case list (filters, find, paging) and case page, render times at 1,000
cases and at --cases cases, side by side, on SQLite and PostgreSQL, printed as a table
and written as JSON.

    python bench/web_pages.py [--cases 1000000] [--stores sqlite,postgresql] [--requests 30]

Each store is bulk-loaded with bench/staff.py's data (cases over 1,000 accounts, each
with its first message, its creation event and its support-side row: every status,
severity, assignee and SLA state; Zipf-distributed words in the messages), once with
1,000 cases and once with --cases, and both are served at once by real `supportd
serve` processes. A staff member made with the CLI (`supportd staff create`, `supportd
staff password`) signs in through the console's sign-in form, and a customer user of
one account (`supportd users create --password-stdin`; the account holds one case in
1,000, as every account) through the Support Center's; each page is fetched
--requests times over one keep-alive connection, after 3 warm-up requests, the two
sizes interleaved request by request: this machine is shared, and a busy moment then
slows both alike. What is timed is the whole server side of a page (session check, the
operations, the template) as a browser waits for it. Case pages cycle through cases
spread over the whole table, so no one case stays cached. The same reads through the
staff API (JSON) are timed beside some pages, in brackets: the difference is what the
page itself costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

import staff as staff_bench  # bench/staff.py: the data, the bulk loaders, serving

BENCH = Path(__file__).resolve().parent
SMALL = 1000
PASSWORD = "bench password, long enough"
TARGET_MS = 50.0
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
# Account i % 1000 holds cases i + 1000k; its display ids are 1000000000 + seq.
CUSTOMER_INDEX = 7
CUSTOMER_ACCOUNT = str(200_000_000_000 + CUSTOMER_INDEX)
CUSTOMER_EMAIL = "customer@example.com"


def log(message: str) -> None:
    staff_bench.log(message)


def make_people(store_args: list[str]) -> str:
    """The bench admin, with a console password, and the customer user; the admin's
    staff API token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")}
    supportd = staff_bench.SUPPORTD
    subprocess.run(
        [supportd, "users", "create", "--account", CUSTOMER_ACCOUNT, "--email", CUSTOMER_EMAIL,
         "--password-stdin", *store_args],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True, env=env,
    )  # fmt: skip
    subprocess.run(
        [supportd, "staff", "create", "bench", "--email", "bench@example.com", "--role",
         "admin", *store_args],
        check=True, capture_output=True, env=env,
    )  # fmt: skip
    subprocess.run(
        [supportd, "staff", "password", "bench", "--password-stdin", *store_args],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True, env=env,
    )  # fmt: skip
    out = subprocess.run(
        [supportd, "staff", "token", "bench", *store_args],
        text=True, check=True, capture_output=True, env=env,
    ).stdout  # fmt: skip
    return out.split()[-1]


def sign_in(url: str, area: str, email: str) -> httpx.Client:
    """A browser-like session signed in through `area`'s sign-in form."""
    client = httpx.Client(base_url=url, timeout=300)
    page = client.get(f"/{area}/sign-in")
    token = _CSRF.search(page.text)
    assert token, "no sign-in form"
    done = client.post(
        f"/{area}/sign-in",
        data={
            "csrf_token": html.unescape(token.group(1)),
            "email": email,
            "password": PASSWORD,
        },
    )
    if done.status_code != 303:
        raise RuntimeError(f"sign-in failed: {done.status_code}")
    return client


@dataclass
class Target:
    """One served store: its size, its address, a signed-in browser session, a token."""

    count: int
    url: str
    token: str
    process: subprocess.Popen[bytes]
    client: httpx.Client | None = None
    customer: httpx.Client | None = None
    api: httpx.Client | None = None

    def open(self) -> None:
        self.client = sign_in(self.url, "console", "bench@example.com")
        self.customer = sign_in(self.url, "support", CUSTOMER_EMAIL)
        self.api = httpx.Client(
            base_url=self.url, timeout=300, headers={"Authorization": f"Bearer {self.token}"}
        )

    def close(self) -> None:
        for client in (self.client, self.customer, self.api):
            if client is not None:
                client.close()
        self.process.terminate()
        self.process.wait(timeout=30)


def fetch(client: httpx.Client, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
    return elapsed, len(response.content)


def summary(samples: list[float], size: int) -> dict[str, Any]:
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[min(len(samples) - 1, int(0.95 * len(samples)))], 1),
        "bytes": size,
    }


def timed_side_by_side(
    clients: list[httpx.Client], paths: list[list[str]], requests: int
) -> list[dict[str, Any]]:
    """Each target's paths in turn, `requests` times (after 3 warm-ups), the targets
    interleaved request by request: a busy moment of the machine hurts both alike."""
    samples: list[list[float]] = [[] for _ in clients]
    sizes = [0 for _ in clients]
    for n in range(requests + 3):
        for i, client in enumerate(clients):
            elapsed, sizes[i] = fetch(client, paths[i][n % len(paths[i])])
            if n >= 3:
                samples[i].append(elapsed)
    return [summary(s, size) for s, size in zip(samples, sizes, strict=True)]


def next_page(client: httpx.Client, path: str, pages: int) -> str:
    """The address of page `pages` of a list, following its next-page links."""
    for _ in range(pages - 1):
        page = client.get(path).text
        found = re.search(r'<a class="pager-next" href="([^"]+)">', page)
        if not found:
            break
        path = html.unescape(found.group(1))
    return path


def customer_pages(target: Target) -> dict[str, list[str]]:
    """The Support Center's pages, as the customer user sees them."""
    assert target.customer is not None
    # Cases i = CUSTOMER_INDEX + 1000k are the account's (seq i + 1), spread over the
    # table; created every 30 s up to now, so the account's span the last --cases / 2880
    # days.
    seqs = range(CUSTOMER_INDEX + 1, target.count + 1, staff_bench.ACCOUNTS)
    step = max(1, len(seqs) // 97)
    cases = [f"/support/cases/{1_000_000_000 + seq}" for seq in seqs[::step]]
    span_days = max(1, target.count * 30 // 86_400)
    today = datetime.now(UTC).date()
    since = today - timedelta(days=span_days // 2)
    until = since + timedelta(days=max(1, span_days // 10))
    word = staff_bench.WORDS[150]
    return {
        "cases: open": ["/support/cases"],
        "cases: resolved": ["/support/cases?status=resolved"],
        "cases: all, a date range": [f"/support/cases?status=all&from={since}&to={until}"],
        "cases: page 5": [next_page(target.customer, "/support/cases?status=all", 5)],
        f"cases: find a subject word ({word})": [f"/support/cases?status=all&find={word}"],
        "cases: find a display id": [f"/support/cases?status=all&find={cases[-1][15:]}"],
        "customer case page": cases,
    }


def pages_of(target: Target) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The pages to time, and the staff API reads some of them make (their twins)."""
    assert target.client is not None
    account = str(200_000_000_000 + 7)
    # Cases spread over the table (display ids are 1000000000 + seq).
    step = max(1, target.count // 97)
    cases = [f"/console/cases/{1_000_000_000 + seq}" for seq in range(1, target.count + 1, step)]
    mid_word = staff_bench.WORDS[150]
    pages = {
        "queue: open, by SLA due time": ["/console/queue"],
        "queue: severity high": ["/console/queue?severity=high"],
        "queue: SLA breached": ["/console/queue?sla=breaching"],
        "queue: SLA none due": ["/console/queue?sla=none"],
        "queue: assignee agent7": ["/console/queue?assignee=agent7"],
        "queue: one account": [f"/console/queue?account={account}"],
        "queue: page 20": [next_page(target.client, "/console/queue?severity=high", 20)],
        "queue: live update (JSON)": ["/console/queue/updates"],
        "case page": cases,
        f"search: rare word ({staff_bench.RARE})": [f"/console/search?q={staff_bench.RARE}"],
        f"search: mid-frequency word ({mid_word})": [f"/console/search?q={mid_word}"],
        "search: two words": [f"/console/search?q={mid_word}+{staff_bench.WORDS[40]}"],
    }
    twins = {
        "queue: open, by SLA due time": ["/staff/api/cases?limit=50"],
        "queue: assignee agent7": ["/staff/api/cases?assignee=agent7&limit=50"],
        "case page": [p.replace("/console/cases/", "/staff/api/cases/") for p in cases],
        f"search: mid-frequency word ({mid_word})": [f"/staff/api/search?q={mid_word}"],
    }
    return pages, twins


def measure(targets: list[Target], requests: int) -> list[dict[str, Any]]:
    for target in targets:
        target.open()
    paths = [pages_of(t) for t in targets]
    customer = [customer_pages(t) for t in targets]
    results: list[dict[str, Any]] = [{} for _ in targets]
    rounds: list[tuple[str, list[httpx.Client | None], list[dict[str, list[str]]]]] = [
        ("console", [t.client for t in targets], [p[0] for p in paths]),
        ("Support Center", [t.customer for t in targets], customer),
        ("staff API", [t.api for t in targets], [p[1] for p in paths]),
    ]
    for kind, clients, pages in rounds:
        for name in pages[0]:
            timings = timed_side_by_side(
                [c for c in clients if c], [p[name] for p in pages], requests
            )
            for i, found in enumerate(timings):
                if kind == "staff API":
                    results[i][name]["staff_api"] = found
                else:
                    results[i][name] = found
            log(
                f"  {name} ({kind}): "
                + "  ".join(
                    f"{t.count}: {f['p50_ms']} ms" for t, f in zip(targets, timings, strict=True)
                )
            )
    return results


def seed(
    kind: str, count: int, work: Path, stack: contextlib.ExitStack
) -> tuple[dict[str, Any], list[str]]:
    """A store of `count` cases: what seeding took, and the store options."""
    data = staff_bench.Data(count, int(time.time() * 1000))
    log(f"{kind}: seeding {count} cases")
    if kind == "sqlite":
        data_dir = work / f"sqlite-{count}"
        return staff_bench.seed_sqlite(data_dir, data), ["--data-dir", str(data_dir)]
    url = stack.enter_context(staff_bench.pg_database())
    return asyncio.run(staff_bench.seed_postgres(url, data)), ["--database", url]


def run(kind: str, sizes: tuple[int, ...], work: Path, requests: int) -> dict[str, Any]:
    """Both sizes of one store served at once and measured side by side."""
    with contextlib.ExitStack() as stack:
        targets: list[Target] = []
        seeded: dict[int, dict[str, Any]] = {}
        try:
            for count in sizes:
                seeded[count], store_args = seed(kind, count, work, stack)
                log(f"  seeded: {seeded[count]}")
                token = make_people(store_args)
                process, url = staff_bench.serve(store_args, work)
                targets.append(Target(count, url, token, process))
            results = measure(targets, requests)
        finally:
            for target in targets:
                target.close()
    return {
        str(t.count): {"seed": seeded[t.count], "pages": found}
        for t, found in zip(targets, results, strict=True)
    }


def table(report: dict[str, Any]) -> str:
    big = report["cases"]
    columns = [(kind, n) for kind in report["stores"] for n in (SMALL, big)]
    header = "| page | " + " | ".join(f"{k} {n:,}" for k, n in columns) + " |"
    lines = [header, "|" + "---|" * (len(columns) + 1)]
    names = next(iter(report["stores"].values()))[str(SMALL)]["pages"]
    for name in names:
        cells = []
        for kind, n in columns:
            found = report["stores"][kind][str(n)]["pages"][name]
            cell = f"{found['p50_ms']} ms" + (" (over 50)" if found["p50_ms"] > TARGET_MS else "")
            if "staff_api" in found:
                cell += f" [API {found['staff_api']['p50_ms']} ms]"
            cells.append(cell)
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
        report["stores"][kind] = run(kind, (SMALL, args.cases), work, args.requests)
    report["loadavg_end"] = list(os.getloadavg())
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    out = results / f"web-pages-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(report, indent=2))
    print(table(report))
    log(f"written to {out}")


if __name__ == "__main__":
    sys.exit(main())
