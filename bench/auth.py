"""The cost of signature verification: CreateCase throughput with `--auth sigv4` against
`--auth open`, in the same run, rounds interleaved (target: sigv4 at least 85% of open).

    python bench/auth.py                    # 5 rounds of 5 s, 32 connections
    python bench/auth.py --rounds 3 --duration 2
    python bench/auth.py --workers 2

Two servers run side by side (fresh data dirs, `--limits none` on both so that no quota
or throttle is measured, only authentication): one in open mode, one in SigV4 mode
with an enterprise account and a key made through `supportd accounts|keys create`.
Requests are boto3's own: a boto3 client with the real key serialises and signs each
CreateCase for the server's address, and the request is captured instead of sent. A
set of distinct signed requests (different subjects, so different bodies and
signatures) is made in advance (a signature stays valid for 15 minutes) and wrk sends
them round-robin (post_many.lua); the SigV4 server verifies every one. The open server
gets the same set signed with a 12-digit key id (its account). Every request is a
real CreateCase that commits a case.

Figures per server: HTTP 200 answers per second (median of rounds), p50 latency, and
server CPU per request; then the ratio sigv4 / open of the medians.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import common
from common import ACCOUNT, CREATE_CASE, VENV_BIN, log, median, ratio

TARGET_RATIO = 0.85
LUA_SCRIPT = common.BENCH / "post_many.lua"
RESIGN_AFTER_S = 600  # signatures are valid for 15 minutes; make new ones well before


class _Captured(Exception):
    pass


def signed_requests(port: int, key_id: str, secret: str, count: int) -> bytes:
    """`count` CreateCase requests as boto3 sends them to 127.0.0.1:port, raw HTTP, each
    preceded by a line with its length (the format post_many.lua reads)."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "support",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )
    captured: list[tuple[dict[str, str], bytes]] = []

    def grab(request: Any, **_: Any) -> None:
        headers = {
            k: v.decode() if isinstance(v, bytes) else str(v) for k, v in request.headers.items()
        }
        body = request.body
        captured.append((headers, body.encode() if isinstance(body, str) else bytes(body or b"")))
        raise _Captured

    client.meta.events.register_first("before-send.support.*", grab)
    out = bytearray()
    for n in range(count):
        with contextlib.suppress(_Captured):
            client.create_case(**{**CREATE_CASE, "subject": f"{CREATE_CASE['subject']} #{n}"})
        headers, body = captured.pop()
        head = f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        head += "".join(
            f"{k}: {v}\r\n"
            for k, v in headers.items()
            if k.lower() not in ("host", "content-length")
        )
        head += f"Content-Length: {len(body)}\r\n\r\n"
        raw = head.encode() + body
        out += f"{len(raw)}\n".encode() + raw
    return bytes(out)


def wrk(port: int, requests_file: Path, duration: int, connections: int) -> dict[str, Any]:
    completed = subprocess.run(
        [
            "wrk",
            "-t",
            "1",
            "-c",
            str(connections),
            "-d",
            f"{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA_SCRIPT),
            f"http://127.0.0.1:{port}/",
        ],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "BENCH_REQUESTS_FILE": str(requests_file)},
        timeout=duration + 60,
        check=False,
    )
    match = re.search(r"^BENCH_RESULT (\{.*\})$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr[-2000:]}")
    raw = json.loads(match.group(1))
    duration_s = raw["duration_us"] / 1e6
    ok = raw["requests"] - raw["status_errors"]
    return {
        "requests": raw["requests"],
        "ok": ok,
        "ok_per_s": round(ok / duration_s, 1),
        "status_errors": raw["status_errors"],
        "socket_errors": raw["connect_errors"] + raw["read_errors"] + raw["write_errors"],
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "duration_s": duration_s,
    }


