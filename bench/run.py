"""supportd's benchmark: every figure of the issue, side by side, in one run.

    python bench/run.py                 # everything (what `make bench` runs)
    python bench/run.py --quick         # smaller numbers, for development
    python bench/run.py --only createcase,startup

Parts: createcase (throughput: supportd, moto, a bare ASGI app), durability (kill -9
under load, restart, count), describe (DescribeCases latency at 1,000 vs 1,000,000
cases, and the server's RSS afterwards; `rss` is an alias), startup. Every measurement
is repeated in rounds, interleaved between the things compared; medians and ratios are
reported, and everything measured goes to bench/results/<timestamp>.json. See
bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import common
import loadgen
import seed
from common import ACCOUNT, CREATE_CASE, log, median, ratio

import supportd

PARTS = ("createcase", "durability", "describe", "startup")
ALIASES = {"rss": "describe", "throughput": "createcase"}

TARGET_CREATE_VS_MOTO = 10.0
TARGET_DESCRIBE_RATIO = 1.5
TARGET_RSS_MB = 200.0
TARGET_STARTUP_S = 1.5


@dataclass(frozen=True)
class Settings:
    rounds: int
    duration: int  # seconds of load per CreateCase round
    warmup: int
    connections: int
    durability_duration: int
    durability_kill_after: float
    describe_counts: tuple[int, int]
    describe_requests: int  # sequential requests per page kind per round
    describe_deep_page: int
    describe_load_duration: int
    describe_load_connections: int
    startup_runs: int


FULL = Settings(
    rounds=5,
    duration=5,
    warmup=2,
    connections=32,
    durability_duration=6,
    durability_kill_after=4.0,
    describe_counts=(1_000, 1_000_000),
    describe_requests=40,
    describe_deep_page=5,
    describe_load_duration=3,
    describe_load_connections=8,
    startup_runs=7,
)
QUICK = Settings(
    rounds=3,
    duration=2,
    warmup=1,
    connections=32,
    durability_duration=3,
    durability_kill_after=2.0,
    describe_counts=(1_000, 100_000),
    describe_requests=15,
    describe_deep_page=3,
    describe_load_duration=1,
    describe_load_connections=8,
    startup_runs=3,
)


class Bench:
    def __init__(self, settings: Settings, args: argparse.Namespace, work: Path) -> None:
        self.s = settings
        self.args = args
        self.work = work
        self.logs = work / "logs"
        self.generator = loadgen.available(args.loadgen)

    def data_dir(self, name: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.work))
        return path

    def load(self, port: int, operation: str, params: dict[str, Any], **kw: Any) -> dict[str, Any]:
        headers, body = common.boto3_request(operation, params)
        return loadgen.run(port, headers, body, generator=self.generator, **kw)

    # --- 1. CreateCase throughput ---------------------------------------------------

    def createcase(self) -> dict[str, Any]:
        s = self.s
        targets = {
            "supportd-w1": common.supportd("supportd-w1", self.data_dir("cc-w1"), 1, self.logs),
            "supportd-w2": common.supportd("supportd-w2", self.data_dir("cc-w2"), 2, self.logs),
            "moto": common.moto("moto", self.logs),
            "bare-w1": common.bare("bare-w1", 1, self.logs),
            "bare-w2": common.bare("bare-w2", 2, self.logs),
        }
        if self.args.baseline_src is not None:
            # Another commit's code (git archive REV src | tar -x -C DIR), side by side.
            targets["baseline-w1"] = common.supportd(
                "baseline-w1",
                self.data_dir("cc-base"),
                1,
                self.logs,
                source=self.args.baseline_src.resolve() / "src",
            )
        if self.args.targets:
            wanted = {t.strip() for t in self.args.targets.split(",")}
            targets = {name: server for name, server in targets.items() if name in wanted}
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
        try:
            for server in targets.values():
                server.start()
            for name, server in targets.items():
                probe = common.any_http_answer if name == "moto" else _ready_for_api
                server.wait_ready(probe)
                self.load(
                    server.port,
                    "CreateCase",
                    CREATE_CASE,
                    duration=s.warmup,
                    connections=s.connections,
                )
            for index in range(s.rounds):
                # Interleaved, so that a noisy minute hurts every target alike.
                for name, server in targets.items():
                    cpu_before = server.cpu_seconds()
                    result = self.load(
                        server.port,
                        "CreateCase",
                        CREATE_CASE,
                        duration=s.duration,
                        connections=s.connections,
                    )
                    cpu = server.cpu_seconds() - cpu_before
                    result["server_cpu_us_per_request"] = round(cpu / max(result["ok"], 1) * 1e6, 1)
                    rounds[name].append(result)
                    log(
                        f"  createcase round {index + 1}/{s.rounds} {name:12s}"
                        f" {result['ok_per_s']:9.1f}/s ok,"
                        f" {result['server_cpu_us_per_request']:6.1f} us server CPU each,"
                        f" p50 {result['p50_ms']:.2f} ms,"
                        f" non-200 {result['status_errors']}, socket errors"
                        f" {result['socket_errors']}"
                    )
        finally:
            for server in targets.values():
                server.stop()
        medians = {name: median(r["ok_per_s"] for r in rs) for name, rs in rounds.items()}
        pairs = [
            ("supportd-w1", "baseline-w1"),
            ("supportd-w1", "moto"),
            ("supportd-w2", "moto"),
            ("supportd-w1", "bare-w1"),
            ("supportd-w2", "bare-w2"),
        ]
        supportd = [medians[n] for n in ("supportd-w1", "supportd-w2") if n in medians]
        return {
            "connections": s.connections,
            "duration_s": s.duration,
            "rounds": rounds,
            "median_ok_per_s": medians,
            "median_p50_ms": {n: median(r["p50_ms"] for r in rs) for n, rs in rounds.items()},
            "median_server_cpu_us_per_request": {
                n: median(r["server_cpu_us_per_request"] for r in rs) for n, rs in rounds.items()
            },
            "non_200": {n: sum(r["status_errors"] for r in rs) for n, rs in rounds.items()},
            "ratios": {
                f"{a} / {b}": ratio(medians[a], medians[b])
                for a, b in pairs
                if a in medians and b in medians
            },
            "best_supportd_vs_moto": (
                ratio(max(supportd), medians["moto"]) if supportd and "moto" in medians else None
            ),
        }

    # --- 2. Durability ----------------------------------------------------------------

    def durability(self) -> dict[str, Any]:
        return {f"workers-{w}": self._durability(w) for w in (1, 2)}

    def _durability(self, workers: int) -> dict[str, Any]:
        s = self.s
        data = self.data_dir(f"durability-w{workers}")
        ids_dir = data.parent / f"{data.name}-ids"
        ids_dir.mkdir()
        server = common.supportd(f"durability-w{workers}", data, workers, self.logs).start()
        server.wait_ready(_ready_for_api)
        outcome: dict[str, Any] = {}

        def drive() -> None:
            outcome["load"] = self.load(
                server.port,
                "CreateCase",
                CREATE_CASE,
                duration=s.durability_duration,
                connections=s.connections,
                ids_dir=ids_dir,
            )

        thread = threading.Thread(target=drive)
        thread.start()
        time.sleep(s.durability_kill_after)
        server.kill()  # SIGKILL to the server and its workers, with requests in flight
        killed_at = time.perf_counter()
        thread.join()
        acknowledged: set[str] = set()
        lines = 0
        for path in ids_dir.iterdir():
            for line in path.read_text().splitlines():
                if line.strip():
                    lines += 1
                    acknowledged.add(line.strip())
        restarted = common.supportd(f"durability-w{workers}-restart", data, 1, self.logs)
        restarted.start()
        restart_s = restarted.wait_ready(_ready_for_api)
        try:
            listed = _all_case_ids(restarted.port)
        finally:
            restarted.stop()
        with sqlite3.connect(data / "supportd.db") as conn:
            in_file = {row[0] for row in conn.execute("SELECT case_id FROM cases")}
        missing = acknowledged - listed
        result = {
            "workers": workers,
            "killed_after_s": s.durability_kill_after,
            "load": outcome.get("load"),
            "acknowledged": len(acknowledged),
            "acknowledged_duplicates": lines - len(acknowledged),
            "present": len(acknowledged & listed),
            "missing": len(missing),
            "missing_sample": sorted(missing)[:5],
            "listed_after_restart": len(listed),
            "rows_in_sqlite": len(in_file),
            "committed_not_acknowledged": len(listed - acknowledged),
            "restart_to_ready_s": round(restart_s, 3),
            "load_ran_on_after_kill_s": round(time.perf_counter() - killed_at, 2),
        }
        log(
            f"  durability workers={workers}: acknowledged {result['acknowledged']},"
            f" present {result['present']} (missing {result['missing']};"
            f" {result['committed_not_acknowledged']} more committed but never acknowledged)"
        )
        return result

    # --- 3 and 4. DescribeCases latency, RSS -------------------------------------------

    def describe(self) -> dict[str, Any]:
        s = self.s
        small, large = s.describe_counts
        servers: dict[int, common.Server] = {}
        seeded: dict[int, Any] = {}
        for count in (small, large):
            data = self.data_dir(f"describe-{count}")
            log(f"  seeding {count:,} cases ...")
            seeded[count] = seed.seed(data, count)
            log(f"    {seeded[count]}")
            servers[count] = common.supportd(f"describe-{count}", data, 1, self.logs)
        params = {
            "maxResults": 100,
            "includeResolvedCases": False,
            "includeCommunications": True,
        }
        first_page = common.boto3_request("DescribeCases", params)
        latency: dict[int, dict[str, list[float]]] = {c: {"first": [], "deep": []} for c in servers}
        load: dict[int, list[dict[str, Any]]] = {c: [] for c in servers}
        deep_requests: dict[int, tuple[dict[str, str], bytes]] = {}
        middle: dict[str, Any] = {}
        rss: dict[int, dict[str, int]] = {}
        try:
            for server in servers.values():
                server.start()
            for count, server in servers.items():
                server.wait_ready(_ready_for_api)
                deep_requests[count] = _deep_page_request(server.port, params, s.describe_deep_page)
                rss[count] = {"after_start_kb": server.rss_kb()}
            # Keyset paging costs the same at any depth: the page halfway through the
            # large account's open cases, reached by walking every page before it.
            middle_page, middle_request = _middle_page_request(
                servers[large].port, params, seeded[large]["open_cases"]
            )
            middle = {"page": middle_page, "round_medians_ms": []}
            for index in range(s.rounds):
                for count, server in servers.items():
                    conn = common.Connection(server.port)
                    try:
                        first = _timed(conn, *first_page, s.describe_requests)
                        deep = _timed(conn, *deep_requests[count], s.describe_requests)
                    finally:
                        conn.close()
                    latency[count]["first"].append(first)
                    latency[count]["deep"].append(deep)
                    if count == large:
                        conn = common.Connection(server.port)
                        try:
                            mid = _timed(conn, *middle_request, s.describe_requests)
                        finally:
                            conn.close()
                        middle["round_medians_ms"].append(mid)
                    result = loadgen.run(
                        server.port,
                        *first_page,
                        duration=s.describe_load_duration,
                        connections=s.describe_load_connections,
                        generator=self.generator,
                    )
                    load[count].append(result)
                    log(
                        f"  describe round {index + 1}/{s.rounds} {count:>9,} cases:"
                        f" first page {first:.2f} ms, page {s.describe_deep_page}"
                        f" {deep:.2f} ms,"
                        + (f" page {middle['page']} {mid:.2f} ms," if count == large else "")
                        + f" under load {result['ok_per_s']:.0f}/s"
                        f" (non-200 {result['status_errors']})"
                    )
            for count, server in servers.items():
                rss[count]["after_describe_kb"] = server.rss_kb()
                rss[count]["peak_kb"] = _vm_hwm_kb(server)
        finally:
            for server in servers.values():
                server.stop()
        med = {
            c: {kind: round(median(v), 3) for kind, v in kinds.items()}
            for c, kinds in latency.items()
        }
        load_med = {c: median(r["ok_per_s"] for r in rs) for c, rs in load.items()}
        return {
            "describe": {
                "counts": [small, large],
                "seeded": {str(c): v for c, v in seeded.items()},
                "params": params,
                "deep_page": s.describe_deep_page,
                "requests_per_round": s.describe_requests,
                "round_medians_ms": {str(c): v for c, v in latency.items()},
                "median_ms": {str(c): v for c, v in med.items()},
                "ratios": {
                    "first page": ratio(med[large]["first"], med[small]["first"]),
                    f"page {s.describe_deep_page}": ratio(med[large]["deep"], med[small]["deep"]),
                },
                "middle_page": {
                    **middle,
                    "median_ms": round(median(middle["round_medians_ms"]), 3),
                    "ratio_to_first_page_small": ratio(
                        median(middle["round_medians_ms"]), med[small]["first"]
                    ),
                },
                "under_load": {
                    "connections": s.describe_load_connections,
                    "rounds": {str(c): v for c, v in load.items()},
                    "median_ok_per_s": {str(c): v for c, v in load_med.items()},
                    "ratio": ratio(load_med[small], load_med[large]),
                },
            },
            "rss": {
                "counts": [small, large],
                "kb": {str(c): v for c, v in rss.items()},
                "after_describe_mb": round(rss[large]["after_describe_kb"] / 1024, 1),
            },
        }

    # --- 5. Start-up ------------------------------------------------------------------

    def startup(self) -> dict[str, Any]:
        runs = []
        for index in range(self.s.startup_runs):
            data = self.data_dir("startup")
            server = common.supportd("startup", data, 1, self.logs)
            server.start()
            try:
                healthz = server.wait_ready(common.healthz, timeout=30)
                common.call(server.port, "DescribeServices", {"language": "en"})
                api = time.perf_counter() - server.launched_at
            finally:
                server.stop()
            runs.append({"healthz_s": round(healthz, 3), "describe_services_s": round(api, 3)})
            log(
                f"  startup run {index + 1}/{self.s.startup_runs}: /healthz {healthz:.3f} s,"
                f" DescribeServices answered {api:.3f} s after launch"
            )
        return {
            "runs": runs,
            "fresh_data_dir": True,
            "median_healthz_s": median(r["healthz_s"] for r in runs),
            "median_describe_services_s": median(r["describe_services_s"] for r in runs),
        }


# --- helpers -----------------------------------------------------------------------


def _ready_for_api(server: common.Server) -> bool:
    return common.healthz(server)


def _timed(conn: common.Connection, headers: dict[str, str], body: bytes, n: int) -> float:
    """Median milliseconds of n sequential requests (after two unmeasured ones)."""
    times = []
    for index in range(n + 2):
        started = time.perf_counter()
        status, raw = conn.post(headers, body)
        elapsed = time.perf_counter() - started
        if status != 200:
            raise RuntimeError(f"DescribeCases answered {status}: {raw[:300]!r}")
        if index >= 2:
            times.append(elapsed * 1000)
    return median(times)


def _deep_page_request(
    port: int, params: dict[str, Any], page: int
) -> tuple[dict[str, str], bytes]:
    """The request for page `page`, reached by following nextToken from the first."""
    request = common.boto3_request("DescribeCases", params)
    for _ in range(page - 1):
        conn = common.Connection(port)
        try:
            status, raw = conn.post(*request)
        finally:
            conn.close()
        answer = json.loads(raw)
        if status != 200 or "nextToken" not in answer or len(answer["cases"]) != 100:
            raise RuntimeError(f"cannot page on: {status} {raw[:300]!r}")
        request = common.boto3_request(
            "DescribeCases", {**params, "nextToken": answer["nextToken"]}
        )
    return request


def _middle_page_request(
    port: int, params: dict[str, Any], open_cases: int
) -> tuple[int, tuple[dict[str, str], bytes]]:
    """The page halfway through the account's open cases, by walking nextToken there
    (without communications: the token does not depend on them)."""
    page = max(1, open_cases // 100 // 2)
    walk = {**params, "includeCommunications": False}
    token = None
    conn = common.Connection(port)
    try:
        for _ in range(page - 1):
            request = common.boto3_request(
                "DescribeCases", {**walk, "nextToken": token} if token else walk
            )
            status, raw = conn.post(*request)
            answer = json.loads(raw)
            if status != 200 or "nextToken" not in answer:
                raise RuntimeError(f"cannot page on: {status} {raw[:300]!r}")
            token = answer["nextToken"]
    finally:
        conn.close()
    return page, common.boto3_request(
        "DescribeCases", {**params, "nextToken": token} if token else params
    )


def _all_case_ids(port: int) -> set[str]:
    """Every case of the account, by walking DescribeCases like boto3's paginator."""
    params: dict[str, Any] = {
        "maxResults": 100,
        "includeResolvedCases": True,
        "includeCommunications": False,
    }
    found: set[str] = set()
    conn = common.Connection(port)
    try:
        while True:
            status, raw = conn.post(*common.boto3_request("DescribeCases", params, ACCOUNT))
            if status != 200:
                raise RuntimeError(f"DescribeCases answered {status}: {raw[:300]!r}")
            answer = json.loads(raw)
            found.update(case["caseId"] for case in answer["cases"])
            if "nextToken" not in answer:
                return found
            params["nextToken"] = answer["nextToken"]
    finally:
        conn.close()


