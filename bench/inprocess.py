"""CPU per API call with the app driven in process: no sockets, no load generator, so
the figure is the application's own (the event loop thread and the SQLite writer
thread, separately), steadier on a busy machine than anything over HTTP.

    python bench/inprocess.py                           # CreateCase, 6,000 calls
    python bench/inprocess.py --calls 30000 --profile   # cProfile of the event loop
    python bench/inprocess.py --operation DescribeCommunications --communications 10000
    PYTHONPATH=/tmp/base/src python bench/inprocess.py  # another commit's code

`create_app` on a fresh data dir (default settings, SQLite), its lifespan started, and
32 concurrent loops each calling the ASGI app with the bytes boto3 sends (the same
request as `run.py`). DescribeCommunications reads the first page (maxResults 100) of
one case that --communications AddCommunicationToCase calls, made through the app
before the warm-up, gave that many communications. After a warm-up, CPU time is read
per thread from
/proc/self/task (the writer thread's SQLite work happens with the GIL released, so a
`--gil` profile does not show it) and divided by the number of calls.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import json
import pstats
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import common
import uvloop

from supportd import config as config_module
from supportd import runtime
from supportd.http.app import create_app

LOOPS = 32
WARMUP_PER_LOOP = 50


def _scope(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    raw += [(b"host", b"127.0.0.1:8080"), (b"content-length", str(len(body)).encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }


def _thread_ticks() -> dict[str, int]:
    """CPU ticks (user + system) per thread name."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    ticks: collections.Counter[str] = collections.Counter()
    for task in Path("/proc/self/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        ticks[names.get(int(task.name), "other")] += int(fields[11]) + int(fields[12])
    return dict(ticks)


async def _measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="supportd-inprocess-") as data:
        await _measure_in(args, Path(data))


async def _measure_in(args: argparse.Namespace, data: Path) -> None:
    config = config_module.from_environ(overrides={"data_dir": data})
    app = create_app(config, runtime.open_store(config))

    async def call(request: tuple[dict[str, str], bytes]) -> bytes:
        headers, body = request
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(_scope(headers, body), receive, send)
        if sent[0]["status"] != 200:
            raise SystemExit(f"answer {sent[0]['status']}: {sent[1]['body']!r}")
        return b"".join(m.get("body", b"") for m in sent[1:])

    async with app.router.lifespan_context(app):
        measured = await _prepare(args, call)
        await _run(args, lambda: call(measured))


async def _prepare(
    args: argparse.Namespace,
    call: Callable[[tuple[dict[str, str], bytes]], Awaitable[bytes]],
) -> tuple[dict[str, str], bytes]:
    """The request to measure, after making what it reads."""
    create = common.boto3_request("CreateCase", common.CREATE_CASE)
    if args.operation == "CreateCase":
        return create
    case_id = json.loads(await call(create))["caseId"]
    reply = common.boto3_request(
        "AddCommunicationToCase",
        {"caseId": case_id, "communicationBody": common.CREATE_CASE["communicationBody"]},
    )
    for _ in range(args.communications - 1):
        await call(reply)
    return common.boto3_request("DescribeCommunications", {"caseId": case_id, "maxResults": 100})


async def _run(args: argparse.Namespace, call: Callable[[], Awaitable[bytes]]) -> None:
    async def loop(calls: int) -> None:
        for _ in range(calls):
            await call()

    await asyncio.gather(*(loop(WARMUP_PER_LOOP) for _ in range(LOOPS)))
    per_loop = args.calls // LOOPS
    profile = cProfile.Profile(time.thread_time) if args.profile else None
    before, cpu, wall = _thread_ticks(), time.process_time(), time.perf_counter()
    if profile is not None:
        profile.enable()
    await asyncio.gather(*(loop(per_loop) for _ in range(LOOPS)))
    if profile is not None:
        profile.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    after = _thread_ticks()
    calls = per_loop * LOOPS
    threads = {
        name: round((ticks - before.get(name, 0)) * 1e4 / calls, 1)  # 100 ticks per second
        for name, ticks in after.items()
    }
    print(
        f"{args.operation}: {calls} calls, {cpu / calls * 1e6:.1f} us CPU each"
        f" ({calls / wall:.0f}/s); per thread (us per call): {threads}"
    )
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(40)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=6000)
    parser.add_argument(
        "--operation", default="CreateCase", choices=["CreateCase", "DescribeCommunications"]
    )
    parser.add_argument(
        "--communications",
        type=int,
        default=10,
        help="DescribeCommunications: how many the case has",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the event loop thread")
    uvloop.run(_measure(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
