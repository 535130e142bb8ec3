"""`SupportdServer`: a real `supportd serve` for a test suite, and the support side.

    with SupportdServer() as srv:
        support = srv.client(srv.new_account())
        case_id = support.create_case(...)["caseId"]
        srv.reply(case_id, "Could you send the logs?")
        srv.advance_clock(6 * 24 * 3600)         # past auto-resolve

The server runs in its own process on a free loopback port, with a directory of its
own (the SQLite store, the fake clock file, its log) or a PostgreSQL database. Support
acts through the staff API with a staff member the kit makes at start. Accounts with a
plan and (with auth="sigv4") access keys are made in the store through the operations
layer (supportd.testing.store_side), since the API has no call for them.
"""

from __future__ import annotations

import atexit
import base64
import concurrent.futures
import contextlib
import http.client
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supportd.config import Config
    from supportd.testing.store_side import Staff, StoreSide

REGION = "us-east-1"
OPEN_MODE_SECRET = "supportd-open-mode"  # noqa: S105 (open mode checks no secret)
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
CLOCK_TIMEOUT_S = 30.0
HTTP_TIMEOUT_S = 60.0
PORT_ATTEMPTS = 3

# What the kit sets unless told otherwise: a worker that notices the clock moving within
# a tenth of a second, no AWS quotas (a test's account is new, its limits not the
# point), and a quiet log.
KIT_SETTINGS: Mapping[str, Any] = {
    "worker_poll_ms": 100,
    "limits": "none",
    "log_level": "warning",
}


