"""Notifications: which changes notify, who and what receives them, and what a failed
attempt leads to. Pure rules; the outbox (storage.outbox) and the dispatcher
(supportd.notifications) act on them.

A change that notifies is recorded as an outbox *event* in the change's transaction.
The worker fans each event out into *deliveries*, one per target: the e-mail to the
case's contacts, each matching webhook, the EventBridge bus.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from supportd.domain import ids, lifecycle

# The event names of AWS Support's "Support Case Update" events.
CREATE_CASE = "CreateCase"
ADD_COMMUNICATION = "AddCommunicationToCase"
RESOLVE_CASE = "ResolveCase"
REOPEN_CASE = "ReopenCase"
EVENT_NAMES = (CREATE_CASE, ADD_COMMUNICATION, RESOLVE_CASE, REOPEN_CASE)

# Who added the correspondence (only AddCommunicationToCase events carry one).
ORIGIN_AWS = "AWS"
ORIGIN_CUSTOMER = "CUSTOMER"
NO_ORIGIN = ""

# Channels, and the target of the channels that have one target only.
EMAIL = "email"
WEBHOOK = "webhook"
EVENTBRIDGE = "eventbridge"
CHANNELS = (EMAIL, WEBHOOK, EVENTBRIDGE)
EMAIL_TARGET = "contacts"
EVENTBRIDGE_TARGET = "bus"

# A delivery's status.
PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
STATUSES = (PENDING, DELIVERED, FAILED)

DETAIL_TYPE = "Support Case Update"
SOURCE = "aws.support"
REGION = "us-east-1"
TEST_DETAIL_TYPE = "Support Case Update Test"  # `supportd webhooks test`

_KEY_NAMESPACE = uuid.UUID("6f1d3c1e-58a4-4bb7-9a52-2f0f4f6f2c11")


@dataclass(frozen=True, slots=True)
class Change:
    """One event a change reports."""

    event_name: str
    origin: str = NO_ORIGIN
    communication_seq: int | None = None


def case_created(first_communication_seq: int) -> list[Change]:
    return [Change(CREATE_CASE, NO_ORIGIN, first_communication_seq)]


def customer_reply(communication_seq: int, before: str, after: str) -> list[Change]:
    """A customer's communication; it reopens a resolved case."""
    changes = [Change(ADD_COMMUNICATION, ORIGIN_CUSTOMER, communication_seq)]
    if before == lifecycle.RESOLVED and after != lifecycle.RESOLVED:
        changes.append(Change(REOPEN_CASE, NO_ORIGIN, communication_seq))
    return changes


def resolution(before: str) -> list[Change]:
    """Resolving a resolved case changes nothing and tells nobody."""
    return [] if before == lifecycle.RESOLVED else [Change(RESOLVE_CASE)]


def staff_changes(
    reply_communication_seq: int | None, status_change: tuple[str, str] | None
) -> list[Change]:
    """What a staff action reports: a reply (origin AWS), a resolution, a reopening.
    Notes and assignments tell the customer nothing: they never notify."""
    changes: list[Change] = []
    if reply_communication_seq is not None:
        changes.append(Change(ADD_COMMUNICATION, ORIGIN_AWS, reply_communication_seq))
    if status_change is not None:
        before, after = status_change
        if after == lifecycle.RESOLVED and before != lifecycle.RESOLVED:
            changes.append(Change(RESOLVE_CASE))
        elif before == lifecycle.RESOLVED and after != lifecycle.RESOLVED:
            changes.append(Change(REOPEN_CASE))
    return changes


def events_need_a_webhook(*, delivers_here: bool, email: bool, eventbridge: bool) -> bool:
    """Whether a server may leave an event unrecorded when no webhook is registered.

    Only when this process's own settings are the ones that deliver (its delivery worker
    runs) and they name no e-mail and no EventBridge: then a webhook is the only
    channel left, and an event nobody can receive is two rows and a job for nothing
    (about a third of a CreateCase's CPU). A node that does not deliver cannot know the
    delivering node's channels, so it always records. Nodes that deliver share their
    channel settings (docs/notifications.md), as fan-out already assumes."""
    return delivers_here and not email and not eventbridge


def new_event_id() -> str:
    """A random UUID (the envelope's `id`)."""
    return str(uuid.UUID(hex=ids.random_hex(16), version=4))


def idempotency_key(event_id: str, channel: str, target: str) -> str:
    """The same for every attempt of one delivery (and for a fan-out done twice), so a
    receiver can drop a resend: a UUID derived from the event and the target."""
    return str(uuid.uuid5(_KEY_NAMESPACE, f"{event_id}/{channel}/{target}"))


