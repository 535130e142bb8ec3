"""The one interface every channel implements: deliver one delivery, or say why not."""

from __future__ import annotations

from typing import Protocol

from supportd.storage.outbox import DeliveryWork

# One delivery with what it reports (its event and case), as the outbox reads it.
Message = DeliveryWork


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
