"""The notification outbox, on both stores: events written in the transactions of the
changes they report, their deliveries, and the webhook targets.

The hooks (`record_changes`, `record_staff_change`, `record_auto_resolved`) run inside
the caller's transaction: an event and the job that fans it out commit with the change
or not at all, so a crash at any moment loses no notification. Everything after that is
the worker's (supportd.notifications.dispatcher), through the Outbox methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from supportd.domain import mail
from supportd.domain import notifications as note
from supportd.domain.attachments import AttachmentRecord
from supportd.domain.notifications import (
    AttemptOutcome,
    Change,
    Delivery,
    NewDelivery,
    OutboxEvent,
    RetryPolicy,
    Webhook,
)
from supportd.domain.records import CaseRecord, CommunicationRecord
from supportd.domain.staff import Outcome
from supportd.storage.attachments import ATTACHMENTS_OF_SQL
from supportd.storage.jobs import insert_job
from supportd.storage.rows import (
    CASE_COLUMNS,
    COMMUNICATION_COLUMNS,
    attachment_record,
    case_record,
    communication_record,
)
from supportd.storage.sql import Params, SqlStore, Tx, decode_list

FANOUT_KIND = "notify-fanout"
DELIVER_KIND = "notify-deliver"

INSERT_EVENT_SQL = (
    "INSERT INTO outbox_events (event_id, case_seq, event_name, origin, communication_seq,"
    " created_ms) VALUES ($1, $2, $3, $4, $5, $6)"
)
EVENT_COLUMNS = (
    "e.seq, e.event_id, e.case_seq, e.event_name, e.origin, e.communication_seq,"
    " e.created_ms, e.fanned_out_ms"
)
DELIVERY_COLUMNS = (
    "d.seq, d.event_seq, d.channel, d.target, d.idempotency_key, d.recipients, d.message_id,"
    " d.status, d.attempts, d.retry_base, d.next_attempt_ms, d.last_result, d.created_ms,"
    " d.updated_ms, d.delivered_ms"
)
CASE_FIELDS = ", ".join(f"c.{column.strip()}" for column in CASE_COLUMNS.split(","))
WEBHOOK_COLUMNS = "webhook_id, url, secret_sealed, account_id, events, created_ms"


def fanout_key(event_id: str) -> str:
    return f"{FANOUT_KIND}:{event_id}"


def deliver_key(delivery_seq: int, attempts: int, suffix: str = "") -> str:
    return f"{DELIVER_KIND}:{delivery_seq}:{attempts}{suffix}"


# --- the hooks: inside the transaction of the change --------------------------------------


ANY_WEBHOOK_SQL = "SELECT EXISTS (SELECT 1 FROM webhooks)"


async def _heard(tx: Tx, need_webhook: bool) -> bool:
    """Whether a change's events are recorded: always, unless need_webhook
    (SqlStore.events_need_a_webhook) and no webhook is registered, asked in this
    transaction, so a webhook registered on any node counts from its commit on."""
    return not need_webhook or bool(await tx.fetchval(ANY_WEBHOOK_SQL))


async def _insert_events(tx: Tx, case_seq: int, changes: Sequence[Change], now_ms: int) -> None:
    for change in changes:
        event_id = note.new_event_id()
        await tx.execute(
            INSERT_EVENT_SQL,
            event_id,
            case_seq,
            change.event_name,
            change.origin,
            change.communication_seq,
            now_ms,
        )
        await insert_job(tx, FANOUT_KIND, {"event": event_id}, now_ms, fanout_key(event_id))


async def record_changes(
    tx: Tx, case_seq: int, changes: Sequence[Change], now_ms: int, need_webhook: bool
) -> None:
    """An outbox event per change, and the job that fans it out (see _heard)."""
    if changes and await _heard(tx, need_webhook):
        await _insert_events(tx, case_seq, changes, now_ms)


async def record_staff_change(
    tx: Tx,
    case_seq: int,
    outcome: Outcome,
    reply_communication_seq: int | None,
    now_ms: int,
    need_webhook: bool,
) -> None:
    """For a staff action's transaction, after its rows are written: a reply notifies
    (origin AWS), a resolution or a reopening notifies; a note or an assignment does
    not. `reply_communication_seq`: the seq of the reply's communication row."""
    changes = note.staff_changes(
        reply_communication_seq if outcome.reply is not None else None, outcome.status_change
    )
    await record_changes(tx, case_seq, changes, now_ms, need_webhook)


