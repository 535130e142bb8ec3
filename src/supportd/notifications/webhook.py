"""Webhooks: each event POSTed as JSON in EventBridge's shape, signed with the webhook's
secret. A 2xx answer acknowledges it; anything else (another status, a timeout, a
dropped connection) is a failed attempt, retried by the dispatcher."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx

from supportd.domain import notifications as note
from supportd.notifications.channel import DeliveryFailed, Message, case_update_event
from supportd.security.secretbox import SecretBox, SecretBoxError
from supportd.storage.base import Store

SIGNATURE_HEADER = "X-Supportd-Signature"
DELIVERY_HEADER = "X-Supportd-Delivery"
EVENT_HEADER = "X-Supportd-Event"
USER_AGENT = "supportd-webhooks/1"

# httpx logs every request at INFO: one line per delivery is the outbox's job.
logging.getLogger("httpx").setLevel(logging.WARNING)


def request_headers(
    secret: str, body: bytes, idempotency_key: str, event_name: str
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: note.signature(secret, body),
        DELIVERY_HEADER: idempotency_key,
        EVENT_HEADER: event_name,
    }


def describe_error(exc: httpx.HTTPError) -> str:
    """A failure as the operator needs to read it (never the secret or the body)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer in time ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {exc}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"connection dropped: {exc}"
    return f"{type(exc).__name__}: {exc}"


async def post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> str:
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(describe_error(exc)) from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"HTTP {response.status_code} {response.reason_phrase}".strip())
    return f"HTTP {response.status_code}"


class WebhookChannel:
    def __init__(self, store: Store, box: Callable[[], SecretBox], timeout_s: float) -> None:
        self._store = store
        self._box = box  # opened on first use: a node without webhooks needs no key
        # Redirects are not followed: a webhook answers where it was registered.
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)

    async def send(self, message: Message) -> str:
        delivery, event = message.delivery, message.event
        hook = await self._store.get_webhook(delivery.target)
        if hook is None:
            raise DeliveryFailed("the webhook was deleted", final=True)
        try:
            secret = self._box().open(hook.secret_sealed, hook.webhook_id)
        except SecretBoxError as exc:
            raise DeliveryFailed(str(exc)) from None
        body = note.encode_body(case_update_event(message))
        headers = request_headers(secret, body, delivery.idempotency_key, event.event_name)
        return await post(self._client, hook.url, body, headers)

    async def close(self) -> None:
        await self._client.aclose()
