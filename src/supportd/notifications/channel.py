"""The one interface every channel implements: deliver one delivery, or say why not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from supportd.domain.notifications import Delivery, OutboxEvent
from supportd.domain.records import CaseRecord


@dataclass(frozen=True, slots=True)
class Message:
    """One delivery with what it reports."""

    delivery: Delivery
    event: OutboxEvent
    case: CaseRecord


class DeliveryFailed(Exception):
    """An attempt failed; `reason` is recorded. `final`: no later attempt can succeed
    (e.g. the webhook was deleted), so the delivery fails at once."""

    def __init__(self, reason: str, *, final: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.final = final


class Channel(Protocol):
    async def send(self, message: Message) -> str:
        """Deliver; what the receiver answered (recorded). DeliveryFailed otherwise."""

    async def close(self) -> None: ...
