"""Real receivers for supportd's notifications: an SMTP server (aiosmtpd), an HTTP
webhook receiver, and moto's server for EventBridge's PutEvents. Each listens on a free
loopback port and can be stopped and started again on the same port (a receiver that
is down for a while)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
from aiosmtpd.controller import Controller

from tests.support.server import free_port

WAIT_S = 20.0


class _Server(ThreadingHTTPServer):
    # The standard library's backlog of 5 drops connections beyond it (the client then
    # waits a second to retry): a real receiver takes many at once.
    request_queue_size = 128
    daemon_threads = True
    allow_reuse_address = True


def wait_until(predicate: Callable[[], Any], timeout: float = WAIT_S, what: str = "") -> Any:
    """Poll until predicate() is truthy (bounded); its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.05)


# --- SMTP -------------------------------------------------------------------------------


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname  # aiosmtpd leaves this to a handler that has the hook
        with self.sink.lock:
            self.sink.greetings += 1
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.sink.refuse:
            return self.sink.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.sink.lock:
            self.sink.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


class MailSink:
    """aiosmtpd on a free port, keeping every message it accepts. `refuse`: an SMTP
    answer given to every RCPT instead of accepting it (e.g. "550 no such user")."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mails: list[Mail] = []
        self.lock = threading.Lock()
        self.refuse = ""
        self.greetings = 0  # EHLOs: one per connection
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> MailSink:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Mail]:
        with self.lock:
            return [m for m in self.mails if address in m.recipients]


# --- webhooks -----------------------------------------------------------------------------


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """An HTTP server on a free port. The first path segment says how it answers:
    /ok (204), /500, /hang (no answer for `hang_s`), /drop (closes the connection
    without a word); /flaky answers 503 to the first `flaky_failures` requests."""

    port: int = field(default_factory=free_port)
    hits: list[Hit] = field(default_factory=list)
    hang_s: float = 5.0
    flaky_failures: int = 2
    overrides: dict[str, str] = field(default_factory=dict)  # tag -> mode, to change one
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def url(self, mode: str, tag: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{mode}/{tag}"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.lock:
                    receiver.hits.append(Hit(self.path, dict(self.headers.items()), body))
                    earlier = sum(1 for h in receiver.hits if h.path == self.path)
                segments = self.path.strip("/").split("/")
                mode = receiver.overrides.get(segments[-1], segments[0])
                if mode == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if mode == "hang":
                    time.sleep(receiver.hang_s)
                status = {"ok": 204, "500": 500}.get(mode, 204)
                if mode == "flaky" and earlier <= receiver.flaky_failures:
                    status = 503
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def at(self, tag: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path.rstrip("/").endswith("/" + tag)]


# --- EventBridge (moto's server) ------------------------------------------------------------

MOTO_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class EventBridgeSink:
    """moto's server with an event bus whose rule forwards every event to an SQS queue,
    from which the test reads what supportd put."""

    def __init__(self, bus: str = "support-events", log_dir: Path | None = None) -> None:
        self.port = free_port()
        self.bus = bus
        self.log_dir = log_dir
        self._process: subprocess.Popen[bytes] | None = None
        self.queue_url = ""
        self.received: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1", **MOTO_KEYS)

    def start(self) -> EventBridgeSink:
        log_path = self.log_dir / "moto.log" if self.log_dir else Path("/dev/null")
        with open(log_path, "ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        def up() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False

        wait_until(up, what="moto's server")
        events, sqs = self._client("events"), self._client("sqs")
        events.create_event_bus(Name=self.bus)
        self.queue_url = sqs.create_queue(QueueName="support-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(
            Name="support-updates",
            EventBusName=self.bus,
            EventPattern=json.dumps({"detail-type": ["Support Case Update"]}),
        )
        events.put_targets(
            Rule="support-updates", EventBusName=self.bus, Targets=[{"Id": "queue", "Arn": arn}]
        )
        return self

    def poll(self) -> list[dict[str, Any]]:
        sqs = self._client("sqs")
        answer = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        for message in answer.get("Messages", []):
            self.received.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return self.received

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
