"""EventBridge: each event sent to the configured bus with PutEvents (botocore), so it
reaches a real EventBridge or any compatible server (--eventbridge-endpoint)."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime
from typing import Any

from supportd.config import Config
from supportd.domain import notifications as note
from supportd.notifications.channel import DeliveryFailed, Message, event_detail

# Where the delivery's idempotency key goes: PutEvents has no header for it, and the
# envelope's id is EventBridge's to assign. An extra member of `detail` leaves rules
# that match AWS's members working.
IDEMPOTENCY_MEMBER = "supportd-delivery-id"


def entry(config: Config, message: Message) -> dict[str, Any]:
    event = message.event
    detail = event_detail(message)
    detail[IDEMPOTENCY_MEMBER] = message.delivery.idempotency_key
    return {
        "Time": datetime.fromtimestamp(event.created_ms / 1000, tz=UTC),
        "Source": config.eventbridge_source,
        "Resources": [],
        "DetailType": note.DETAIL_TYPE,
        "Detail": json.dumps(detail, separators=(",", ":")),
        "EventBusName": config.eventbridge_bus,
    }


class EventBridgeChannel:
    def __init__(self, config: Config) -> None:
        self._config = config
        self._client: Any = None
        self._lock = threading.Lock()

    def _events(self) -> Any:
        # Made on first use (in a worker thread: botocore loads its model from disk).
        # botocore is imported here, not at the top: a delivery process without a bus
        # never needs it, and it is a large share of that process's memory.
        import botocore.session
        from botocore.config import Config as BotoConfig

        with self._lock:
            if self._client is None:
                config = self._config
                timeout_s = config.notify_timeout_ms / 1000
                credentials: dict[str, str] = {}
                if config.eventbridge_access_key_id:
                    credentials = {
                        "aws_access_key_id": config.eventbridge_access_key_id,
                        "aws_secret_access_key": config.eventbridge_secret_access_key,
                    }
                self._client = botocore.session.get_session().create_client(
                    "events",
                    region_name=config.eventbridge_region,
                    endpoint_url=config.eventbridge_endpoint or None,
                    config=BotoConfig(
                        connect_timeout=timeout_s,
                        read_timeout=timeout_s,
                        # The dispatcher retries, with its backoff and its record.
                        retries={"max_attempts": 1, "mode": "standard"},
                    ),
                    **credentials,
                )
            return self._client

    def _put(self, request: dict[str, Any]) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._events().put_events(Entries=[request])
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise DeliveryFailed(
                f"PutEvents refused: {error.get('Code', '?')}: {error.get('Message', '')}"
            ) from None
        except BotoCoreError as exc:
            raise DeliveryFailed(f"PutEvents failed: {exc}") from None
        [result] = answer.get("Entries") or [{}]
        if answer.get("FailedEntryCount") or "EventId" not in result:
            raise DeliveryFailed(
                f"PutEvents refused the entry: {result.get('ErrorCode', '?')}:"
                f" {result.get('ErrorMessage', '')}"
            )
        return f"EventId {result['EventId']}"

    async def send(self, message: Message) -> str:
        return await asyncio.to_thread(self._put, entry(self._config, message))

    async def close(self) -> None:
        return None
