"""Notifications for operators: the outbox (list, retry), a case's deliveries, and the
webhook targets. Shared by `supportd outbox` / `supportd webhooks` and the staff API,
which print the same JSON."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from supportd.domain import clock, ids
from supportd.domain import notifications as note
from supportd.domain.notifications import Delivery, OutboxEvent, Webhook
from supportd.domain.records import CaseRecord
from supportd.notifications import webhook as webhook_channel
from supportd.notifications.channel import DeliveryFailed
from supportd.operations.context import Context
from supportd.operations.refusal import Refused
from supportd.security.secretbox import SecretBox, SecretBoxError
from supportd.storage.outbox import NotRetryable

MIN_SECRET_CHARS = 16
MAX_SECRET_CHARS = 256
MAX_URL_CHARS = 2048
LIST_LIMIT = 1000


class NotificationError(Refused):
    """A refused request: `code` for programs, `message` for people."""


_time = clock.optional_case_time


def delivery_shape(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.seq,
        "channel": delivery.channel,
        "target": delivery.target,
        "recipients": list(delivery.recipients),
        "idempotencyKey": delivery.idempotency_key,
        "messageId": delivery.message_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "nextAttempt": _time(delivery.next_attempt_ms) if delivery.status == note.PENDING else None,
        "lastResult": delivery.last_result,
        "created": _time(delivery.created_ms),
        "updated": _time(delivery.updated_ms),
        "delivered": _time(delivery.delivered_ms),
    }


def event_shape(event: OutboxEvent) -> dict[str, Any]:
    return {
        "eventId": event.event_id,
        "eventName": event.event_name,
        "origin": event.origin,
        "created": _time(event.created_ms),
        "fannedOut": _time(event.fanned_out_ms),
    }


def outbox_row(delivery: Delivery, event: OutboxEvent, case: CaseRecord) -> dict[str, Any]:
    return {
        **delivery_shape(delivery),
        "event": event_shape(event),
        "caseId": case.case_id,
        "displayId": ids.display_id(case.seq),
        "accountId": case.account_id,
    }


async def list_outbox(
    ctx: Context, status: str | None, after: int = 0, limit: int = 100
) -> dict[str, Any]:
    if status is not None and status not in note.STATUSES:
        raise NotificationError(
            400, "invalid_status", f"status must be one of {', '.join(note.STATUSES)}"
        )
    if not 1 <= limit <= LIST_LIMIT:
        raise NotificationError(400, "invalid_limit", f"limit must be 1 to {LIST_LIMIT}")
    rows = await ctx.store.list_deliveries(status=status, after_seq=after, limit=limit + 1)
    page = rows[:limit]
    result: dict[str, Any] = {"deliveries": [outbox_row(*row) for row in page]}
    if len(rows) > limit:
        result["next"] = page[-1][0].seq
    return result


async def retry(ctx: Context, delivery_id: int) -> dict[str, Any]:
    try:
        delivery = await ctx.store.retry_delivery(delivery_id, ctx.clock.now_ms())
    except NotRetryable as exc:
        raise NotificationError(
            409,
            "not_failed",
            f"delivery {delivery_id} is {exc.status}: only a failed one is retried",
        ) from None
    if delivery is None:
        raise NotificationError(404, "delivery_not_found", f"no delivery {delivery_id}")
    return {"delivery": delivery_shape(delivery)}


async def case_deliveries(ctx: Context, case: CaseRecord) -> dict[str, Any]:
    """Every notification of a case: its events, each with what went to whom, when,
    and the result."""
    events = await ctx.store.case_events(case.seq)
    by_event: dict[int, list[dict[str, Any]]] = {event.seq: [] for event in events}
    after = 0
    while True:
        rows = await ctx.store.list_deliveries(case_seq=case.seq, after_seq=after, limit=500)
        for delivery, _, _ in rows:
            by_event.setdefault(delivery.event_seq, []).append(delivery_shape(delivery))
        if len(rows) < 500:
            break
        after = rows[-1][0].seq
    return {
        "caseId": case.case_id,
        "displayId": ids.display_id(case.seq),
        "events": [{**event_shape(event), "deliveries": by_event[event.seq]} for event in events],
    }


# --- webhooks ---------------------------------------------------------------------------


def webhook_shape(hook: Webhook) -> dict[str, Any]:
    """Never the secret."""
    return {
        "id": hook.webhook_id,
        "url": hook.url,
        "accountId": hook.account_id,
        "events": list(hook.events),
        "created": _time(hook.created_ms),
    }


def _check_url(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises for a bad port)
    except ValueError as exc:
        raise NotificationError(400, "invalid_url", f"invalid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotificationError(400, "invalid_url", "the URL must be http:// or https://host/...")
    if len(url) > MAX_URL_CHARS or any(c.isspace() or ord(c) < 32 for c in url):
        raise NotificationError(400, "invalid_url", "the URL is too long or has spaces")
    return url


def _check_events(events: Sequence[str] | None) -> tuple[str, ...]:
    if not events:
        return note.EVENT_NAMES
    unknown = [e for e in events if e not in note.EVENT_NAMES]
    if unknown:
        raise NotificationError(
            400,
            "invalid_events",
            f"unknown event {unknown[0]!r}: events are {', '.join(note.EVENT_NAMES)}",
        )
    return tuple(dict.fromkeys(events))


async def create_webhook(
    ctx: Context,
    box: SecretBox,
    url: str,
    secret: str,
    account_id: str | None,
    events: Sequence[str] | None,
) -> dict[str, Any]:
    url = _check_url(url)
    if not MIN_SECRET_CHARS <= len(secret) <= MAX_SECRET_CHARS:
        raise NotificationError(
            400,
            "invalid_secret",
            f"the secret must have {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters",
        )
    if account_id is not None and not (
        account_id.isascii() and account_id.isdigit() and len(account_id) == 12
    ):
        raise NotificationError(400, "invalid_account", "the account must be a 12-digit account id")
    chosen = _check_events(events)
    webhook_id = note.new_webhook_id()
    hook = Webhook(
        webhook_id=webhook_id,
        url=url,
        secret_sealed=box.seal(secret, webhook_id),
        account_id=account_id,
        events=chosen,
        created_ms=ctx.clock.now_ms(),
    )
    await ctx.store.create_webhook(hook)
    return {"webhook": webhook_shape(hook)}


async def list_webhooks(ctx: Context) -> dict[str, Any]:
    return {"webhooks": [webhook_shape(h) for h in await ctx.store.list_webhooks()]}


async def delete_webhook(ctx: Context, webhook_id: str) -> dict[str, Any]:
    if not await ctx.store.delete_webhook(webhook_id):
        raise NotificationError(404, "webhook_not_found", f"no webhook {webhook_id}")
    return {"deleted": webhook_id}


async def test_webhook(ctx: Context, box: SecretBox, webhook_id: str) -> dict[str, Any]:
    """POST a test event (detail-type "Support Case Update Test", signed like any other)
    and report the answer; nothing is recorded."""
    hook = await ctx.store.get_webhook(webhook_id)
    if hook is None:
        raise NotificationError(404, "webhook_not_found", f"no webhook {webhook_id}")
    now = ctx.clock.now_ms()
    event_id = note.new_event_id()
    event = {
        "version": "0",
        "id": event_id,
        "detail-type": note.TEST_DETAIL_TYPE,
        "source": note.SOURCE,
        "account": hook.account_id or "000000000000",
        "time": note.event_time(now),
        "region": note.REGION,
        "resources": [],
        "detail": {"webhook-id": hook.webhook_id},
    }
    body = note.encode_body(event)
    try:
        secret = box.open(hook.secret_sealed, hook.webhook_id)
    except SecretBoxError as exc:
        raise NotificationError(409, "secret_unreadable", str(exc)) from None
    headers = webhook_channel.request_headers(secret, body, event_id, "Test")
    started = time.monotonic()
    async with httpx.AsyncClient(
        timeout=ctx.config.notify_timeout_ms / 1000, follow_redirects=False
    ) as client:
        try:
            answer = await webhook_channel.post(client, hook.url, body, headers)
            ok = True
        except DeliveryFailed as exc:
            answer, ok = exc.reason, False
    return {
        "id": hook.webhook_id,
        "ok": ok,
        "result": answer,
        "elapsedMs": int((time.monotonic() - started) * 1000),
    }
