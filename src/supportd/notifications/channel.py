"""The one interface every channel implements: deliver one delivery, or say why not."""

from __future__ import annotations

from typing import Any, Protocol

from supportd.domain import notifications as note
from supportd.storage.outbox import DeliveryWork

# One delivery with what it reports (its event and case), as the outbox reads it.
Message = DeliveryWork


def case_update_event(message: Message) -> dict[str, Any]:
    """The message's event as EventBridge delivers it to a target (webhooks send this)."""
    event, case = message.event, message.case
    return note.case_update_event(
        event_id=event.event_id,
        account_id=case.account_id,
        at_ms=event.created_ms,
        case_id=case.case_id,
        case_seq=case.seq,
        event_name=event.event_name,
        origin=event.origin,
        communication_seq=event.communication_seq,
    )


def event_detail(message: Message) -> dict[str, str]:
    """The event's `detail`, which a channel with an envelope of its own sends
    (EventBridge's PutEvents)."""
    detail: dict[str, str] = case_update_event(message)["detail"]
    return detail


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