class SupportdError(RuntimeError):
    """The server did not start, or refused what the kit asked of it (the staff API's
    error code and HTTP status, when it answered)."""

    def __init__(self, message: str, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SupportdServer:
    """A supportd server for tests. `start()` (or `with`) starts it; `stop()` ends it
    and removes its directory unless one was given.

    - `database_url`: serve from this PostgreSQL database (migrated at start; give the
      suite a database of its own) instead of SQLite in the server's directory.
    - `auth`: "open" (the access key id names the account) or "sigv4" (accounts get real
      keys and every request is signed and checked).
    - `settings`: any other setting of `supportd serve` (docs/configuration.md), by name,
      e.g. {"auto_resolve_after_hours": 24}.
    - `directory`: where the data, the clock file and the log go (kept afterwards).
    """

    def __init__(
        self,
        *,
        database_url: str | None = None,
        auth: str = "open",
        settings: Mapping[str, Any] | None = None,
        directory: str | os.PathLike[str] | None = None,
    ) -> None:
        self.database_url = database_url or ""
        self.auth = auth
        self.settings = dict(settings or {})
        self._given_directory = Path(directory) if directory is not None else None
        self.directory: Path | None = None
        self.port = 0
        self._staff_name = ""
        self._staff_token = ""
        self._opening: concurrent.futures.Future[Staff] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._side: StoreSide | None = None
        self._config: Config | None = None
        self._offset_ms = 0
        self._server_key = ""
        self._keys: dict[str, tuple[str, str]] = {}
        self._accounts = itertools.count(100_000_000_000 + secrets.randbelow(800_000_000_000))
        self._account_lock = threading.Lock()
        self._boto3_session: Any = None
        self.account_id = ""

    # --- starting and stopping -----------------------------------------------------------

    def __enter__(self) -> SupportdServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        if not self.port:
            raise SupportdError("the server is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        if self.directory is None:
            raise SupportdError("the server is not started")
        return self.directory / "supportd.log"

    def log(self) -> str:
        """What the server wrote (warnings and errors: the kit's log level)."""
        try:
            return self.log_path.read_text(errors="replace")
        except (OSError, SupportdError):
            return ""

    def start(self) -> SupportdServer:
        """Start the server and return once it answers: about half a second on a quiet
        machine. The kit's own side (its staff member and token, its handle on the store)
        is made meanwhile on a thread of its own; the first call that needs it waits for
        it (with auth="sigv4", start() does, for the default account's key)."""
        if self._process is not None:
            return self
        from supportd.testing.store_side import StoreSide

        self.directory = self._given_directory or Path(tempfile.mkdtemp(prefix="supportd-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        atexit.register(self.stop)
        # Shared by the server and the kit (which seals the access keys it makes).
        self._server_key = base64.b64encode(secrets.token_bytes(32)).decode()
        try:
            config = self._make_config(free_port())
            self.auth, self.database_url = config.auth, config.database_url
            self._side = side = StoreSide(config)
            if config.database_url:
                # The server refuses a database without the schema: migrate first.
                try:
                    side.run(side.migrate())
                except Exception as exc:
                    raise SupportdError(f"could not migrate the database: {exc}") from exc
            self._opening = side.submit(side.open(f"kit-{secrets.token_hex(4)}"))
            for _attempt in range(PORT_ATTEMPTS):
                self._config = config
                self._process = self._spawn(config)
                if self._wait_healthy():
                    break
                # Another process took the port between our look and the server's bind.
                self._process.wait(STOP_TIMEOUT_S)
                self._process = None
                config = self._make_config(free_port())
            else:
                raise SupportdError(f"no free port in {PORT_ATTEMPTS} attempts")
            if self.auth == "sigv4":
                self._ready_side()
            self.account_id = self.new_account()
        except BaseException:
            self.stop()
            raise
        return self

    def _make_config(self, port: int) -> Config:
        from supportd import config as config_module

        assert self.directory is not None
        values: dict[str, Any] = {
            **KIT_SETTINGS,
            "data_dir": str(self.directory / "data"),
            "database_url": self.database_url,
            "auth": self.auth,
            "fake_clock_file": str(self.directory / "clock"),
            "server_key": self._server_key,
            **self.settings,
            # Where the kit looks for it.
            "host": "127.0.0.1",
            "port": port,
        }
        try:
            # Only these settings: the suite's own SUPPORTD_* variables are not the kit's.
            return config_module.from_environ({}, values)
        except (ValueError, TypeError) as exc:
            raise SupportdError(f"bad supportd settings: {exc}") from None

    def _spawn(self, config: Config) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")}
        env.update(config.to_environ())
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "supportd.cli", "serve"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def _wait_healthy(self) -> bool:
        """True once /healthz answers; False if the port was taken; else SupportdError."""
        assert self._process is not None and self._config is not None
        self.port = self._config.port
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = self.log()
                if "address already in use" in log.lower():
                    return False
                raise SupportdError(f"supportd exited at start:\n{log}")
            try:
                status, _ = self._request("GET", "/healthz", timeout=1.0)
                if status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.01)
        raise SupportdError(
            f"supportd did not answer within {STARTUP_TIMEOUT_S:g} s:\n{self.log()}"
        )

    def stop(self) -> None:
        """Stop the server (SIGTERM: it finishes what it is doing) and remove its
        directory, unless one was given. Safe to call twice."""
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        opening, self._opening = self._opening, None
        if opening is not None:
            # Close the store only once it is open (or failed to open).
            with contextlib.suppress(Exception):
                opening.result(STARTUP_TIMEOUT_S)
        side, self._side = self._side, None
        if side is not None:
            side.close()
        self._staff_name = self._staff_token = ""
        if self.directory is not None and self._given_directory is None:
            shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = None
        self.port = 0

    @property
    def staff_name(self) -> str:
        """The staff member (an admin) the kit acts as."""
        self._ready_side()
        return self._staff_name

    def _ready_side(self) -> StoreSide:
        """The kit's side, once its store is open and its staff member made."""
        if self._side is None or self._opening is None:
            raise SupportdError("the server is not started")
        if not self._staff_token:
            try:
                staff = self._opening.result(STARTUP_TIMEOUT_S)
            except concurrent.futures.TimeoutError:
                raise SupportdError("the kit's store side did not open in time") from None
            except Exception as exc:
                raise SupportdError(f"the kit could not open the store: {exc}") from exc
            self._staff_name, self._staff_token = staff.name, staff.token
        return self._side

    # --- accounts and clients ------------------------------------------------------------

    def new_account(self, plan: str = "enterprise") -> str:
        """A new 12-digit account no other test uses, on the given support plan (basic,
        developer, business or enterprise). In open mode an enterprise account needs no
        record (every unknown account is served as one); any other is recorded in the
        store, with an access key when the server checks signatures."""
        with self._account_lock:
            account_id = str(next(self._accounts))
        sigv4 = self.auth == "sigv4"
        if plan != "enterprise" or sigv4:
            from supportd.operations.accounts import AdminError

            try:
                side = self._ready_side()
                key = side.run(side.create_account(account_id, plan, sigv4))
            except AdminError as exc:
                raise SupportdError(str(exc)) from None
            if key is not None:
                self._keys[account_id] = key
        return account_id

    def credentials(self, account_id: str | None = None) -> dict[str, str]:
        """The account's access key and secret, as boto3 takes them."""
        account_id = account_id or self.account_id
        if self.auth == "sigv4":
            if account_id not in self._keys:
                raise SupportdError(
                    f"no access key for account {account_id}: make accounts with new_account()"
                )
            key_id, secret = self._keys[account_id]
            return {"aws_access_key_id": key_id, "aws_secret_access_key": secret}
        # Open mode: a 12-digit access key id names the account; no secret is checked.
        return {"aws_access_key_id": account_id, "aws_secret_access_key": OPEN_MODE_SECRET}

    def environ(self, account_id: str | None = None) -> dict[str, str]:
        """Environment variables that point the AWS CLI and SDKs at this server as the
        account (AWS_ENDPOINT_URL, the key, the region)."""
        creds = self.credentials(account_id)
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": creds["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": creds["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def client(
        self, account_id: str | None = None, service: str = "support", **boto3_kwargs: Any
    ) -> Any:
        """A boto3 client bound to this server, as the account (the server's default
        account if none is given). Keyword arguments go to boto3's `client()`; a
        `config` is merged over the kit's (one attempt per call: no retries that hide
        an error)."""
        try:
            import boto3
            from botocore.config import Config as BotoConfig
        except ImportError:
            raise SupportdError(
                "supportd.testing needs boto3 for clients: pip install 'supportd[testing]'"
            ) from None
        config = BotoConfig(retries={"total_max_attempts": 1, "mode": "standard"})
        if boto3_kwargs.get("config") is not None:
            config = config.merge(boto3_kwargs.pop("config"))
        kwargs: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "region_name": REGION,
            **self.credentials(account_id),
            **boto3_kwargs,
            "config": config,
        }
        # One session, whose loaders cache the service model for every client; sessions
        # are not thread-safe, so clients are made one at a time.
        with self._account_lock:
            if self._boto3_session is None:
                self._boto3_session = boto3.session.Session()
            return self._boto3_session.client(service, **kwargs)

    # --- the support side (the staff API) ------------------------------------------------

    def reply(self, case_id: str, body: str, status: str = "pending-customer-action") -> Any:
        """Answer the case as support; the case moves to `status`."""
        return self.staff_api(
            "POST", f"/cases/{_quote(case_id)}/reply", {"body": body, "status": status}
        )

    def note(self, case_id: str, body: str) -> Any:
        """An internal note on the case (customers never see it)."""
        return self.staff_api("POST", f"/cases/{_quote(case_id)}/notes", {"body": body})

    def set_status(self, case_id: str, status: str) -> Any:
        """Move the case to `status` (docs/lifecycle.md says which moves are allowed)."""
        return self.staff_api("POST", f"/cases/{_quote(case_id)}/status", {"status": status})

    def resolve(self, case_id: str) -> Any:
        """Resolve the case as support."""
        return self.staff_api("POST", f"/cases/{_quote(case_id)}/resolve", {})

    def case(self, case_id: str) -> Any:
        """The case as support sees it: {"case" (with its SLA), "communications", "notes",
        "history"}."""
        return self.staff_api("GET", f"/cases/{_quote(case_id)}")

    def set_advisor_result(
        self,
        account_id: str,
        check_id: str,
        status: str,
        resources: Iterable[Mapping[str, Any]] = (),
        **result: Any,
    ) -> Any:
        """Seed the account's Trusted Advisor result of a check: its status ("ok",
        "warning", "error") and flagged resources (each {"status", "region",
        "resourceId", "metadata": [one value per column of the check]}); other members
        of the result (e.g. categorySpecificSummary) as keywords."""
        body = {**result, "status": status, "flaggedResources": [dict(r) for r in resources]}
        path = f"/advisor/{_quote(account_id)}/{_quote(check_id)}"
        return self.staff_api("PUT", path, body)

    def staff_api(self, method: str, path: str, body: Any = None) -> Any:
        """Any call of the staff API (docs/staff.md) as the kit's staff member (an
        admin); the path after /staff/api. A 4xx answer raises SupportdError."""
        self._ready_side()  # the staff member and its token
        status, answer = self._request(
            method,
            "/staff/api" + path,
            body,
            headers={"Authorization": f"Bearer {self._staff_token}"},
        )
        if status >= 400:
            error = answer.get("error", {}) if isinstance(answer, dict) else {}
            raise SupportdError(
                f"{method} {path}: {error.get('message', answer)} "
                f"({error.get('code', 'error')}, HTTP {status})",
                code=error.get("code"),
                status=status,
            )
        return answer

    # --- the clock -----------------------------------------------------------------------

    @property
    def clock_offset_s(self) -> float:
        """How far the server's clock is ahead of the real one."""
        return self._offset_ms / 1000

    def now_ms(self) -> int:
        """The server's time, in milliseconds since the epoch."""
        return time.time_ns() // 1_000_000 + self._offset_ms

    def advance_clock(self, seconds: float, wait: bool = True) -> None:
        """Move the server's clock forward (SLA clocks, auto-resolve, attachment set and
        upload expiry all follow). With `wait`, return once the server's background
        worker has run everything due by the new time, so a case past auto-resolve is
        resolved when this returns."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        from supportd import runtime

        config = self._config
        if config is None:
            raise SupportdError("the server is not started")
        self._offset_ms += round(seconds * 1000)
        runtime.write_offset(Path(config.fake_clock_file), self._offset_ms)
        if not (wait and config.background_worker):
            return
        now = self.now_ms()
        deadline = time.monotonic() + CLOCK_TIMEOUT_S
        side = self._ready_side()
        while not side.run(side.caught_up(now)):
            if time.monotonic() > deadline:
                raise SupportdError(
                    f"the background worker did not catch up within {CLOCK_TIMEOUT_S:g} s"
                    f":\n{self.log()}"
                )
            time.sleep(0.01)

    # --- HTTP ------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = HTTP_TIMEOUT_S,
    ) -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            sent = {"Content-Type": "application/json", **(headers or {})}
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw.decode(errors="replace")


def _quote(value: str) -> str:
    return urllib.parse.quote(str(value), safe="")