async def record_auto_resolved(
    tx: Tx, case_seqs: Sequence[int], now_ms: int, need_webhook: bool
) -> None:
    """For auto-resolve's transaction: each case it resolved notifies (one question
    about webhooks for the whole batch)."""
    if case_seqs and await _heard(tx, need_webhook):
        for seq in case_seqs:
            await _insert_events(tx, seq, [Change(note.RESOLVE_CASE)], now_ms)


async def record_inbound(
    tx: Tx, message_id: str, case_seq: int, communication_seq: int, now_ms: int
) -> None:
    """A reply by e-mail made into a communication: DuplicateMessage (and the whole
    transaction undone) if this Message-ID was made into one before."""
    inserted = await tx.fetchval(
        "INSERT INTO inbound_messages (message_id, case_seq, communication_seq, received_ms)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (message_id) DO NOTHING RETURNING seq",
        message_id,
        case_seq,
        communication_seq,
        now_ms,
    )
    if inserted is None:
        raise mail.DuplicateMessage(message_id)


# --- rows -> records ------------------------------------------------------------------------


def case_from_row(row: Sequence[Any]) -> CaseRecord:
    return case_record(row, cc_emails=decode_list(row[11]))


def event_from_row(row: Sequence[Any]) -> OutboxEvent:
    return OutboxEvent(*row[:8])


def delivery_from_row(row: Sequence[Any]) -> Delivery:
    values = list(row[:15])
    values[5] = decode_list(values[5])
    return Delivery(*values)


def webhook_from_row(row: Sequence[Any]) -> Webhook:
    return Webhook(row[0], row[1], row[2], row[3], decode_list(row[4]), row[5])


@dataclass(frozen=True, slots=True)
class FanoutOptions:
    """What this node is configured to deliver to."""

    email: bool
    eventbridge: bool
    mail_domain: str


@dataclass(frozen=True, slots=True)
class EventWork:
    """An event with its case and deliveries, as the worker needs them."""

    event: OutboxEvent
    case: CaseRecord
    deliveries: tuple[Delivery, ...]


@dataclass(frozen=True, slots=True)
class DeliveryWork:
    delivery: Delivery
    event: OutboxEvent
    case: CaseRecord


@dataclass(frozen=True, slots=True)
class AttemptResult:
    delivery_seq: int
    attempts_before: int  # the attempt is recorded only if no other one was meanwhile
    ok: bool
    result: str
    final: bool = False  # a failure no later attempt can mend


