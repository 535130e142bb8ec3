"""Do notifications slow the API? CreateCase throughput of a server with a webhook and
SMTP configured against the same server without them, side by side; then the delivery
latency from commit to receiver. Printed as JSON.

    python bench/notifications.py [--stores sqlite,postgresql] [--rounds 3]
                                  [--duration 3] [--connections 16] [--latency-cases 100]

Per store, `supportd serve` processes (one worker each, open mode): `plain` (no
channel configured), `notify` (--smtp-url to an aiosmtpd server and a webhook to an
HTTP receiver, both in this process, both answering at once; it delivers while under
load) and `split` (the same, with --no-notify-worker: a second process on the same
store delivers). Rounds of closed-loop CreateCase load (boto3's own request, two CC
addresses) rotate between them, so a busy minute on the shared machine hurts all alike;
the figures are medians over rounds. After each round of `notify` or `split`, the
benchmark waits until the receivers have every notification of that round, so that
delivery's CPU is counted in that round (the server's processes', the delivery
process included, and for `split` the delivering server's too) and never taken from
another server's round; `delivered_after_load_s` is how long that took. Every server
writes the outbox rows (part of every change now). Then, with the load stopped and
the outbox drained, --latency-cases cases are created one at a time on `notify`: the
delivery latency is the time from the API's answer (the commit is just before it) to
the receiver's arrival, per channel.
The issue-12 targets: throughput within 10 %, delivery p50 under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import json
import statistics
import subprocess
import tempfile
import threading
import time
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import common
import loadgen
from aiosmtpd.controller import Controller

SERVER_KEY = "YmVuY2gtbm90aWZpY2F0aW9ucy1zZXJ2ZXIta2V5LTE="
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


class _Server(ThreadingHTTPServer):
    # The standard library's backlog of 5 drops connections beyond it (the client then
    # waits a second to retry): a real receiver takes many at once.
    request_queue_size = 128
    daemon_threads = True
    allow_reuse_address = True


class Arrivals:
    """What each receiver got and when. Kept raw and parsed only when read: parsing a
    MIME message per arrival in this process would take CPU from the servers under
    test during the load (on the real thing, receivers run elsewhere)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.raw: dict[str, list[tuple[float, bytes]]] = {"webhook": [], "email": []}
        self._first: dict[str, dict[str, float]] = {"webhook": {}, "email": {}}
        self._parsed = {"webhook": 0, "email": 0}

    def arrived(self, channel: str, raw: bytes) -> None:
        now = time.perf_counter()
        with self.lock:
            self.raw[channel].append((now, raw))

    def count(self) -> dict[str, int]:
        with self.lock:
            return {channel: len(got) for channel, got in self.raw.items()}

    def first(self, channel: str) -> dict[str, float]:
        """When each case's notification first arrived on the channel."""
        with self.lock:
            got = self.raw[channel][self._parsed[channel] :]
        self._parsed[channel] += len(got)
        parse = _webhook_case if channel == "webhook" else _mail_case
        at = self._first[channel]
        for when, raw in got:
            at.setdefault(parse(raw), when)
        return at


def _webhook_case(raw: bytes) -> str:
    return str(json.loads(raw)["detail"]["case-id"])


