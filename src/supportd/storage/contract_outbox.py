"""The notification outbox (storage.outbox): what the worker, the CLI and the staff API
ask of it. Events themselves are written by the hooks inside the changes' transactions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from supportd.domain.notifications import (
    AttemptOutcome,
    Delivery,
    OutboxEvent,
    RetryPolicy,
    Webhook,
)
from supportd.domain.records import CaseRecord
from supportd.storage.outbox import AttemptResult, DeliveryWork, EventWork, FanoutOptions


class OutboxStore(Protocol):
    async def fan_out(
        self, event_ids: Sequence[str], options: FanoutOptions, now_ms: int
    ) -> list[EventWork]:
        """Make the events' deliveries, once, and return them, in one transaction
        (events that do not exist are left out)."""

    async def delivery_work(self, delivery_seq: int) -> DeliveryWork | None:
        """A delivery with its event and case."""

    async def thread_of(self, case_seq: int, before_event_seq: int) -> list[str]:
        """Message-IDs of the case's earlier e-mails, oldest first."""

    async def record_attempts(
        self, results: Sequence[AttemptResult], policy: RetryPolicy, now_ms: int
    ) -> list[AttemptOutcome | None]:
        """Record attempts (and queue retries) in one transaction."""

    async def requeue_stalled(self, older_than_ms: int, now_ms: int, limit: int) -> int:
        """Queue again outbox work whose job is gone; how many jobs were queued."""

    async def list_deliveries(
        self,
        *,
        status: str | None = None,
        case_seq: int | None = None,
        after_seq: int = 0,
        limit: int = 100,
    ) -> list[tuple[Delivery, OutboxEvent, CaseRecord]]:
        """Deliveries in seq order after `after_seq`, optionally of one status or case."""

    async def case_events(self, case_seq: int) -> list[OutboxEvent]:
        """A case's outbox events, oldest first."""

    async def retry_delivery(self, delivery_seq: int, now_ms: int) -> Delivery | None:
        """A failed delivery pending again; None if unknown; NotRetryable otherwise."""

    async def case_of_message_ids(self, message_ids: Sequence[str]) -> int | None:
        """The case whose e-mail had one of these Message-IDs, or None."""

    async def create_webhook(self, webhook: Webhook) -> None: ...

    async def get_webhook(self, webhook_id: str) -> Webhook | None: ...

    async def list_webhooks(self) -> list[Webhook]: ...

    async def delete_webhook(self, webhook_id: str) -> bool:
        """False if there was no such webhook."""
