"""Start a real `supportd serve` process on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

STARTUP_TIMEOUT_S = 20.0


# The server key of every PostgreSQL test node (32 bytes in base64; a test value).
TEST_SERVER_KEY = "c3VwcG9ydGQtdGVzdHMtc2VydmVyLWtleS0zMmJ5dGU="


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def supportd_executable() -> str:
    candidate = Path(sys.executable).with_name("supportd")
    return str(candidate) if candidate.exists() else "supportd"


@dataclass
class ServerProcess:
    data_dir: Path  # the SQLite store, unless database_url is set; logs go next to it
    extra_args: list[str] = field(default_factory=list)
    env: Mapping[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    database_url: str = ""  # a postgresql:// URL: serve from PostgreSQL (--database)
    umask: int = -1  # the server process's umask (-1: inherited)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        self.port = self.port or free_port()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")}
        if self.database_url:
            # PostgreSQL nodes must be given their (shared) server key.
            env["SUPPORTD_SERVER_KEY"] = TEST_SERVER_KEY
        env.update(self.env)
        args = [
            supportd_executable(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *(["--database", self.database_url] if self.database_url else []),
            *self.extra_args,
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=env, umask=self.umask
            )
        self.wait_healthy()
        return self

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"supportd exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"supportd did not become healthy:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self.process = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)