def _mail_case(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    body = message.get_body(("plain",)) if isinstance(message, EmailMessage) else None
    text = body.get_content() if body is not None else ""
    marker = "Case ID: "
    start = text.find(marker)
    return str(text[start + len(marker) :].split()[0]) if start >= 0 else "?"


def webhook_receiver(arrivals: Arrivals) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as a real receiver would: HTTP/1.0 closed every connection.
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            arrivals.arrived("webhook", self.rfile.read(length))
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

    server = _Server(("127.0.0.1", common.free_port()), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class MailHandler:
    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.arrivals.arrived("email", envelope.content)
        return "250 OK"


def round_ratios(values: list[float], base: list[float]) -> dict[str, Any]:
    ratios = [round(v / b, 3) for v, b in zip(values, base, strict=True) if b]
    return {"rounds": ratios, "median": round(statistics.median(ratios), 3) if ratios else None}


def wait_for_arrivals(arrivals: Arrivals, expected: int, limit_s: float = 300) -> float:
    """Seconds until every channel has `expected` arrivals (or the limit)."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        if min(arrivals.count().values()) >= expected:
            break
        time.sleep(0.2)
    else:
        common.log(f"still short of {expected} notifications after {limit_s} s")
    return time.monotonic() - started


def store_args(kind: str, name: str, base: Path) -> list[str]:
    if kind == "sqlite":
        return ["--data-dir", str(base / name)]
    import asyncpg

    database = f"bench_notify_{name}_{int(time.time())}"

    async def create() -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return ["--database", ADMIN_URL.rsplit("/", 1)[0] + "/" + database]


def supportd_cli(*args: str) -> str:
    env = {**common.clean_env(), "SUPPORTD_SERVER_KEY": SERVER_KEY}
    done = subprocess.run(
        [str(common.VENV_BIN / "supportd"), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"supportd {' '.join(args)}: {done.stderr}")
    return done.stdout


def start_server(name: str, args: list[str], extra: list[str], logs: Path) -> common.Server:
    port = common.free_port()
    server = common.Server(
        name,
        [
            str(common.VENV_BIN / "supportd"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *args,
            *extra,
        ],
        port,
        logs / f"{name}-{port}.log",
        env={**common.clean_env(), "SUPPORTD_SERVER_KEY": SERVER_KEY},
    ).start()
    server.wait_ready(common.healthz)
    return server


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p90_ms": round(ordered[int(len(ordered) * 0.9) - 1] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def bench_store(kind: str, opts: argparse.Namespace, base: Path) -> dict[str, Any]:
    arrivals = Arrivals()
    receiver = webhook_receiver(arrivals)
    smtp_port = common.free_port()
    smtp = Controller(MailHandler(arrivals), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    plain_args = store_args(kind, "plain", base)
    notify_args = store_args(kind, "notify", base)
    for args in (plain_args, notify_args):
        supportd_cli("migrate", *args)
    supportd_cli(
        "webhooks",
        "create",
        "--url",
        f"http://127.0.0.1:{receiver.server_address[1]}/hook",
        "--secret",
        "bench-webhook-secret-0123456789",
        *notify_args,
    )
    notify_extra = [
        "--smtp-url",
        f"smtp://127.0.0.1:{smtp_port}",
        "--mail-from",
        "Support <support@example.com>",
    ]
    split_args = store_args(kind, "split", base)
    supportd_cli("migrate", *split_args)
    supportd_cli(
        "webhooks",
        "create",
        "--url",
        f"http://127.0.0.1:{receiver.server_address[1]}/hook",
        "--secret",
        "bench-webhook-secret-0123456789",
        *split_args,
    )
    plain = start_server(f"plain-{kind}", plain_args, [], base)
    notify = start_server(f"notify-{kind}", notify_args, notify_extra, base)
    # The same, with deliveries left to a second process on the same store.
    split = start_server(f"split-{kind}", split_args, [*notify_extra, "--no-notify-worker"], base)
    deliverer = start_server(f"deliverer-{kind}", split_args, notify_extra, base)
    headers, body = common.boto3_request("CreateCase", common.CREATE_CASE)
    targets = [("plain", plain), ("notify", notify), ("split", split)]
    # Whose CPU a server's CreateCase costs: split's deliveries are made by `deliverer`.
    spent = {"plain": [plain], "notify": [notify], "split": [split, deliverer]}
    rates: dict[str, list[float]] = {label: [] for label, _ in targets}
    cpu_us: dict[str, list[float]] = {label: [] for label, _ in targets}
    drain_s: dict[str, list[float]] = {"notify": [], "split": []}
    expected = 0  # notifications per channel the receivers must have got by now
    try:
        for round_number in range(opts.rounds):
            order = targets[round_number % 3 :] + targets[: round_number % 3]
            for label, server in order:
                cpu_before = sum(s.cpu_seconds() for s in spent[label])
                result = loadgen.run(
                    server.port,
                    headers,
                    body,
                    duration=opts.duration,
                    connections=opts.connections,
                    generator=opts.loadgen,
                )
                rates[label].append(result["ok_per_s"])
                # The round's notifications are delivered before the next round starts:
                # their CPU is counted here, and never taken from another server's round.
                if label == "plain":
                    time.sleep(1)  # its outbox events fanned out to no one
                else:
                    expected += result["ok"]
                    drain_s[label].append(wait_for_arrivals(arrivals, expected))
                used = sum(s.cpu_seconds() for s in spent[label]) - cpu_before
                cpu_us[label].append(round(used / max(1, result["ok"]) * 1e6, 1))
                common.log(f"{kind} round {round_number + 1} {label}: {result['ok_per_s']}/s")
        # Let the backlog of the load drain before timing single deliveries.
        deadline = time.monotonic() + 300
        backlog_drained_s = None
        started = time.monotonic()
        while time.monotonic() < deadline:
            pending = json.loads(
                supportd_cli("outbox", "list", "--status", "pending", "--json", *notify_args)
            )["deliveries"]
            if not pending:
                backlog_drained_s = round(time.monotonic() - started, 1)
                break
            time.sleep(1)
        latencies: dict[str, list[float]] = {"webhook": [], "email": []}
        for channel in latencies:  # the load's arrivals parsed now, not while timing
            arrivals.first(channel)
        answered: dict[str, float] = {}
        for _ in range(opts.latency_cases):
            answer = common.call(notify.port, "CreateCase", common.CREATE_CASE)
            answered[answer["caseId"]] = time.perf_counter()
            time.sleep(0.05)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            firsts = {channel: arrivals.first(channel) for channel in latencies}
            if all(c in firsts["webhook"] and c in firsts["email"] for c in answered):
                break
            time.sleep(0.5)
        for channel in latencies:
            first = arrivals.first(channel)
            for case_id, at in answered.items():
                if case_id in first:
                    latencies[channel].append(first[case_id] - at)
        medians = {label: statistics.median(values) for label, values in rates.items()}
        return {
            "store": kind,
            "createcase_per_s": rates,
            "median_per_s": medians,
            "notify_over_plain": round(medians["notify"] / medians["plain"], 3),
            "split_over_plain": round(medians["split"] / medians["plain"], 3),
            # Each round's ratio, then their median: a busy minute on the shared machine
            # hits the servers of one round alike, and not those of other rounds.
            "notify_over_plain_by_round": round_ratios(rates["notify"], rates["plain"]),
            "split_over_plain_by_round": round_ratios(rates["split"], rates["plain"]),
            "server_cpu_us_per_createcase": {
                label: statistics.median(values) for label, values in cpu_us.items()
            },
            "delivered_after_load_s": {
                label: round(statistics.median(values), 1) for label, values in drain_s.items()
            },
            "backlog_drained_after_s": backlog_drained_s,
            "notifications_received": arrivals.count(),
            "delivery_latency": {c: percentiles(v) for c, v in latencies.items()},
        }
    finally:
        for server in (plain, notify, split, deliverer):
            server.stop()
        smtp.stop()
        receiver.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--latency-cases", type=int, default=100)
    parser.add_argument("--loadgen", default="auto")
    opts = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp:
        for kind in opts.stores.split(","):
            results.append(bench_store(kind, opts, Path(tmp) / kind))
    print(json.dumps({"loadavg": common.loadavg(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