class NotRetryable(Exception):
    """Only a failed delivery can be retried."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


async def _plan(
    tx: Tx, event: OutboxEvent, case: CaseRecord, options: FanoutOptions
) -> list[NewDelivery]:
    planned: list[NewDelivery] = []
    if options.email and note.wants_email(event.event_name, event.communication_seq):
        contact = await tx.fetchval(
            "SELECT email FROM accounts WHERE account_id = $1", case.account_id
        )
        comm_cc: tuple[str, ...] = ()
        if event.communication_seq is not None:
            comm_cc = decode_list(
                await tx.fetchval(
                    "SELECT cc_emails FROM communications WHERE seq = $1",
                    event.communication_seq,
                )
            )
        recipients = note.email_recipients(contact, case.cc_emails, comm_cc)
        if recipients:
            planned.append(NewDelivery(note.EMAIL, note.EMAIL_TARGET, tuple(recipients)))
    for row in await tx.fetch(
        f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE account_id IS NULL OR account_id = $1"
        " ORDER BY seq",
        case.account_id,
    ):
        hook = webhook_from_row(row)
        if note.webhook_wants(hook.account_id, hook.events, case.account_id, event.event_name):
            planned.append(NewDelivery(note.WEBHOOK, hook.webhook_id, (hook.url,)))
    if options.eventbridge:
        planned.append(NewDelivery(note.EVENTBRIDGE, note.EVENTBRIDGE_TARGET, ()))
    return planned


INSERT_DELIVERY_SQL = (
    "INSERT INTO outbox_deliveries (event_seq, channel, target, idempotency_key, recipients,"
    " message_id, status, attempts, retry_base, created_ms, updated_ms)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8, $8)"
    " ON CONFLICT (event_seq, channel, target) DO NOTHING"
)
SELECT_EVENT_SQL = (
    f"SELECT {EVENT_COLUMNS}, {CASE_FIELDS} FROM outbox_events e"
    " JOIN cases c ON c.seq = e.case_seq WHERE e.event_id = $1"
)
EVENT_DELIVERIES_SQL = (
    f"SELECT {DELIVERY_COLUMNS} FROM outbox_deliveries d WHERE d.event_seq = $1 ORDER BY d.seq"
)
EARLIER_MESSAGE_IDS_SQL = (
    "SELECT d.message_id FROM outbox_deliveries d JOIN outbox_events e ON e.seq = d.event_seq"
    " WHERE e.case_seq = $1 AND e.seq < $2 AND d.channel = $3 AND d.message_id IS NOT NULL"
    " ORDER BY e.seq"
)


COMMUNICATION_SQL = (
    f"SELECT {COMMUNICATION_COLUMNS} FROM communications m JOIN cases c ON c.seq = m.case_seq"
    " WHERE m.seq = $1 AND m.case_seq = $2"
)
REOPENED_BY_SQL = (
    "SELECT 1 FROM outbox_events WHERE case_seq = $1 AND event_name = $2"
    " AND communication_seq = $3 LIMIT 1"
)


@dataclass(frozen=True, slots=True)
class MailFacts:
    """What an event's e-mail tells besides the case: its communication and files,
    whether that communication reopened the case, and the Message-IDs of the case's
    earlier e-mails, oldest first (threading)."""

    communication: CommunicationRecord | None
    attachments: list[AttachmentRecord]
    reopened: bool
    thread: list[str]


def _event_and_case(row: Sequence[Any]) -> tuple[OutboxEvent, CaseRecord]:
    return event_from_row(row), case_from_row(row[8:])


async def _fan_out_one(
    tx: Tx, event_id: str, options: FanoutOptions, now_ms: int
) -> EventWork | None:
    row = await tx.fetchrow(SELECT_EVENT_SQL + " FOR UPDATE OF e", event_id)
    if row is None:
        return None
    event, case = _event_and_case(row)
    if event.fanned_out_ms is None:
        for planned in await _plan(tx, event, case, options):
            key = note.idempotency_key(event.event_id, planned.channel, planned.target)
            message_id = (
                mail.message_id(key, options.mail_domain) if planned.channel == note.EMAIL else None
            )
            await tx.execute(
                INSERT_DELIVERY_SQL,
                event.seq,
                planned.channel,
                planned.target,
                key,
                list(planned.recipients),
                message_id,
                note.PENDING,
                now_ms,
            )
        await tx.execute(
            "UPDATE outbox_events SET fanned_out_ms = $1 WHERE seq = $2", now_ms, event.seq
        )
    rows = await tx.fetch(EVENT_DELIVERIES_SQL, event.seq)
    return EventWork(event, case, tuple(delivery_from_row(r) for r in rows))


DELIVERED_SQL = (
    "UPDATE outbox_deliveries SET status = $1, attempts = $2, next_attempt_ms = NULL,"
    " last_result = $3, updated_ms = $4, delivered_ms = $4"
    " WHERE seq = $5 AND status = $6 AND attempts = $7"
)


class Outbox(SqlStore):
    # --- the worker ---------------------------------------------------------------------

    async def fan_out(
        self, event_ids: Sequence[str], options: FanoutOptions, now_ms: int
    ) -> list[EventWork]:
        """Make the events' deliveries (once: a second fan-out finds them made) and
        return them, in one transaction; events that do not exist are left out."""

        async def job(tx: Tx) -> list[EventWork]:
            made = [await _fan_out_one(tx, event_id, options, now_ms) for event_id in event_ids]
            return [work for work in made if work is not None]

        return await self._write(job, idempotent=True)

    async def delivery_work(self, delivery_seq: int) -> DeliveryWork | None:
        """A delivery with its event and case."""

        async def job(tx: Tx) -> DeliveryWork | None:
            row = await tx.fetchrow(
                f"SELECT {DELIVERY_COLUMNS}, {EVENT_COLUMNS}, {CASE_FIELDS}"
                " FROM outbox_deliveries d JOIN outbox_events e ON e.seq = d.event_seq"
                " JOIN cases c ON c.seq = e.case_seq WHERE d.seq = $1",
                delivery_seq,
            )
            if row is None:
                return None
            return DeliveryWork(
                delivery_from_row(row), event_from_row(row[15:23]), case_from_row(row[23:])
            )

        return await self._read(job)

    async def mail_facts(self, event: OutboxEvent) -> MailFacts:
        """What the event's e-mail needs besides the case, in one read."""
        comm_seq = event.communication_seq

        async def job(tx: Tx) -> MailFacts:
            communication, files = None, []
            # A reopening's communication is told by the e-mail of the reply that made it.
            if comm_seq is not None and event.event_name != note.REOPEN_CASE:
                row = await tx.fetchrow(COMMUNICATION_SQL, comm_seq, event.case_seq)
                if row is not None:
                    communication = communication_record(row)
                    files = [
                        attachment_record(r) for r in await tx.fetch(ATTACHMENTS_OF_SQL, [comm_seq])
                    ]
            reopened = (
                event.event_name == note.ADD_COMMUNICATION
                and comm_seq is not None
                and await tx.fetchval(REOPENED_BY_SQL, event.case_seq, note.REOPEN_CASE, comm_seq)
                is not None
            )
            earlier = await tx.fetch(EARLIER_MESSAGE_IDS_SQL, event.case_seq, event.seq, note.EMAIL)
            return MailFacts(communication, files, reopened, [row[0] for row in earlier])

        return await self._read(job)

    async def record_attempts(
        self, results: Sequence[AttemptResult], policy: RetryPolicy, now_ms: int
    ) -> list[AttemptOutcome | None]:
        """Record attempts in one transaction: delivered, failed for good, or the next
        attempt queued after its backoff. An attempt whose delivery moved on meanwhile
        (another node recorded it first) changes nothing (None)."""

        async def job(tx: Tx) -> list[AttemptOutcome | None]:
            outcomes: list[AttemptOutcome | None] = []
            for result in results:
                if result.ok:
                    # Delivered whatever came before: one guarded statement, no read.
                    outcome = note.after_attempt(
                        policy, result.attempts_before + 1, 0, True, now_ms
                    )
                    changed = await tx.execute(
                        DELIVERED_SQL,
                        outcome.status,
                        result.attempts_before + 1,
                        result.result[:2000],
                        now_ms,
                        result.delivery_seq,
                        note.PENDING,
                        result.attempts_before,
                    )
                    outcomes.append(outcome if changed == 1 else None)
                    continue
                row = await tx.fetchrow(
                    "SELECT status, attempts, retry_base FROM outbox_deliveries"
                    " WHERE seq = $1 FOR UPDATE",
                    result.delivery_seq,
                )
                if row is None or row[0] != note.PENDING or row[1] != result.attempts_before:
                    outcomes.append(None)
                    continue
                attempts = result.attempts_before + 1
                outcome = note.after_attempt(
                    policy, attempts, row[2], result.ok, now_ms, final=result.final
                )
                await tx.execute(
                    "UPDATE outbox_deliveries SET status = $1, attempts = $2,"
                    " next_attempt_ms = $3, last_result = $4, updated_ms = $5,"
                    " delivered_ms = $6 WHERE seq = $7",
                    outcome.status,
                    attempts,
                    outcome.next_attempt_ms,
                    result.result[:2000],
                    now_ms,
                    now_ms if outcome.status == note.DELIVERED else None,
                    result.delivery_seq,
                )
                if outcome.next_attempt_ms is not None:
                    await insert_job(
                        tx,
                        DELIVER_KIND,
                        {"delivery": result.delivery_seq, "attempts": attempts},
                        outcome.next_attempt_ms,
                        deliver_key(result.delivery_seq, attempts),
                    )
                outcomes.append(outcome)
            return outcomes

        return await self._write(job)

    async def requeue_stalled(self, older_than_ms: int, now_ms: int, limit: int) -> int:
        """The safety net behind the jobs: an event never fanned out, or a pending
        delivery whose next attempt is long overdue (its job failed for good, e.g. the
        store was unreachable through all its tries), is queued again. Idempotent:
        the handlers check where the work stands."""
        stamp = f":sweep:{now_ms}"

        async def job(tx: Tx) -> int:
            count = 0
            for row in await tx.fetch(
                "SELECT event_id FROM outbox_events WHERE fanned_out_ms IS NULL"
                " AND created_ms < $1 ORDER BY created_ms LIMIT $2",
                older_than_ms,
                limit,
            ):
                count += await insert_job(
                    tx, FANOUT_KIND, {"event": row[0]}, now_ms, fanout_key(row[0]) + stamp
                )
            for row in await tx.fetch(
                "SELECT seq, attempts FROM outbox_deliveries WHERE status = $1"
                " AND COALESCE(next_attempt_ms, created_ms) < $2 ORDER BY seq LIMIT $3",
                note.PENDING,
                older_than_ms,
                limit,
            ):
                count += await insert_job(
                    tx,
                    DELIVER_KIND,
                    {"delivery": row[0], "attempts": row[1]},
                    now_ms,
                    deliver_key(row[0], row[1], stamp),
                )
            return count

        return await self._write(job, idempotent=True)

    async def case_of_message_ids(self, message_ids: Sequence[str]) -> int | None:
        """The case (seq) whose e-mail had one of these Message-IDs (In-Reply-To and
        References of a reply), or None."""
        if not message_ids:
            return None

        async def job(tx: Tx) -> int | None:
            found = await tx.fetchval(
                "SELECT e.case_seq FROM outbox_deliveries d JOIN outbox_events e"
                " ON e.seq = d.event_seq WHERE d.message_id = ANY($1::text[])"
                " ORDER BY d.seq DESC LIMIT 1",
                list(message_ids),
            )
            return int(found) if found is not None else None

        return await self._read(job)

    # --- operators: outbox list / retry, a case's deliveries ---------------------------

    async def list_deliveries(
        self,
        *,
        status: str | None = None,
        case_seq: int | None = None,
        after_seq: int = 0,
        limit: int = 100,
    ) -> list[tuple[Delivery, OutboxEvent, CaseRecord]]:
        """Deliveries in seq order after `after_seq`, optionally of one status or case."""
        arg = Params(after_seq)
        where = ["d.seq > $1", *arg.given(("d.status = {}", status), ("e.case_seq = {}", case_seq))]
        select = (
            f"SELECT {DELIVERY_COLUMNS}, {EVENT_COLUMNS}, {CASE_FIELDS}"
            " FROM outbox_deliveries d JOIN outbox_events e ON e.seq = d.event_seq"
            " JOIN cases c ON c.seq = e.case_seq"
        )
        sql = arg.page(select, where, "d.seq", limit)

        async def job(tx: Tx) -> list[tuple[Delivery, OutboxEvent, CaseRecord]]:
            return [
                (delivery_from_row(r), event_from_row(r[15:23]), case_from_row(r[23:]))
                for r in await tx.fetch(sql, *arg.values)
            ]

        return await self._scan(job)

    async def case_events(self, case_seq: int) -> list[OutboxEvent]:
        """A case's outbox events, oldest first."""
        return await self._records(
            event_from_row,
            f"SELECT {EVENT_COLUMNS} FROM outbox_events e WHERE e.case_seq = $1 ORDER BY e.seq",
            case_seq,
        )

    async def retry_delivery(self, delivery_seq: int, now_ms: int) -> Delivery | None:
        """Give a failed delivery a new series of attempts, the first one now. None if
        there is no such delivery; NotRetryable if it is not failed."""

        async def job(tx: Tx) -> Delivery | None:
            row = await tx.fetchrow(
                f"SELECT {DELIVERY_COLUMNS} FROM outbox_deliveries d WHERE d.seq = $1 FOR UPDATE",
                delivery_seq,
            )
            if row is None:
                return None
            delivery = delivery_from_row(row)
            if delivery.status != note.FAILED:
                raise NotRetryable(delivery.status)
            await tx.execute(
                "UPDATE outbox_deliveries SET status = $1, retry_base = attempts,"
                " next_attempt_ms = $2, updated_ms = $2 WHERE seq = $3",
                note.PENDING,
                now_ms,
                delivery_seq,
            )
            await insert_job(
                tx,
                DELIVER_KIND,
                {"delivery": delivery_seq, "attempts": delivery.attempts},
                now_ms,
                deliver_key(delivery_seq, delivery.attempts, f":retry:{now_ms}"),
            )
            changed = await tx.fetchrow(
                f"SELECT {DELIVERY_COLUMNS} FROM outbox_deliveries d WHERE d.seq = $1",
                delivery_seq,
            )
            assert changed is not None
            return delivery_from_row(changed)

        return await self._write(job)

    # --- webhooks ---------------------------------------------------------------------------

    async def create_webhook(self, webhook: Webhook) -> None:
        async def job(tx: Tx) -> None:
            await tx.execute(
                f"INSERT INTO webhooks ({WEBHOOK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)",
                webhook.webhook_id,
                webhook.url,
                webhook.secret_sealed,
                webhook.account_id,
                list(webhook.events),
                webhook.created_ms,
            )

        await self._write(job)

    async def get_webhook(self, webhook_id: str) -> Webhook | None:
        return await self._record(
            webhook_from_row,
            f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE webhook_id = $1",
            webhook_id,
        )

    async def list_webhooks(self) -> list[Webhook]:
        return await self._records(
            webhook_from_row, f"SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY seq"
        )

    async def delete_webhook(self, webhook_id: str) -> bool:
        """False if there was no such webhook."""

        async def job(tx: Tx) -> bool:
            return await tx.execute("DELETE FROM webhooks WHERE webhook_id = $1", webhook_id) == 1

        return await self._write(job, idempotent=True, single_statement=True)
