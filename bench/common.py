"""Shared by the benchmark parts: server processes, boto3-shaped requests, statistics."""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = Path(sys.executable).parent
ACCOUNT = "111122223333"
TARGET_PREFIX = "AWSSupport_20130415"

# A realistic CreateCase, as a customer's automation would send it.
CREATE_CASE = {
    "subject": "EC2 instance i-0a1b2c3d4e5f67890 unreachable after scheduled reboot",
    "serviceCode": "amazon-elastic-compute-cloud-linux",
    "categoryCode": "instance-issue",
    "severityCode": "low",
    "communicationBody": (
        "Hello, our production instance i-0a1b2c3d4e5f67890 (m5.large, us-east-1a) stopped "
        "answering SSH and HTTP health checks right after the scheduled maintenance reboot "
        "at 03:00 UTC. The system status check passes but the instance status check fails. "
        "We tried a stop/start cycle without success. Could you please check the underlying "
        "host and advise? Thanks, the platform team."
    ),
    "ccEmailAddresses": ["oncall@example.com", "platform-team@example.com"],
    "language": "en",
    "issueType": "technical",
}


# --- processes --------------------------------------------------------------------

_RUNNING: list[Server] = []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")}


@dataclass
class Server:
    """A server process in its own session, so that its workers die with it."""

    name: str
    args: list[str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    launched_at: float = 0.0
    env: Mapping[str, str] = field(default_factory=clean_env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.launched_at = time.perf_counter()
            self.process = subprocess.Popen(
                self.args,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(self.env),
                start_new_session=True,
            )
        _RUNNING.append(self)
        return self

    def wait_ready(self, probe: Callable[[Server], bool], timeout: float = 60.0) -> float:
        """Seconds from launch until `probe` first succeeds."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; log {self.log_path}:\n{self.log()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if probe(self):
                    return time.perf_counter() - self.launched_at
            time.sleep(0.005)
        raise RuntimeError(f"{self.name} not ready after {timeout}s; log {self.log_path}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def pids(self) -> list[int]:
        """The process and its workers (everything in its session)."""
        if self.process is None:
            return []
        sid = self.process.pid
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, ValueError):
                    if os.getsid(int(entry.name)) == sid:
                        found.append(int(entry.name))
        return sorted(found)

    def rss_kb(self) -> int:
        """VmRSS summed over the server's processes."""
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the server's processes."""
        ticks = 0
        for pid in self.pids():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(f"/proc/{pid}/stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def signal_group(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """kill -9 the server and every worker it started."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._forget()

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None:
            return
        self.signal_group(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)
        # Workers left behind by a supervisor that has exited, if any.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._forget()

    def _forget(self) -> None:
        self.process = None
        if self in _RUNNING:
            _RUNNING.remove(self)


def stop_all() -> None:
    for server in list(_RUNNING):
        server.kill()


atexit.register(stop_all)


def supportd(
    name: str, data_dir: Path, workers: int, logs: Path, port: int = 0, source: Path | None = None
) -> Server:
    """`supportd serve`; with `source`, the code under that src/ directory (an export of
    another commit, to compare two versions side by side in one run)."""
    port = port or free_port()
    args = [
        str(VENV_BIN / "supportd"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--workers",
        str(workers),
    ]
    server = Server(name, args, port, logs / f"{name}-{port}.log")
    if source is not None:
        server.env = {**server.env, "PYTHONPATH": str(source)}
    return server


def moto(name: str, logs: Path) -> Server:
    port = free_port()
    args = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    return Server(name, args, port, logs / f"{name}-{port}.log")


def bare(name: str, workers: int, logs: Path) -> Server:
    """bare_app.py under uvicorn, with the options `supportd serve` gives uvicorn."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(BENCH),
        "bare_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--http",
        "httptools",
        "--loop",
        "uvloop",
        "--no-access-log",
        "--no-server-header",
        "--timeout-graceful-shutdown",
        "30",
    ]
    return Server(name, args, port, logs / f"{name}-{port}.log")


# --- requests ---------------------------------------------------------------------


class _Captured(Exception):
    pass


_CLIENTS: dict[str, Any] = {}


def boto3_request(
    operation: str, params: Mapping[str, Any], account: str = ACCOUNT
) -> tuple[dict[str, str], bytes]:
    """The headers and body boto3 itself would send for this call (signed, not sent)."""
    import boto3
    from botocore import xform_name
    from botocore.config import Config

    client = _CLIENTS.get(account)
    if client is None:
        client = boto3.client(
            "support",
            endpoint_url="http://127.0.0.1:9",
            region_name="us-east-1",
            aws_access_key_id=account,
            aws_secret_access_key="bench-secret-not-checked",
            config=Config(retries={"max_attempts": 1}),
        )
        _CLIENTS[account] = client
    captured: dict[str, Any] = {}

    def grab(request: Any, **_: Any) -> None:
        captured["headers"] = {
            k: v.decode() if isinstance(v, bytes) else str(v) for k, v in request.headers.items()
        }
        body = request.body
        captured["body"] = body.encode() if isinstance(body, str) else bytes(body or b"")
        raise _Captured

    client.meta.events.register_first("before-send.support.*", grab)
    try:
        getattr(client, xform_name(operation))(**params)
    except _Captured:
        pass
    finally:
        client.meta.events.unregister("before-send.support.*", grab)
    headers = {
        k: v for k, v in captured["headers"].items() if k.lower() not in ("content-length", "host")
    }
    return headers, captured["body"]


class Connection:
    """One keep-alive HTTP/1.1 connection for sequential, timed requests."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def post(self, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        self.conn.request("POST", "/", body=body, headers=dict(headers))
        response = self.conn.getresponse()
        return response.status, response.read()

    def get(self, path: str) -> tuple[int, bytes]:
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.conn.close()


def call(port: int, operation: str, params: Mapping[str, Any], account: str = ACCOUNT) -> Any:
    """One boto3-shaped call; the decoded JSON answer (raises on a non-200)."""
    headers, body = boto3_request(operation, params, account)
    conn = Connection(port)
    try:
        status, raw = conn.post(headers, body)
    finally:
        conn.close()
    if status != 200:
        raise RuntimeError(f"{operation} answered {status}: {raw[:300]!r}")
    return json.loads(raw)


def healthz(server: Server) -> bool:
    conn = Connection(server.port, timeout=2)
    try:
        return conn.get("/healthz")[0] == 200
    finally:
        conn.close()


def any_http_answer(server: Server) -> bool:
    conn = Connection(server.port, timeout=2)
    try:
        conn.get("/")
        return True
    finally:
        conn.close()


# --- numbers ----------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
