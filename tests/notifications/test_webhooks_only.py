"""A server whose delivery names no e-mail and no EventBridge, on both stores: a change
is recorded for notification only while a webhook is registered (any node's, read in
the change's transaction), and what is recorded is delivered. A node that does not
deliver records every change: it cannot know the delivering node's channels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from supportd.domain import notifications as note
from supportd.runtime import write_offset
from tests.notifications.conftest import (
    FAST,
    Notify,
    customer_account,
    stop_notify,
    store_settings,
)
from tests.notifications.receivers import EventBridgeSink, MailSink, WebhookReceiver, wait_until
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess

__all__ = ["customer_account"]  # the fixture, used by name


def _start(base: Path, store_kind: str, request: pytest.FixtureRequest, *extra: str) -> Notify:
    clock = base / "clock"
    write_offset(clock, 0)
    database_url, store_args = store_settings(store_kind, base, request)
    process = ServerProcess(
        data_dir=base / "data", database_url=database_url, extra_args=[*FAST, *extra]
    ).start()
    # The sinks are never started: nothing may be sent to them.
    return Notify(
        process, store_args, MailSink(), WebhookReceiver().start(), EventBridgeSink(), clock
    )


@pytest.fixture(scope="module")
def notify(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Notify]:
    started = _start(tmp_path_factory.mktemp(f"hooks-only-{store_kind}"), store_kind, request)
    yield started
    stop_notify(started)


def _create(notify: Notify, account: str, subject: str) -> str:
    client = boto3_client(notify.url, account)
    try:
        return str(
            client.create_case(subject=subject, communicationBody="body", language="en")["caseId"]
        )
    finally:
        client.close()


def _event_names(notify: Notify, case_id: str) -> list[str]:
    return [e["eventName"] for e in notify.case_deliveries(case_id)["events"]]


def test_without_a_webhook_nothing_is_recorded_and_a_new_webhook_hears_what_follows(
    notify: Notify, customer_account: str
) -> None:
    unheard = _create(notify, customer_account, "Before any webhook")
    assert _event_names(notify, unheard) == []

    notify.webhook(customer_account, "ok")
    heard = _create(notify, customer_account, "After the webhook")
    assert _event_names(notify, heard) == [note.CREATE_CASE]
    [hit] = wait_until(lambda: notify.hooks.at(customer_account), what="the webhook's request")
    assert hit.json()["detail"]["case-id"] == heard
    assert _event_names(notify, unheard) == []


def test_a_node_that_does_not_deliver_records_every_change(
    request: pytest.FixtureRequest, store_kind: str, tmp_path: Path
) -> None:
    api_only = _start(tmp_path, store_kind, request, "--no-notify-worker")
    try:
        case_id = _create(api_only, "123456789012", "No webhook anywhere")
        assert _event_names(api_only, case_id) == [note.CREATE_CASE]
    finally:
        api_only.process.stop()
        api_only.hooks.stop()
