"""Closed-loop HTTP load: N keep-alive connections, each sending the next request as soon
as the previous answer arrives, for a fixed time.

`wrk` (C, one thread per core) is preferred so that the generator is not what limits the
figure; without it a Python generator (asyncio on raw sockets, in two processes) stands
in, and the results say which one ran.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

LUA_SCRIPT = Path(__file__).resolve().parent / "post.lua"
PY_PROCESSES = 2


def available(generator: str) -> str:
    """The generator to use: 'wrk' or 'python'."""
    if generator == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if generator == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk), use --loadgen python")
    return generator


def run(
    port: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    duration: int,
    connections: int,
    generator: str = "auto",
    threads: int = 1,
    ids_dir: Path | None = None,
) -> dict[str, Any]:
    """Drive POST / for `duration` seconds; counts, rate of HTTP 200s and latencies."""
    generator = available(generator)
    if generator == "wrk":
        result = _run_wrk(port, headers, body, duration, connections, threads, ids_dir)
    else:
        result = _run_python(port, headers, body, duration, connections, ids_dir)
    result["generator"] = generator
    result["connections"] = connections
    result["ok"] = result["requests"] - result["status_errors"]
    result["ok_per_s"] = round(result["ok"] / result["duration_s"], 1)
    return result


# --- wrk ---------------------------------------------------------------------------


def _run_wrk(
    port: int,
    headers: Mapping[str, str],
    body: bytes,
    duration: int,
    connections: int,
    threads: int,
    ids_dir: Path | None,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="supportd-bench-") as tmp:
        headers_file = Path(tmp) / "headers"
        body_file = Path(tmp) / "body"
        headers_file.write_text("".join(f"{k}: {v}\n" for k, v in headers.items()))
        body_file.write_bytes(body)
        env = {
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "BENCH_HEADERS_FILE": str(headers_file),
            "BENCH_BODY_FILE": str(body_file),
            "BENCH_IDS_DIR": str(ids_dir) if ids_dir else "",
        }
        completed = subprocess.run(
            [
                "wrk",
                "-t",
                str(min(threads, connections)),
                "-c",
                str(connections),
                "-d",
                f"{int(duration)}s",
                "--timeout",
                "10s",
                "-s",
                str(LUA_SCRIPT),
                f"http://127.0.0.1:{port}/",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=duration + 60,
            check=False,
        )
    match = re.search(r"^BENCH_RESULT (\{.*\})$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr[-2000:]}")
    raw = json.loads(match.group(1))
    return {
        "requests": raw["requests"],
        "status_errors": raw["status_errors"],
        "socket_errors": raw["connect_errors"] + raw["read_errors"] + raw["write_errors"],
        "timeouts": raw["timeouts"],
        "duration_s": raw["duration_us"] / 1e6,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
    }


# --- Python fallback -----------------------------------------------------------------


def _run_python(
    port: int,
    headers: Mapping[str, str],
    body: bytes,
    duration: int,
    connections: int,
    ids_dir: Path | None,
) -> dict[str, Any]:
    head = f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"Content-Length: {len(body)}\r\n\r\n"
    request = head.encode() + body
    processes = min(PY_PROCESSES, connections)
    shares = [connections // processes + (i < connections % processes) for i in range(processes)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        futures = [
            pool.submit(
                _py_process,
                port,
                request,
                duration,
                share,
                str(ids_dir / f"ids-py-{index}.txt") if ids_dir else None,
            )
            for index, share in enumerate(shares)
        ]
        parts = [future.result() for future in futures]
    latencies = sorted(x for part in parts for x in part["latencies"])
    return {
        "requests": sum(p["requests"] for p in parts),
        "status_errors": sum(p["status_errors"] for p in parts),
        "socket_errors": sum(p["socket_errors"] for p in parts),
        "timeouts": 0,
        "duration_s": max(p["duration_s"] for p in parts),
        "p50_ms": _percentile(latencies, 50) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
    }


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def _py_process(
    port: int, request: bytes, duration: int, connections: int, ids_path: str | None
) -> dict[str, Any]:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(_py_main(port, request, duration, connections, ids_path))


async def _py_main(
    port: int, request: bytes, duration: int, connections: int, ids_path: str | None
) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "requests": 0,
        "status_errors": 0,
        "socket_errors": 0,
        "latencies": [],
    }
    ids = open(ids_path, "w", buffering=1) if ids_path else None  # noqa: SIM115
    start = time.perf_counter()
    deadline = start + duration
    try:
        await asyncio.gather(
            *(_py_connection(port, request, deadline, stats, ids) for _ in range(connections))
        )
    finally:
        if ids is not None:
            ids.close()
    stats["duration_s"] = time.perf_counter() - start
    return stats


async def _py_connection(
    port: int, request: bytes, deadline: float, stats: dict[str, Any], ids: Any
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.perf_counter() < deadline:
        try:
            if writer is None or reader is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            lowered = head.lower()
            match = re.search(rb"\r\ncontent-length:\s*(\d+)", lowered)
            if match is None:
                raise ValueError("response without Content-Length")
            body = await reader.readexactly(int(match.group(1)))
            stats["latencies"].append(time.perf_counter() - started)
            stats["requests"] += 1
            if status != 200:
                stats["status_errors"] += 1
            elif ids is not None:
                case_id = json.loads(body).get("caseId")
                if case_id:
                    ids.write(case_id + "\n")
            if b"\r\nconnection: close" in lowered:
                writer.close()
                reader = writer = None
        except (OSError, EOFError, ValueError, asyncio.LimitOverrunError):
            stats["socket_errors"] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