def _vm_hwm_kb(server: common.Server) -> int:
    total = 0
    for pid in server.pids():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total


def _git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=common.ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=common.ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _wrk_version() -> str | None:
    if not shutil.which("wrk"):
        return None
    completed = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return (completed.stdout or completed.stderr).splitlines()[0].strip()


# --- summary -------------------------------------------------------------------------


def summary_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    cc = results.get("createcase")
    if cc:
        for name, value in cc["median_ok_per_s"].items():
            rows.append((f"CreateCase/s {name} (median)", f"{value:,.0f}", "", ""))
        for name, value in cc["median_server_cpu_us_per_request"].items():
            rows.append((f"server CPU per CreateCase, {name}", f"{value:,.0f} us", "", ""))
        for name, value in cc["ratios"].items():
            target = f">= {TARGET_CREATE_VS_MOTO:g}x" if name.endswith("moto") else ""
            ok = verdict(value is not None and value >= TARGET_CREATE_VS_MOTO) if target else ""
            rows.append((f"ratio {name}", f"{value}x", target, ok))
    dur = results.get("durability")
    if dur:
        for name, d in dur.items():
            rows.append(
                (
                    f"kill -9 under load, {name}",
                    f"acknowledged {d['acknowledged']}, present {d['present']}",
                    "all present",
                    verdict(d["missing"] == 0 and d["acknowledged"] > 0),
                )
            )
    desc = results.get("describe")
    if desc:
        small, large = desc["counts"]
        for kind, label in (("first", "first page"), ("deep", f"page {results_deep(desc)}")):
            a = desc["median_ms"][str(small)][kind]
            b = desc["median_ms"][str(large)][kind]
            rows.append((f"DescribeCases {label}, {small:,} cases", f"{a:.2f} ms", "", ""))
            rows.append((f"DescribeCases {label}, {large:,} cases", f"{b:.2f} ms", "", ""))
            value = desc["ratios"][label]
            rows.append(
                (
                    f"ratio {label} {large:,} / {small:,}",
                    f"{value}x",
                    f"<= {TARGET_DESCRIBE_RATIO:g}x",
                    verdict(value is not None and value <= TARGET_DESCRIBE_RATIO),
                )
            )
        mid = desc["middle_page"]
        rows.append(
            (
                f"DescribeCases page {mid['page']:,} (middle), {large:,} cases",
                f"{mid['median_ms']:.2f} ms",
                "",
                "",
            )
        )
        under = desc["under_load"]
        for count, value in under["median_ok_per_s"].items():
            rows.append(
                (
                    f"DescribeCases/s under load, {int(count):,} cases",
                    f"{value:,.0f}",
                    "",
                    "",
                )
            )
    rss = results.get("rss")
    if rss:
        large = rss["counts"][1]
        rows.append(
            (
                f"server RSS with {large:,} cases",
                f"{rss['after_describe_mb']:.1f} MB",
                f"< {TARGET_RSS_MB:g} MB",
                verdict(rss["after_describe_mb"] < TARGET_RSS_MB),
            )
        )
    st = results.get("startup")
    if st:
        rows.append(("start-up to /healthz (median)", f"{st['median_healthz_s']:.3f} s", "", ""))
        rows.append(
            (
                "start-up to DescribeServices (median)",
                f"{st['median_describe_services_s']:.3f} s",
                f"< {TARGET_STARTUP_S:g} s",
                verdict(st["median_describe_services_s"] < TARGET_STARTUP_S),
            )
        )
    return rows


