"""Notifications against real parts, on SQLite and PostgreSQL: a real `supportd serve`
sending to aiosmtpd, to a local HTTP receiver and to moto's EventBridge.

One server per store for the module that uses `notify` (faults included: each test
registers webhooks of its own account, whose URL says how the receiver answers), with
short backoffs and timeouts so that retries and failures take a second, not an hour.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
import pytest
from click.testing import CliRunner

from supportd import cli
from supportd.runtime import write_offset
from tests.notifications.receivers import EventBridgeSink, Mail, MailSink, WebhookReceiver
from tests.store.conftest import pytest_pyfunc_call, runner, store  # noqa: F401
from tests.support.clients import boto3_client
from tests.support.server import TEST_SERVER_KEY, ServerProcess, free_port

WEBHOOK_SECRET = "a-webhook-secret-of-some-length"
MAIL_FROM = "AWS Support <support@example.com>"
REPLY_DOMAIN = "reply.example.com"
MAX_ATTEMPTS = 4
MAX_INBOUND_BYTES = 200_000
FAST = [
    "--worker-poll-ms",
    "50",
    "--notify-backoff-ms",
    "150",
    "--notify-backoff-max-ms",
    "600",
    "--notify-max-attempts",
    str(MAX_ATTEMPTS),
    "--notify-timeout-ms",
    "1000",
]

_accounts = itertools.count(700_000_000_000, 7919)


@dataclass
class Notify:
    """A server with every channel configured, and its receivers."""

    process: ServerProcess
    store_args: list[str]
    mail: MailSink
    hooks: WebhookReceiver
    bus: EventBridgeSink
    clock_path: Path

    @property
    def url(self) -> str:
        return self.process.url

    def cli(self, *args: str, ok: bool = True, input: str | None = None) -> Any:
        """`supportd ARGS` on this server's store, in process."""
        result = CliRunner().invoke(
            cli.main,
            [*args, *self.store_args],
            input=input,
            catch_exceptions=False,
            # The server key seals webhook secrets (PostgreSQL nodes are given theirs).
            # The fake clock: the one the server reads.
            env={
                "SUPPORTD_SERVER_KEY": TEST_SERVER_KEY if self.process.database_url else "",
                "SUPPORTD_FAKE_CLOCK_FILE": str(self.clock_path),
            },
        )
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def server_key(self) -> bytes:
        from supportd.security.secretbox import load_key

        configured = TEST_SERVER_KEY if self.process.database_url else ""
        return load_key(configured, str(self.process.data_dir), create=False)

    def webhook(self, account: str, mode: str, **options: str) -> str:
        """Register a webhook of `account` whose URL tells the receiver how to answer;
        its id. The account doubles as the URL's tag (receiver.at(account))."""
        args = ["webhooks", "create", "--url", self.hooks.url(mode, account)]
        args += ["--secret", WEBHOOK_SECRET, "--account", account, "--json"]
        for name, value in options.items():
            args += [f"--{name}", value]
        return str(json.loads(self.cli(*args).output)["webhook"]["id"])

    def case_deliveries(self, case_ref: str) -> dict[str, Any]:
        return dict(json.loads(self.cli("outbox", "case", case_ref, "--json").output))


def store_settings(
    store_kind: str, base: Path, request: pytest.FixtureRequest
) -> tuple[str, list[str]]:
    if store_kind == "postgresql":
        url = request.getfixturevalue("postgres_databases").new_database()
        return url, ["--database", url]
    return "", ["--data-dir", str(base / "data")]


def start_notify(
    base: Path,
    store_kind: str,
    request: pytest.FixtureRequest,
    extra: list[str] | None = None,
) -> Notify:
    clock = base / "clock"
    write_offset(clock, 0)
    mail = MailSink().start()
    hooks = WebhookReceiver().start()
    bus = EventBridgeSink(log_dir=base).start()
    database_url, store_args = store_settings(store_kind, base, request)
    process = ServerProcess(
        data_dir=base / "data",
        database_url=database_url,
        extra_args=[
            *FAST,
            "--fake-clock-file",
            str(clock),
            "--smtp-url",
            mail.url,
            "--mail-from",
            MAIL_FROM,
            "--support-address",
            "help@example.com",
            "--reply-domain",
            REPLY_DOMAIN,
            "--eventbridge-bus",
            bus.bus,
            "--eventbridge-endpoint",
            bus.url,
            "--eventbridge-access-key-id",
            "testing",
            "--eventbridge-secret-access-key",
            "testing",
            *(extra or []),
        ],
    ).start()
    return Notify(process, store_args, mail, hooks, bus, clock)


def stop_notify(notify: Notify) -> None:
    notify.process.stop()
    notify.mail.stop()
    notify.hooks.stop()
    notify.bus.stop()


@pytest.fixture(scope="module")
def notify(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Notify]:
    started = start_notify(tmp_path_factory.mktemp(f"notify-{store_kind}"), store_kind, request)
    yield started
    stop_notify(started)


@pytest.fixture
def customer_account(notify: Notify) -> str:
    """An account of its own, with a contact address in the accounts table."""
    account = str(next(_accounts))
    notify.cli(
        "accounts",
        "create",
        account,
        "--email",
        f"contact-{account}@example.org",
        "--plan",
        "enterprise",
    )
    return account


@pytest.fixture
def customer(notify: Notify, customer_account: str) -> Iterator[Any]:
    client = boto3_client(notify.url, customer_account)
    yield client
    client.close()


def staff_token(notify: Notify) -> str:
    name = f"agent{next(_accounts) % 100000}"
    notify.cli("staff", "create", name, "--email", f"{name}@example.com", "--role", "agent")
    return str(notify.cli("staff", "token", name).output.split()[-1])


def staff_get(notify: Notify, token: str, path: str) -> httpx.Response:
    return httpx.get(
        notify.url + "/staff/api" + path, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


@pytest.fixture(scope="module")
def inbound(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Notify, int]]:
    port = free_port()
    extra = ["--inbound-smtp-port", str(port), "--inbound-max-bytes", str(MAX_INBOUND_BYTES)]
    notify = start_notify(
        tmp_path_factory.mktemp(f"inbound-{store_kind}"), store_kind, request, extra
    )
    yield notify, port
    stop_notify(notify)


def send(port: int, message: EmailMessage) -> tuple[int, str]:
    """Deliver to supportd's listener; (code, message) of its final answer."""

    async def run() -> tuple[int, str]:
        try:
            _, answer = await aiosmtplib.send(message, hostname="127.0.0.1", port=port, timeout=10)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            return refused.code, refused.message
        except aiosmtplib.SMTPResponseException as exc:
            return exc.code, exc.message
        return 250, answer

    return asyncio.run(run())


def reply_to(mail: Mail, sender: str, body: str, to: str | None = None) -> EmailMessage:
    original = mail.message
    message = EmailMessage()
    message["From"] = f"Jane Customer <{sender}>"
    message["To"] = to or original["Reply-To"]
    message["Subject"] = "Re: " + original["Subject"]
    message["In-Reply-To"] = original["Message-ID"]
    message["References"] = original["Message-ID"]
    message["Message-ID"] = f"<reply-{abs(hash((body, sender, to)))}@customer.example>"
    message.set_content(
        f"{body}\n\nOn Mon, 21 Feb 2022 at 15:51, AWS Support <support@example.com> wrote:\n"
        "> We have received your case.\n> Quoted history never lands on the case.\n"
    )
    return message
