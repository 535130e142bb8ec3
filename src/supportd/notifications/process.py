"""The delivery process: `supportd serve` runs the notification worker in a child
process of its own, at a higher niceness, instead of inside the API's processes.

Why: delivering (an SMTP conversation, MIME, an HTTP request, the outbox's
transactions) costs CPU that, in the API's process, competes with the requests on
the same event loop. In a process of its own at a lower CPU priority, the kernel gives
the API what it needs first and delivery what is left; when the API is idle, delivery
still runs at once (niceness lowers a share of the CPU, not the latency of an idle
machine). The worker is the same leased-job worker either way: each message is
handled by one node, and a kill -9 of either process loses nothing.

The child dies with its parent (PR_SET_PDEATHSIG on Linux, and a check of the parent
id every second elsewhere): a `serve` killed with -9 leaves no deliverer behind. The
parent starts the child again if it exits on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import logging.config
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from supportd import config as config_module
from supportd import logs, runtime
from supportd.config import Config
from supportd.notifications.dispatcher import Dispatcher
from supportd.operations import attachments
from supportd.operations.context import Context
from supportd.reference import catalogue
from supportd.worker import PoolWorker

log = logging.getLogger("supportd.notifications")

PARENT_ENV = "SUPPORTD_DELIVERY_PARENT_PID"  # not a setting: set by the parent only
# Not a setting either: serve tells its API workers that this node's delivery process
# runs beside them, with the same channel settings as theirs.
BESIDE_ENV = "SUPPORTD_DELIVERY_BESIDE"
PR_SET_PDEATHSIG = 1
RESTART_DELAY_S = 1.0
STOP_TIMEOUT_S = 40.0  # the jobs in flight finish within their timeout


class DeliveryProcess:
    """The parent's handle: start the child, start it again if it dies, stop it."""

    def __init__(self, environ: dict[str, str], nice: int) -> None:
        self._environ = {**environ, PARENT_ENV: str(os.getpid())}
        self._nice = nice
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    def start(self) -> DeliveryProcess:
        self._spawn()
        self._watcher = threading.Thread(
            target=self._watch, name="supportd-delivery-watch", daemon=True
        )
        self._watcher.start()
        return self

    def _spawn(self) -> None:
        with self._lock:
            if not self._stopping.is_set():
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "supportd.notifications.process"], env=self._environ
                )
                # From here, not in the child: its imports at start yield to the API too.
                with contextlib.suppress(OSError):  # gone already: the watcher sees it
                    os.setpriority(
                        os.PRIO_PROCESS,
                        self._process.pid,
                        os.getpriority(os.PRIO_PROCESS, 0) + self._nice,
                    )

    def _watch(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            code = process.wait()
            if self._stopping.wait(RESTART_DELAY_S):
                return
            log.warning("the delivery process exited (%s); starting it again", code)
            self._spawn()

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _die_with_parent(parent: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def delivery(ctx: Context) -> tuple[Dispatcher, PoolWorker]:
    """The channels and the worker that delivers through them, not started. Deliveries
    wait on other servers, so their worker runs many at once."""
    config = ctx.config
    dispatcher = Dispatcher(
        ctx, lambda: runtime.open_secret_box(config), lambda: attachments.link_key(config)
    )
    worker = PoolWorker(
        ctx,
        dispatcher.kinds(),
        dispatcher.periodic(),
        config.worker_poll_ms / 1000,
        config.notify_concurrency,
    )
    return dispatcher, worker


async def run(config: Config, parent: int) -> None:
    """Deliver until SIGTERM or SIGINT, or until the parent is gone."""
    store = runtime.open_store(config, lazy_commits=True)
    await store.open()
    ctx = Context(
        config=config,
        catalogue=catalogue.load(config.reference_dir),
        store=store,
        clock=runtime.open_clock(config),
    )
    dispatcher, worker = delivery(ctx)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    worker.start()
    try:
        while not stop.is_set() and os.getppid() == parent:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        await worker.stop()
        await dispatcher.close()
        await store.close()


def main() -> None:
    parent = int(os.environ.get(PARENT_ENV, "0"))
    _die_with_parent(parent)
    config = config_module.from_environ()
    logging.config.dictConfig(logs.logging_config(config.log_level, config.log_format))
    runner: Any
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency of serve
        runner = asyncio.run
    runner(run(config, parent))


if __name__ == "__main__":
    main()