def results_deep(desc: dict[str, Any]) -> int:
    return int(desc["deep_page"])


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    header = ("figure", "measured", "target", "")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


# --- main ----------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated parts to run: {', '.join(PARTS)} (rss = describe)",
    )
    parser.add_argument("--quick", action="store_true", help="smaller numbers, fewer rounds")
    parser.add_argument("--rounds", type=int, help="rounds per measurement")
    parser.add_argument("--duration", type=int, help="seconds of load per CreateCase round")
    parser.add_argument("--connections", type=int, help="concurrent connections for CreateCase")
    parser.add_argument(
        "--cases", type=int, help="the large case count for DescribeCases (default 1,000,000)"
    )
    parser.add_argument(
        "--targets",
        help=(
            "createcase: only these of supportd-w1, supportd-w2, moto, bare-w1, bare-w2,"
            " baseline-w1"
        ),
    )
    parser.add_argument(
        "--loadgen", choices=("auto", "wrk", "python"), default="auto", help="load generator"
    )
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="createcase: also run the code exported to this directory (git archive REV src"
        " | tar -x -C DIR) as baseline-w1, interleaved with supportd-w1",
    )
    parser.add_argument("--work-dir", type=Path, help="where data dirs and logs go (kept)")
    parser.add_argument("--results-dir", type=Path, default=common.BENCH / "results")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    overrides: dict[str, Any] = {}
    if args.rounds:
        overrides["rounds"] = args.rounds
    if args.duration:
        overrides["duration"] = args.duration
    if args.connections:
        overrides["connections"] = args.connections
    if args.cases:
        overrides["describe_counts"] = (settings.describe_counts[0], args.cases)
    if overrides:
        settings = Settings(**{**settings.__dict__, **overrides})
    wanted = [p.strip() for p in args.only.split(",") if p.strip()] or list(PARTS)
    parts = []
    for name in wanted:
        name = ALIASES.get(name, name)
        if name not in PARTS:
            raise SystemExit(f"unknown part {name!r}; parts: {', '.join(PARTS)}, rss")
        if name not in parts:
            parts.append(name)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    keep = args.work_dir is not None
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="supportd-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(settings, args, work)
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "quick": args.quick,
        "settings": settings.__dict__,
        "parts": parts,
        "git_commit": _git_commit(),
        "supportd_source": str(Path(supportd.__file__).parent),
        "machine": {
            "cpus": _cpus(),
            "python": platform.python_version(),
            "loadavg_at_start": common.loadavg(),
        },
        "loadgen": {"generator": bench.generator, "wrk": _wrk_version()},
    }
    log(f"supportd bench: parts {', '.join(parts)}; load generator {bench.generator}; work {work}")
    try:
        for part in parts:
            log(f"[{part}] load average {common.loadavg()}")
            part_started = time.perf_counter()
            outcome = getattr(bench, part)()
            if part == "describe":
                results.update(outcome)
            else:
                results[part] = outcome
            results.setdefault("seconds", {})[part] = round(time.perf_counter() - part_started, 1)
    finally:
        common.stop_all()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    results["machine"]["loadavg_at_end"] = common.loadavg()
    results["summary"] = [
        {"figure": f, "measured": m, "target": t, "verdict": v}
        for f, m, t, v in summary_rows(results)
    ]
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(
        f"supportd bench {results['git_commit']}, {'quick' if args.quick else 'full'} run,"
        f" {settings.rounds} rounds, load generator {bench.generator},"
        f" load average {results['machine']['loadavg_at_start']} ->"
        f" {results['machine']['loadavg_at_end']}"
    )
    print_table(summary_rows(results))
    print(f"\nresults: {out}")
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