def wants_email(event_name: str, communication_seq: int | None) -> bool:
    """A reopening that a customer's reply caused has that reply's e-mail already."""
    return not (event_name == REOPEN_CASE and communication_seq is not None)


def email_recipients(
    contact: str | None, case_cc: Iterable[str], communication_cc: Iterable[str]
) -> list[str]:
    """The account's contact, then the case's and the communication's CC addresses,
    each once (addresses compare without regard to case)."""
    seen: set[str] = set()
    result: list[str] = []
    for address in (contact, *case_cc, *communication_cc):
        if address and address.lower() not in seen:
            seen.add(address.lower())
            result.append(address)
    return result


def webhook_wants(
    webhook_account: str | None, webhook_events: Sequence[str], account_id: str, event: str
) -> bool:
    return (webhook_account is None or webhook_account == account_id) and event in webhook_events


# --- attempts ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    backoff_ms: int
    backoff_max_ms: int

    def delay_ms(self, attempt: int) -> int:
        """Wait after the attempt-th failed attempt (1, 2, ...): doubling, capped."""
        return int(min(self.backoff_max_ms, self.backoff_ms * 2 ** min(attempt - 1, 40)))


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    status: str
    next_attempt_ms: int | None


def after_attempt(
    policy: RetryPolicy,
    attempts: int,
    retry_base: int,
    ok: bool,
    now_ms: int,
    *,
    final: bool = False,
) -> AttemptOutcome:
    """`attempts`: counting the one just made; `retry_base`: attempts made before the
    last manual retry (each retry gets max_attempts of its own); `final`: the failure
    cannot be mended by trying again."""
    if ok:
        return AttemptOutcome(DELIVERED, None)
    made = attempts - retry_base
    if final or made >= policy.max_attempts:
        return AttemptOutcome(FAILED, None)
    return AttemptOutcome(PENDING, now_ms + policy.delay_ms(made))


# --- the event (EventBridge's shape) ------------------------------------------------------


def communication_id(case_id: str, communication_seq: int | None, event_name: str) -> str:
    """Only AddCommunicationToCase names a communication (AWS's own CreateCase example
    has an empty string)."""
    if event_name != ADD_COMMUNICATION or communication_seq is None:
        return ""
    return f"{case_id}-comm-{communication_seq}"


def case_update_event(
    *,
    event_id: str,
    account_id: str,
    at_ms: int,
    case_id: str,
    case_seq: int,
    event_name: str,
    origin: str,
    communication_seq: int | None,
    source: str = SOURCE,
) -> dict[str, Any]:
    """The event as EventBridge delivers it to a target (the envelope and `detail`)."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": DETAIL_TYPE,
        "source": source,
        "account": account_id,
        "time": event_time(at_ms),
        "region": REGION,
        "resources": [],
        "detail": event_detail(case_id, case_seq, event_name, origin, communication_seq),
    }


def event_detail(
    case_id: str, case_seq: int, event_name: str, origin: str, communication_seq: int | None
) -> dict[str, str]:
    return {
        "case-id": case_id,
        "display-id": ids.display_id(case_seq),
        "communication-id": communication_id(case_id, communication_seq, event_name),
        "event-name": event_name,
        "origin": origin if event_name == ADD_COMMUNICATION else NO_ORIGIN,
    }


def event_time(ms: int) -> str:
    """`2022-02-21T15:51:19Z`, as in EventBridge's envelope."""
    return datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def encode_body(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, body: bytes) -> str:
    """X-Supportd-Signature: the HMAC-SHA256 of the raw body under the webhook's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- records --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    seq: int
    event_id: str
    case_seq: int
    event_name: str
    origin: str
    communication_seq: int | None
    created_ms: int
    fanned_out_ms: int | None


@dataclass(frozen=True, slots=True)
class NewDelivery:
    channel: str
    target: str
    recipients: tuple[str, ...]
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    seq: int
    event_seq: int
    channel: str
    target: str
    idempotency_key: str
    recipients: tuple[str, ...]
    message_id: str | None
    status: str
    attempts: int
    retry_base: int
    next_attempt_ms: int | None
    last_result: str | None
    created_ms: int
    updated_ms: int
    delivered_ms: int | None


@dataclass(frozen=True, slots=True)
class Webhook:
    webhook_id: str
    url: str
    secret_sealed: str
    account_id: str | None
    events: tuple[str, ...]
    created_ms: int


def new_webhook_id() -> str:
    return "wh-" + ids.random_hex(8)
