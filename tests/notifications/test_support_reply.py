"""Issue 12's "done when", end to end on both stores: a case created through boto3 with
a CC address mails the contact and the CC and sends a signed CreateCase event; a
support reply (staff API, then the console's form) does both again with origin AWS;
the customer's answer to that e-mail, fed to supportd's own listener, lands on the
case as the customer's communication. Internal notes never notify."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.notifications.conftest import WEBHOOK_SECRET, Notify, reply_to, send
from tests.notifications.receivers import Mail, wait_until
from tests.notifications.test_delivery import mails_to
from tests.support.clients import boto3_client
from tests.support.server import free_port
from tests.web.console_kit import PASSWORD, ConsoleSession

CC = "cc-e2e@example.net"


def events_of(notify: Notify, account: str, count: int) -> list[dict[str, str]]:
    """The webhook's first `count` events (each signature checked), in arrival order."""
    found = wait_until(
        lambda: (hits := notify.hooks.at(account)) and len(hits) >= count and hits,
        what=f"{count} webhook events of {account}",
    )
    for hit in found:
        signed = hmac.new(WEBHOOK_SECRET.encode(), hit.body, hashlib.sha256).hexdigest()
        assert hit.headers["X-Supportd-Signature"] == f"sha256={signed}"
    return [hit.json()["detail"] for hit in found]


def text_of(mail: Mail) -> str:
    part = mail.message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.fixture
def account(inbound: tuple[Notify, int]) -> Iterator[tuple[str, str, Any]]:
    """An account with a contact address and a webhook: (id, contact, boto3 client)."""
    notify, _ = inbound
    account = str(500_000_000_000 + free_port())
    contact = f"contact-{account}@example.org"
    notify.cli("accounts", "create", account, "--email", contact, "--plan", "enterprise")
    notify.webhook(account, "ok")
    client = boto3_client(notify.url, account)
    yield account, contact, client
    client.close()


def staff_member(notify: Notify) -> tuple[str, str]:
    """A staff member with an API token and a console password: (e-mail, token)."""
    name = f"e2e{free_port()}"
    email = f"{name}@support.example.com"
    notify.cli("staff", "create", name, "--email", email, "--role", "agent")
    notify.cli("staff", "password", name, "--password-stdin", input=PASSWORD + "\n")
    return email, str(notify.cli("staff", "token", name).output.split()[-1])


def staff_post(notify: Notify, token: str, path: str, body: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{notify.url}/staff/api{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_create_support_reply_and_the_customers_mail_reply(
    inbound: tuple[Notify, int], account: tuple[str, str, Any]
) -> None:
    notify, port = inbound
    account_id, contact, client = account
    case_id = client.create_case(
        subject="Disk full",
        communicationBody="The volume filled up overnight.",
        ccEmailAddresses=[CC],
    )["caseId"]

    [created] = mails_to(notify, contact, 1)
    assert sorted(created.recipients) == sorted([contact, CC])
    assert "The volume filled up overnight." in text_of(created)
    [event] = events_of(notify, account_id, 1)
    assert event["event-name"] == "CreateCase" and event["origin"] == ""
    assert event["case-id"] == case_id and event["communication-id"] == ""

    _, token = staff_member(notify)
    answer = staff_post(
        notify, token, f"/cases/{case_id}/reply", {"body": "We grew the volume to 2 TB."}
    )
    assert answer.status_code == 200, answer.text

    support = mails_to(notify, contact, 2)[1]
    assert sorted(support.recipients) == sorted([contact, CC])
    assert "We grew the volume to 2 TB." in text_of(support)
    assert support.message["In-Reply-To"] == created.message["Message-ID"]
    reply_event = events_of(notify, account_id, 2)[1]
    assert reply_event["event-name"] == "AddCommunicationToCase"
    assert reply_event["origin"] == "AWS"
    assert reply_event["case-id"] == case_id
    assert reply_event["communication-id"].startswith(f"{case_id}-comm-")

    code, said = send(port, reply_to(support, contact, "Confirmed, all good now."))
    assert code == 250 and case_id in said
    newest = client.describe_communications(caseId=case_id)["communications"][0]
    assert newest["body"] == "Confirmed, all good now."
    assert contact in newest["submittedBy"]
    customers = events_of(notify, account_id, 3)[2]
    assert customers["event-name"] == "AddCommunicationToCase"
    assert customers["origin"] == "CUSTOMER"
    assert customers["communication-id"] not in ("", reply_event["communication-id"])
    # The customer's reply is itself told to the contact and the CC.
    echoed = mails_to(notify, contact, 3)[2]
    assert sorted(echoed.recipients) == sorted([contact, CC])
    assert "Confirmed, all good now." in text_of(echoed)


def test_a_reply_from_the_console_form_notifies_and_a_note_never_does(
    inbound: tuple[Notify, int], account: tuple[str, str, Any]
) -> None:
    notify, _ = inbound
    account_id, contact, client = account
    case_id = client.create_case(
        subject="Console reply", communicationBody="Hello?", ccEmailAddresses=[CC]
    )["caseId"]
    [case] = client.describe_cases(caseIdList=[case_id])["cases"]
    shown = case["displayId"]
    mails_to(notify, contact, 1)
    email, token = staff_member(notify)

    noted = staff_post(notify, token, f"/cases/{case_id}/notes", {"body": "Secret: VIP account"})
    assert noted.status_code == 200, noted.text
    session = ConsoleSession(httpx.Client(base_url=notify.url, timeout=30))
    try:
        assert session.sign_in(email, PASSWORD).status_code == 303
        posted = session.post(
            f"/console/cases/{shown}/note", {"note": "Another secret from the console"}
        )
        assert posted.status_code == 303, posted.text
        posted = session.post(f"/console/cases/{shown}/reply", {"reply": "Answered by form."})
        assert posted.status_code == 303, posted.text
    finally:
        session.close()

    support = mails_to(notify, contact, 2)[1]
    assert sorted(support.recipients) == sorted([contact, CC])
    assert "Answered by form." in text_of(support)
    details = events_of(notify, account_id, 2)
    assert [(d["event-name"], d["origin"]) for d in details] == [
        ("CreateCase", ""),
        ("AddCommunicationToCase", "AWS"),
    ]
    # The notes made no outbox event at all, so nothing can be sent for them later.
    recorded = notify.case_deliveries(shown)["events"]
    assert [e["eventName"] for e in recorded] == ["CreateCase", "AddCommunicationToCase"]
    wait_until(
        lambda: all(
            d["status"] == "delivered"
            for e in notify.case_deliveries(shown)["events"]
            for d in e["deliveries"]
        ),
        what="every delivery of the case delivered",
    )
    assert len(notify.mail.to(contact)) == 2 and len(notify.hooks.at(account_id)) == 2
    for mail in notify.mail.to(contact):
        for part in mail.message.walk():
            if not part.is_multipart():
                assert "secret" not in str(part.get_content()).lower()
