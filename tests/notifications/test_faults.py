"""Receivers that fail: each failure ends in a clear record (retried with backoff, then
delivered or failed with its reason), never in a lost notification or a slow API. Real
server, real receivers, both stores; backoffs of 150 ms doubling up to 600 ms, four
attempts, a 1 s timeout (tests/notifications/conftest.py)."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from tests.notifications.conftest import MAX_ATTEMPTS, Notify
from tests.notifications.receivers import WebhookReceiver, wait_until


def only_delivery(notify: Notify, case_id: str, channel: str) -> dict[str, Any] | None:
    found = notify.case_deliveries(case_id)
    mine = [d for e in found["events"] for d in e["deliveries"] if d["channel"] == channel]
    return mine[0] if mine else None


def settled(notify: Notify, case_id: str, channel: str, status: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        delivery = only_delivery(notify, case_id, channel)
        return delivery if delivery and delivery["status"] == status else None

    return dict(wait_until(check, what=f"the {channel} delivery {status}"))


def attempted(notify: Notify, case_id: str, channel: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        delivery = only_delivery(notify, case_id, channel)
        return delivery if delivery and delivery["attempts"] >= 1 else None

    return dict(wait_until(check, what=f"a first {channel} attempt"))


def new_case(customer: Any, subject: str = "Faults") -> str:
    return str(customer.create_case(subject=subject, communicationBody="x")["caseId"])


def test_an_error_status_is_retried_with_backoff_then_failed_then_retried_by_hand(
    notify: Notify, customer: Any, customer_account: str
) -> None:
    notify.webhook(customer_account, "500")
    case_id = new_case(customer)
    failed = settled(notify, case_id, "webhook", "failed")
    assert failed["attempts"] == MAX_ATTEMPTS
    assert failed["lastResult"] == "HTTP 500 Internal Server Error"
    hits = notify.hooks.at(customer_account)
    assert len(hits) == MAX_ATTEMPTS
    assert len({h.headers["X-Supportd-Delivery"] for h in hits}) == 1  # one message, resent
    assert len({h.body for h in hits}) == 1

    listed = json.loads(notify.cli("outbox", "list", "--status", "failed", "--json").output)
    assert failed["id"] in [d["id"] for d in listed["deliveries"]]
    assert all(d["status"] == "failed" for d in listed["deliveries"])

    notify.hooks.overrides[customer_account] = "ok"  # the receiver is mended
    retried = json.loads(notify.cli("outbox", "retry", str(failed["id"]), "--json").output)
    assert retried["delivery"]["status"] == "pending"
    delivered = settled(notify, case_id, "webhook", "delivered")
    assert delivered["attempts"] == MAX_ATTEMPTS + 1 and delivered["lastResult"] == "HTTP 204"
    again = notify.cli("outbox", "retry", str(failed["id"]), ok=False)
    assert again.exit_code == 1 and "is delivered: only a failed one is retried" in again.output


def test_attempts_back_off_exponentially(
    notify: Notify, customer: Any, customer_account: str
) -> None:
    notify.webhook(customer_account, "500")
    case_id = new_case(customer)
    settled(notify, case_id, "webhook", "failed")
    arrivals = [h.at for h in notify.hooks.at(customer_account)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    # 150 ms, 300 ms, then the 600 ms cap (each at least its backoff; polls add a little).
    for gap, backoff in zip(gaps, (0.15, 0.3, 0.6), strict=True):
        assert backoff <= gap < backoff + 1.0, gaps


def test_a_receiver_that_flaps_gets_the_event_once_it_answers(
    notify: Notify, customer: Any, customer_account: str
) -> None:
    notify.webhook(customer_account, "flaky")  # 503 twice, then 204
    case_id = new_case(customer)
    delivered = settled(notify, case_id, "webhook", "delivered")
    assert delivered["attempts"] == 3 and delivered["lastResult"] == "HTTP 204"


def test_a_hanging_receiver_times_out_and_never_slows_the_api(
    notify: Notify, customer: Any, customer_account: str
) -> None:
    notify.webhook(customer_account, "hang")
    case_id = new_case(customer)
    attempted(notify, case_id, "webhook")
    started = time.monotonic()
    for _ in range(5):
        customer.describe_cases(caseIdList=[case_id])
    assert time.monotonic() - started < 2.0
    failed = settled(notify, case_id, "webhook", "failed")
    assert failed["lastResult"].startswith("no answer"), failed
    assert failed["attempts"] == MAX_ATTEMPTS


def test_a_dropped_connection_is_a_failed_attempt(
    notify: Notify, customer: Any, customer_account: str
) -> None:
    notify.webhook(customer_account, "drop")
    case_id = new_case(customer)
    failed = settled(notify, case_id, "webhook", "failed")
    assert "connection dropped" in failed["lastResult"] or "disconnected" in failed["lastResult"]


def test_a_receiver_down_for_a_while_gets_the_event_when_it_is_back(
    notify: Notify, customer: Any, customer_account: str
) -> None:
    late = WebhookReceiver()  # not listening yet
    args = ["webhooks", "create", "--url", late.url("ok", customer_account)]
    notify.cli(*args, "--secret", "another-secret-long-enough", "--account", customer_account)
    case_id = new_case(customer)
    first = attempted(notify, case_id, "webhook")
    assert first["status"] == "pending" and "cannot connect" in first["lastResult"]
    late.start()
    try:
        delivered = settled(notify, case_id, "webhook", "delivered")
        assert delivered["attempts"] >= 2
        assert len(late.at(customer_account)) == 1
    finally:
        late.stop()


def test_an_smtp_server_that_refuses_leads_to_a_failure_with_its_answer(
    notify: Notify, customer: Any, customer_account: str
) -> None:
    notify.mail.refuse = "550 5.1.1 no such mailbox"
    try:
        case_id = new_case(customer)
        failed = settled(notify, case_id, "email", "failed")
    finally:
        notify.mail.refuse = ""
    assert "refused every recipient" in failed["lastResult"]
    assert "550" in failed["lastResult"] and "no such mailbox" in failed["lastResult"]
    assert failed["attempts"] == MAX_ATTEMPTS


def test_an_smtp_server_that_is_down_gets_the_mail_when_it_is_back(
    notify: Notify, customer: Any, customer_account: str
) -> None:
    contact = f"contact-{customer_account}@example.org"
    notify.mail.stop()
    try:
        case_id = new_case(customer)
        first = attempted(notify, case_id, "email")
    finally:
        notify.mail.start()
    assert first["status"] == "pending"
    assert first["lastResult"].startswith(f"smtp://127.0.0.1:{notify.mail.port}: ")
    delivered = settled(notify, case_id, "email", "delivered")
    assert delivered["attempts"] >= 2
    assert len(notify.mail.to(contact)) == 1


def test_mail_reuses_its_connection_and_a_dropped_one_costs_no_attempt(
    notify: Notify, customer: Any, customer_account: str
) -> None:
    contact = f"contact-{customer_account}@example.org"
    new_case(customer)
    wait_until(lambda: len(notify.mail.to(contact)) == 1, what="the first mail")
    greeted = notify.mail.greetings
    for count in (2, 3):
        new_case(customer)
        wait_until(lambda n=count: len(notify.mail.to(contact)) == n, what=f"mail {count}")
    assert notify.mail.greetings == greeted  # the same connection, no new EHLO
    notify.mail.stop()  # drops the connection the pool keeps
    notify.mail.start()
    case_id = new_case(customer)
    delivered = settled(notify, case_id, "email", "delivered")
    assert delivered["attempts"] == 1
    assert notify.mail.greetings == greeted + 1
    assert len(notify.mail.to(contact)) == 4
