"""The dispatcher: the job handlers that fan outbox events out and deliver them.

- `notify-fanout` (queued with the event, in the change's transaction): make the
  event's deliveries (once), then make each one's first attempt at once;
- `notify-deliver` (queued by a failed attempt, after its backoff, or by `supportd
  outbox retry`): the next attempt of one delivery;
- the periodic `notify-sweep`: queues again any outbox work whose job is gone.

Every attempt is recorded in one transaction with the retry it leads to. A handler
that dies half-way (kill -9) is run again by another worker once its lease runs out,
and finds where the work stands: deliveries are made once, and an attempt recorded
meanwhile is not recorded twice. A receiver may see a message twice, never zero
times; the idempotency key lets it drop the resend.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

from supportd.domain import mail
from supportd.domain import notifications as note
from supportd.domain.jobs import Job
from supportd.domain.notifications import Delivery, OutboxEvent, RetryPolicy
from supportd.domain.records import CaseRecord
from supportd.notifications.channel import Channel, DeliveryFailed, Message
from supportd.notifications.eventbridge import EventBridgeChannel
from supportd.notifications.smtp import SmtpChannel
from supportd.notifications.templates import MailTemplates
from supportd.notifications.webhook import WebhookChannel
from supportd.operations.background import JobKind, Periodic
from supportd.operations.context import Context
from supportd.security.secretbox import SecretBox
from supportd.storage.outbox import (
    DELIVER_KIND,
    FANOUT_KIND,
    AttemptResult,
    FanoutOptions,
)

log = logging.getLogger("supportd.notifications")

SWEEP_INTERVAL_S = 300.0
STALLED_AFTER_MS = 15 * 60_000  # well past any job's lease
SWEEP_BATCH = 500
JOB_MARGIN_S = 10.0  # a job's timeout: its attempts' timeout plus the store's time
JOB_ATTEMPTS = 50  # a handler that fails (not a delivery: the store) is run again


class Dispatcher:
    def __init__(
        self, ctx: Context, box: Callable[[], SecretBox], reply_key: Callable[[], bytes]
    ) -> None:
        """`box` (webhook secrets) and `reply_key` (signed Reply-To addresses): the
        server key's uses, asked for when first needed."""
        config = ctx.config
        self.ctx = ctx
        self.policy = RetryPolicy(
            config.notify_max_attempts, config.notify_backoff_ms, config.notify_backoff_max_ms
        )
        self.options = FanoutOptions(
            email=bool(config.smtp_url),
            eventbridge=bool(config.eventbridge_bus),
            mail_domain=mail.mail_domain(config.reply_domain, config.mail_from),
        )
        self.timeout_s = config.notify_timeout_ms / 1000
        self.channels: dict[str, Channel] = {
            note.WEBHOOK: WebhookChannel(ctx.store, functools.cache(box), self.timeout_s)
        }
        if config.smtp_url:
            templates = MailTemplates(config.mail_templates)
            templates.check()
            self.channels[note.EMAIL] = SmtpChannel(ctx, templates, functools.cache(reply_key))
        if config.eventbridge_bus:
            self.channels[note.EVENTBRIDGE] = EventBridgeChannel(config)

    # --- what the worker runs -------------------------------------------------------

    def kinds(self) -> dict[str, JobKind]:
        timeout = self.timeout_s + JOB_MARGIN_S
        return {
            FANOUT_KIND: JobKind(
                self.fan_out, timeout, JOB_ATTEMPTS, batch_handler=self.fan_out_batch
            ),
            DELIVER_KIND: JobKind(
                self.deliver, timeout, JOB_ATTEMPTS, batch_handler=self.deliver_batch
            ),
        }

    def periodic(self) -> dict[str, Periodic]:
        # Its timeout as the jobs': the worker's lease follows the longest timeout.
        timeout = self.timeout_s + JOB_MARGIN_S
        return {"notify-sweep": Periodic("notify-sweep", SWEEP_INTERVAL_S, self.sweep, timeout)}

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()

    # --- handlers ----------------------------------------------------------------------

    async def fan_out(self, ctx: Context, job: Job) -> None:
        await self.fan_out_batch(ctx, [job])

    async def fan_out_batch(self, ctx: Context, jobs: list[Job]) -> None:
        """Fan the events out (one transaction), make every delivery's first attempt at
        once, record them all (one transaction)."""
        event_ids = [str(job.payload["event"]) for job in jobs]
        works = await ctx.store.fan_out(event_ids, self.options, ctx.clock.now_ms())
        first = [
            self._attempt(d, work.event, work.case)
            for work in works
            for d in work.deliveries
            if d.status == note.PENDING and d.attempts == 0 and d.retry_base == 0
        ]
        if first:
            results = await asyncio.gather(*first)
            await ctx.store.record_attempts(results, self.policy, ctx.clock.now_ms())

    async def deliver(self, ctx: Context, job: Job) -> None:
        await self.deliver_batch(ctx, [job])

    async def deliver_batch(self, ctx: Context, jobs: list[Job]) -> None:
        """The next attempt of each delivery, unless it was recorded meanwhile (by
        another node, or by this job's earlier run)."""
        attempts = []
        for job in jobs:
            work = await ctx.store.delivery_work(int(job.payload["delivery"]))
            if work is None:
                continue
            delivery = work.delivery
            if delivery.status == note.PENDING and delivery.attempts == job.payload["attempts"]:
                attempts.append(self._attempt(delivery, work.event, work.case))
        if attempts:
            results = await asyncio.gather(*attempts)
            await ctx.store.record_attempts(results, self.policy, ctx.clock.now_ms())

    async def sweep(self, ctx: Context, job: Job) -> None:
        now = ctx.clock.now_ms()
        queued = await ctx.store.requeue_stalled(now - STALLED_AFTER_MS, now, SWEEP_BATCH)
        if queued:
            log.warning("notifications: queued %d stalled outbox jobs again", queued)

    async def _attempt(
        self, delivery: Delivery, event: OutboxEvent, case: CaseRecord
    ) -> AttemptResult:
        def failed(reason: str, final: bool = False) -> AttemptResult:
            return AttemptResult(delivery.seq, delivery.attempts, False, reason, final)

        channel = self.channels.get(delivery.channel)
        if channel is None:
            return failed(f"{delivery.channel} is not configured on this node")
        try:
            answer = await asyncio.wait_for(
                channel.send(Message(delivery, event, case)), self.timeout_s
            )
        except TimeoutError:
            return failed(f"no answer within {self.ctx.config.notify_timeout_ms} ms")
        except DeliveryFailed as exc:
            return failed(exc.reason, exc.final)
        except Exception as exc:  # a bug must not stop the other deliveries
            log.exception("delivery %s failed unexpectedly", delivery.seq)
            return failed(f"{type(exc).__name__}: {exc}")
        return AttemptResult(delivery.seq, delivery.attempts, True, answer)