def admin(data_dir: Path, *args: str) -> Any:
    completed = subprocess.run(
        [str(VENV_BIN / "supportd"), *args, "--json", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=common.clean_env(),
        check=True,
    )
    return json.loads(completed.stdout)


def server(name: str, data_dir: Path, logs: Path, workers: int, auth: str) -> common.Server:
    s = common.supportd(name, data_dir, workers, logs)
    s.args += ["--auth", auth, "--limits", "none"]
    return s


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5, help="seconds of load per round")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--distinct", type=int, default=1000, help="distinct signed requests")
    parser.add_argument("--results-dir", type=Path, default=common.BENCH / "results")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("bench/auth.py needs wrk (apt-get install wrk)")

    work = Path(tempfile.mkdtemp(prefix="supportd-bench-auth-"))
    logs = work / "logs"
    started = datetime.now(UTC)
    account = "123456789012"
    sigv4_dir = work / "sigv4" / "data"
    admin(
        sigv4_dir,
        "accounts",
        "create",
        account,
        "--email",
        "bench@example.com",
        "--plan",
        "enterprise",
    )
    key = admin(sigv4_dir, "keys", "create", "--account", account, "--user", "bench")
    servers = {
        "open": server("open", work / "open" / "data", logs, args.workers, "open"),
        "sigv4": server("sigv4", sigv4_dir, logs, args.workers, "sigv4"),
    }
    credentials = {
        "open": (ACCOUNT, "not-checked-in-open-mode"),
        "sigv4": (key["accessKeyId"], key["secretAccessKey"]),
    }
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    files = {name: work / f"{name}.requests" for name in servers}
    signed_at = 0.0

    def sign_all() -> None:
        nonlocal signed_at
        for name, s in servers.items():
            files[name].write_bytes(signed_requests(s.port, *credentials[name], args.distinct))
        signed_at = time.monotonic()

    try:
        for s in servers.values():
            s.start()
        for s in servers.values():
            s.wait_ready(common.healthz)
        sign_all()
        for name, s in servers.items():
            warm = wrk(s.port, files[name], args.warmup, args.connections)
            if warm["status_errors"]:
                raise RuntimeError(f"{name}: {warm['status_errors']} non-200 answers in warm-up")
        for index in range(args.rounds):
            if time.monotonic() - signed_at > RESIGN_AFTER_S:
                sign_all()
            for name, s in servers.items():  # interleaved: noise hurts both alike
                cpu_before = s.cpu_seconds()
                result = wrk(s.port, files[name], args.duration, args.connections)
                cpu = s.cpu_seconds() - cpu_before
                result["server_cpu_us_per_request"] = round(cpu / max(result["ok"], 1) * 1e6, 1)
                rounds[name].append(result)
                log(
                    f"  round {index + 1}/{args.rounds} {name:6s} {result['ok_per_s']:9.1f}/s ok,"
                    f" {result['server_cpu_us_per_request']:6.1f} us server CPU each,"
                    f" p50 {result['p50_ms']:.2f} ms, non-200 {result['status_errors']}"
                )
    finally:
        common.stop_all()
        shutil.rmtree(work, ignore_errors=True)

    medians = {n: median(r["ok_per_s"] for r in rs) for n, rs in rounds.items()}
    cpu = {n: median(r["server_cpu_us_per_request"] for r in rs) for n, rs in rounds.items()}
    p50 = {n: median(r["p50_ms"] for r in rs) for n, rs in rounds.items()}
    result = {
        "started": started.isoformat(timespec="seconds"),
        "settings": vars(args) | {"results_dir": str(args.results_dir)},
        "loadavg": common.loadavg(),
        "rounds": rounds,
        "median_ok_per_s": medians,
        "median_server_cpu_us_per_request": cpu,
        "median_p50_ms": p50,
        "non_200": {n: sum(r["status_errors"] for r in rs) for n, rs in rounds.items()},
        "ratio_sigv4_over_open": ratio(medians["sigv4"], medians["open"]),
        "target_ratio": TARGET_RATIO,
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"auth-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    verdict = "ok" if (result["ratio_sigv4_over_open"] or 0) >= TARGET_RATIO else "BELOW TARGET"
    print(
        f"CreateCase, {args.workers} worker(s), {args.rounds} rounds of {args.duration} s,"
        f" {args.connections} connections, load average now {common.loadavg()}"
    )
    for name in servers:
        print(
            f"  {name:6s} median {medians[name]:9.1f} ok/s, {cpu[name]:6.1f} us server CPU"
            f" per request, p50 {p50[name]:.2f} ms, non-200 {result['non_200'][name]}"
        )
    print(f"  sigv4 / open = {result['ratio_sigv4_over_open']} (target {TARGET_RATIO}: {verdict})")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
