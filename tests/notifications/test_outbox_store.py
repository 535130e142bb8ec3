"""The outbox in the store, on both stores: events commit with their change (or not at
all), the staff hook, fan-out made once, attempts recorded once with their retries, and
the safety net behind the jobs."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from supportd.domain import lifecycle, staff
from supportd.domain import notifications as note
from supportd.domain.accounts import Account, LimitOverrides
from supportd.domain.errors import ReopenWindowClosed
from supportd.domain.notifications import RetryPolicy, Webhook
from supportd.domain.plans import ENTERPRISE
from supportd.domain.records import CUSTOMER, NewCase, NewCommunication
from supportd.domain.staff import CaseWork, StaffAction, StaffCase
from supportd.storage import outbox
from supportd.storage.base import Store
from supportd.storage.outbox import AttemptResult, FanoutOptions, NotRetryable
from supportd.storage.sql import Tx

T0 = 1_700_000_000_000
ACCOUNT = "111122223333"
OTHER = "444455556666"
EVERYTHING = FanoutOptions(email=True, eventbridge=True, mail_domain="mail.example.com")
POLICY = RetryPolicy(max_attempts=3, backoff_ms=1000, backoff_max_ms=3000)
_ids = iter(range(10**15, 10**16))


def new_case(account: str = ACCOUNT, cc: tuple[str, ...] = ("cc@example.net",)) -> NewCase:
    return NewCase(
        case_id=f"case-{account}-supd-2023-{next(_ids):016x}",
        account_id=account,
        subject="Outbox",
        service_code=None,
        category_code=None,
        severity_code="low",
        language="en",
        issue_type="technical",
        submitted_by="someone@example.com",
        cc_emails=cc,
        created_ms=T0,
    )


def comm(body: str = "hello", at: int = T0, cc: tuple[str, ...] = ()) -> NewCommunication:
    return NewCommunication(body, "someone", CUSTOMER, cc, at)


async def events(store: Store, case_seq: int) -> list[tuple[str, str, bool]]:
    return [
        (e.event_name, e.origin, e.communication_seq is not None)
        for e in await store.case_events(case_seq)
    ]


async def fan_out_jobs(store: Store) -> list[str]:
    return [
        j.payload["event"]
        for j in await store.claim_jobs([outbox.FANOUT_KIND], T0 + 10**9, 1000, 100)
    ]


async def test_every_customer_change_commits_its_event_and_its_job(store: Store) -> None:
    case = await store.create_case(new_case(), comm("first"))
    await store.add_communication(ACCOUNT, case.case_id, comm("second", T0 + 1))
    await store.resolve_case(ACCOUNT, case.case_id, T0 + 2)
    await store.resolve_case(ACCOUNT, case.case_id, T0 + 3)  # resolved already: nothing
    await store.add_communication(ACCOUNT, case.case_id, comm("reopen", T0 + 4))
    assert await events(store, case.seq) == [
        (note.CREATE_CASE, "", True),
        (note.ADD_COMMUNICATION, note.ORIGIN_CUSTOMER, True),
        (note.RESOLVE_CASE, "", False),
        (note.ADD_COMMUNICATION, note.ORIGIN_CUSTOMER, True),
        (note.REOPEN_CASE, "", True),
    ]
    recorded = [e.event_id for e in await store.case_events(case.seq)]
    assert sorted(await fan_out_jobs(store)) == sorted(recorded)


async def test_a_refused_change_leaves_no_event(store: Store) -> None:
    case = await store.create_case(new_case(), comm())
    await store.resolve_case(ACCOUNT, case.case_id, T0)
    late = T0 + 15 * 24 * 3_600_000  # past the reopen window
    with pytest.raises(ReopenWindowClosed):
        await store.add_communication(ACCOUNT, case.case_id, comm("too late", late))
    assert [e[0] for e in await events(store, case.seq)] == [note.CREATE_CASE, note.RESOLVE_CASE]
    assert await store.add_communication(OTHER, case.case_id, comm("intruder")) is None
    assert len(await events(store, case.seq)) == 2


def _staff_case(case: Any, status: str) -> StaffCase:
    return StaffCase(msgspec.structs.replace(case, status=status), CaseWork())


async def _apply(store: Store, case_seq: int, outcome: staff.Outcome, comm_seq: int | None) -> None:
    async def job(tx: Tx) -> None:
        await outbox.record_staff_change(tx, case_seq, outcome, comm_seq, T0 + 5, False)

    await store._write(job)  # type: ignore[attr-defined]


async def test_the_staff_hook_notifies_replies_resolutions_and_reopenings_never_notes(
    store: Store,
) -> None:
    case = await store.create_case(new_case(), comm())
    current = _staff_case(case, lifecycle.WORK_IN_PROGRESS)

    def act(kind: str, **fields: Any) -> staff.Outcome:
        return staff.decide(current, StaffAction(kind, "agent1", T0 + 5, **fields))

    await _apply(store, case.seq, act(staff.NOTE, body="internal only"), None)
    await _apply(store, case.seq, act(staff.ASSIGN, assignee="agent2"), None)
    assert await events(store, case.seq) == [(note.CREATE_CASE, "", True)]

    await _apply(store, case.seq, act(staff.REPLY, body="we are on it"), 4242)
    await _apply(store, case.seq, act(staff.RESOLVE), None)
    reopened = staff.Outcome(
        lifecycle.WORK_IN_PROGRESS,
        None,
        CaseWork(),
        status_change=(lifecycle.RESOLVED, lifecycle.WORK_IN_PROGRESS),
    )
    await _apply(store, case.seq, reopened, None)
    assert await events(store, case.seq) == [
        (note.CREATE_CASE, "", True),
        (note.ADD_COMMUNICATION, note.ORIGIN_AWS, True),
        (note.RESOLVE_CASE, "", False),
        (note.REOPEN_CASE, "", False),
    ]
    [reply] = [e for e in await store.case_events(case.seq) if e.origin == note.ORIGIN_AWS]
    assert reply.communication_seq == 4242


async def test_a_staff_transaction_that_fails_leaves_no_event(store: Store) -> None:
    case = await store.create_case(new_case(), comm())
    outcome = staff.decide(
        _staff_case(case, lifecycle.WORK_IN_PROGRESS),
        StaffAction(staff.REPLY, "agent1", T0 + 5, body="never sent"),
    )

    async def job(tx: Tx) -> None:
        await outbox.record_staff_change(tx, case.seq, outcome, 1, T0 + 5, False)
        raise RuntimeError("the rest of the staff action failed")

    with pytest.raises(RuntimeError):
        await store._write(job)  # type: ignore[attr-defined]
    assert await events(store, case.seq) == [(note.CREATE_CASE, "", True)]


async def test_auto_resolve_hook(store: Store) -> None:
    first = await store.create_case(new_case(), comm())
    second = await store.create_case(new_case(), comm())

    async def job(tx: Tx) -> None:
        await outbox.record_auto_resolved(tx, [first.seq, second.seq], T0 + 9, False)

    await store._write(job)  # type: ignore[attr-defined]
    assert [e[0] for e in await events(store, second.seq)] == [note.CREATE_CASE, note.RESOLVE_CASE]


async def _webhook(store: Store, account: str | None, names: tuple[str, ...]) -> str:
    webhook_id = note.new_webhook_id()
    await store.create_webhook(
        Webhook(webhook_id, f"http://127.0.0.1:1/{webhook_id}", "sealed", account, names, T0)
    )
    return webhook_id


async def _every_kind_of_change(store: Store) -> list[int]:
    """A case created (on PostgreSQL the one-statement path), replied to, resolved and
    reopened; another answered by staff, then auto-resolved: their seqs."""
    case = await store.create_case(new_case(), comm())
    await store.add_communication(ACCOUNT, case.case_id, comm("second", T0 + 1))
    await store.resolve_case(ACCOUNT, case.case_id, T0 + 2)
    await store.add_communication(ACCOUNT, case.case_id, comm("reopen", T0 + 3))
    idle = await store.create_case(new_case(), comm())
    reply = StaffAction(staff.REPLY, "agent1", T0 + 4, body="on it")
    await store.apply_staff_action(idle.seq, reply)  # waits on the customer from now
    assert await store.auto_resolve(T0 + 10**9, T0 + 10**9, 10) == [idle.case_id]
    return [case.seq, idle.seq]


async def test_with_no_channel_but_webhooks_no_event_is_recorded_until_one_exists(
    store: Store,
) -> None:
    store.events_need_a_webhook = True
    quiet = await _every_kind_of_change(store)
    for seq in quiet:
        assert await store.case_events(seq) == []
    assert await fan_out_jobs(store) == []

    await _webhook(store, OTHER, (note.CREATE_CASE,))  # any webhook: fan-out filters later
    heard = await _every_kind_of_change(store)
    assert [e[0] for e in await events(store, heard[0])] == [
        note.CREATE_CASE,
        note.ADD_COMMUNICATION,
        note.RESOLVE_CASE,
        note.ADD_COMMUNICATION,
        note.REOPEN_CASE,
    ]
    assert [e[:2] for e in await events(store, heard[1])] == [
        (note.CREATE_CASE, ""),
        (note.ADD_COMMUNICATION, note.ORIGIN_AWS),
        (note.RESOLVE_CASE, ""),
    ]
    recorded = [e.event_id for seq in heard for e in await store.case_events(seq)]
    assert sorted(await fan_out_jobs(store)) == sorted(recorded)


async def test_by_default_every_change_is_recorded_without_any_webhook(store: Store) -> None:
    assert store.events_need_a_webhook is False
    seqs = await _every_kind_of_change(store)
    assert [len(await store.case_events(seq)) for seq in seqs] == [5, 3]


async def test_fan_out_makes_each_delivery_once(store: Store) -> None:
    mine = await _webhook(store, ACCOUNT, note.EVENT_NAMES)
    everyone = await _webhook(store, None, (note.CREATE_CASE,))
    await _webhook(store, OTHER, note.EVENT_NAMES)  # another account's
    await _webhook(store, ACCOUNT, (note.RESOLVE_CASE,))  # another event
    case = await store.create_case(new_case(cc=("a@example.net", "A@example.net")), comm())
    [event] = await store.case_events(case.seq)

    [work] = await store.fan_out([event.event_id], EVERYTHING, T0 + 100)
    assert work.case.case_id == case.case_id
    made = {(d.channel, d.target): d for d in work.deliveries}
    assert set(made) == {
        (note.EMAIL, note.EMAIL_TARGET),
        (note.WEBHOOK, mine),
        (note.WEBHOOK, everyone),
        (note.EVENTBRIDGE, note.EVENTBRIDGE_TARGET),
    }
    email = made[(note.EMAIL, note.EMAIL_TARGET)]
    assert email.recipients == ("a@example.net",)  # no contact (open mode); one CC, once
    assert email.message_id == f"<{email.idempotency_key}@mail.example.com>"
    assert all(d.status == note.PENDING and d.attempts == 0 for d in work.deliveries)
    assert email.idempotency_key == note.idempotency_key(event.event_id, note.EMAIL, "contacts")

    [again] = await store.fan_out([event.event_id], EVERYTHING, T0 + 200)
    assert again.deliveries == work.deliveries
    assert again.event.fanned_out_ms == T0 + 100
    assert await store.fan_out(["no-such-event"], EVERYTHING, T0) == []

    quiet = FanoutOptions(email=False, eventbridge=False, mail_domain="x")
    case2 = await store.create_case(new_case(), comm())
    [event2] = await store.case_events(case2.seq)
    [work2] = await store.fan_out([event2.event_id], quiet, T0)
    assert {d.channel for d in work2.deliveries} == {note.WEBHOOK}


async def test_the_contact_comes_first_then_the_case_and_communication_cc(store: Store) -> None:
    await store.create_account(
        Account(ACCOUNT, "contact@example.org", ENTERPRISE, LimitOverrides(), T0)
    )
    case = await store.create_case(new_case(cc=("cc@example.net",)), comm())
    await store.add_communication(
        ACCOUNT, case.case_id, comm("more", T0 + 1, cc=("extra@example.net", "CC@example.net"))
    )
    [_, reply] = await store.case_events(case.seq)
    [work] = await store.fan_out([reply.event_id], EVERYTHING, T0 + 2)
    [email] = [d for d in work.deliveries if d.channel == note.EMAIL]
    assert email.recipients == ("contact@example.org", "cc@example.net", "extra@example.net")


async def _delivery(store: Store) -> Any:
    case = await store.create_case(new_case(), comm())
    [event] = await store.case_events(case.seq)
    options = FanoutOptions(email=False, eventbridge=True, mail_domain="x")
    [work] = await store.fan_out([event.event_id], options, T0)
    [delivery] = work.deliveries
    return delivery


async def test_attempts_retry_with_backoff_then_fail(store: Store) -> None:
    delivery = await _delivery(store)
    now = T0 + 1000
    [first] = await store.record_attempts(
        [AttemptResult(delivery.seq, 0, False, "HTTP 500")], POLICY, now
    )
    assert first == note.AttemptOutcome(note.PENDING, now + 1000)
    [job] = await store.claim_jobs([outbox.DELIVER_KIND], now + 1000, 1000, 10)
    assert job.payload == {"delivery": delivery.seq, "attempts": 1}
    assert await store.claim_jobs([outbox.DELIVER_KIND], now + 999, 1000, 10) == []

    # The same attempt recorded again (a second node, a rerun) changes nothing.
    assert await store.record_attempts(
        [AttemptResult(delivery.seq, 0, False, "HTTP 500")], POLICY, now
    ) == [None]
    [second] = await store.record_attempts(
        [AttemptResult(delivery.seq, 1, False, "HTTP 502")], POLICY, now
    )
    assert second == note.AttemptOutcome(note.PENDING, now + 2000)
    [third] = await store.record_attempts(
        [AttemptResult(delivery.seq, 2, False, "timeout")], POLICY, now
    )
    assert third == note.AttemptOutcome(note.FAILED, None)
    work = await store.delivery_work(delivery.seq)
    assert work is not None and work.delivery.status == note.FAILED
    assert work.delivery.attempts == 3 and work.delivery.last_result == "timeout"

    retried = await store.retry_delivery(delivery.seq, now + 5)
    assert retried is not None and retried.status == note.PENDING and retried.retry_base == 3
    with pytest.raises(NotRetryable):
        await store.retry_delivery(delivery.seq, now + 6)
    assert await store.retry_delivery(10**9, now) is None
    [ok] = await store.record_attempts(
        [AttemptResult(delivery.seq, 3, True, "EventId x")], POLICY, now + 7
    )
    assert ok == note.AttemptOutcome(note.DELIVERED, None)
    done = await store.delivery_work(delivery.seq)
    assert done is not None and done.delivery.delivered_ms == now + 7
    # The same successful attempt recorded again (another node, a rerun): no change.
    assert await store.record_attempts(
        [AttemptResult(delivery.seq, 3, True, "EventId y")], POLICY, now + 9
    ) == [None]
    again = await store.delivery_work(delivery.seq)
    assert again is not None and again.delivery.delivered_ms == now + 7
    assert again.delivery.last_result == "EventId x" and again.delivery.attempts == 4


async def test_a_final_failure_fails_at_once(store: Store) -> None:
    delivery = await _delivery(store)
    [outcome] = await store.record_attempts(
        [AttemptResult(delivery.seq, 0, False, "the webhook was deleted", final=True)], POLICY, T0
    )
    assert outcome == note.AttemptOutcome(note.FAILED, None)


async def test_stalled_work_is_queued_again(store: Store) -> None:
    case = await store.create_case(new_case(), comm())
    [event] = await store.case_events(case.seq)
    await store.claim_jobs([outbox.FANOUT_KIND], T0 + 10, 1000, 10)  # its worker dies
    assert await store.requeue_stalled(T0 - 1, T0 + 10, 100) == 0  # not stalled yet
    assert await store.requeue_stalled(T0 + 1, T0 + 10, 100) == 1
    [job] = await store.claim_jobs([outbox.FANOUT_KIND], T0 + 10, 1000, 10)
    assert job.payload == {"event": event.event_id}
    await store.fan_out([event.event_id], EVERYTHING, T0 + 20)
    # Two pending deliveries that nobody attempts: each queued again, once per sweep.
    assert await store.requeue_stalled(T0 + 21, T0 + 30, 100) == 2
    assert await store.requeue_stalled(T0 + 21, T0 + 30, 100) == 0


async def test_webhooks_are_kept_and_deleted(store: Store) -> None:
    first = await _webhook(store, ACCOUNT, (note.CREATE_CASE,))
    second = await _webhook(store, None, note.EVENT_NAMES)
    assert [h.webhook_id for h in await store.list_webhooks()] == [first, second]
    found = await store.get_webhook(second)
    assert found is not None and found.account_id is None and found.events == note.EVENT_NAMES
    assert await store.delete_webhook(first) is True
    assert await store.delete_webhook(first) is False
    assert await store.get_webhook(first) is None
