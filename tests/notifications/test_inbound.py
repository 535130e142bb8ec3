"""E-mail in, on both stores: replies fed to supportd's own listener with aiosmtplib
become the customer's communications; every refusal is an SMTP error that says why,
with nothing written."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aiosmtplib
import pytest

from tests.notifications.conftest import MAX_INBOUND_BYTES as MAX_BYTES
from tests.notifications.conftest import Notify, reply_to, send
from tests.notifications.receivers import Mail, wait_until
from tests.support.clients import boto3_client
from tests.support.server import free_port


def bodies(client: Any, case_id: str) -> list[str]:
    comms = client.describe_communications(caseId=case_id)["communications"]
    return [c["body"] for c in comms]


@pytest.fixture
def case(inbound: tuple[Notify, int]) -> Iterator[tuple[Any, str, Mail, str]]:
    notify, _ = inbound
    account = str(600_000_000_000 + free_port())
    contact = f"contact-{account}@example.org"
    notify.cli("accounts", "create", account, "--email", contact, "--plan", "enterprise")
    client = boto3_client(notify.url, account)
    case_id = client.create_case(
        subject="Mail me", communicationBody="first", ccEmailAddresses=["cc@example.net"]
    )["caseId"]
    [mail] = wait_until(lambda: notify.mail.to(contact), what="the case's e-mail")
    yield client, case_id, mail, contact
    client.close()


def test_a_reply_to_the_mail_becomes_the_customers_communication_once(
    inbound: tuple[Notify, int], case: tuple[Any, str, Mail, str]
) -> None:
    notify, port = inbound
    client, case_id, mail, contact = case
    message = reply_to(mail, contact, "Thanks, that fixed it.")
    code, answer = send(port, message)
    assert code == 250 and case_id in answer
    assert bodies(client, case_id)[0] == "Thanks, that fixed it."
    [comm] = client.describe_communications(caseId=case_id)["communications"][:1]
    assert contact in comm["submittedBy"]
    # The MTA delivers it again: accepted, not added twice.
    assert send(port, message)[0] == 250
    assert bodies(client, case_id) == ["Thanks, that fixed it.", "first"]
    # A CC address may reply too; the case's own e-mail tells of it.
    assert send(port, reply_to(mail, "cc@example.net", "From the CC."))[0] == 250
    assert bodies(client, case_id)[0] == "From the CC."
    wait_until(lambda: len(notify.mail.to(contact)) >= 3, what="the replies' e-mails")


def test_mail_to_the_support_address_is_threaded_by_its_references_never_the_subject(
    inbound: tuple[Notify, int], case: tuple[Any, str, Mail, str]
) -> None:
    _, port = inbound
    client, case_id, mail, contact = case
    threaded = reply_to(mail, contact, "By references.", to="help@example.com")
    assert send(port, threaded)[0] == 250
    assert bodies(client, case_id)[0] == "By references."
    subject_only = reply_to(mail, contact, "By subject.", to="help@example.com")
    del subject_only["In-Reply-To"], subject_only["References"]
    code, answer = send(port, subject_only)
    assert code == 550 and "names no case" in answer
    assert bodies(client, case_id)[0] == "By references."


def test_refusals_say_why_and_write_nothing(
    inbound: tuple[Notify, int], case: tuple[Any, str, Mail, str]
) -> None:
    _, port = inbound
    client, case_id, mail, contact = case
    reply_address = mail.message["Reply-To"]
    local, domain = reply_address.split("@")
    forged_local = local[:-1] + ("a" if local[-1] != "a" else "b")
    cases = [
        (reply_to(mail, contact, "x", to=f"{forged_local}@{domain}"), 550, "Forged"),
        (reply_to(mail, contact, "x", to=f"{local}@elsewhere.example"), 550, "Unknown recipient"),
        (
            reply_to(mail, contact, "x", to="case+1000000001-aaaaaaaaaaaaaaaa@" + domain),
            550,
            "Forged",
        ),
        (reply_to(mail, "stranger@example.com", "x"), 550, "not the case's contact"),
    ]
    huge = reply_to(mail, contact, "A large log.")
    huge.add_attachment(
        b"x" * (MAX_BYTES + 1000),
        maintype="application",
        subtype="octet-stream",
        filename="big.bin",
    )
    cases.append((huge, 552, ""))
    too_many = reply_to(mail, contact, "Four files.")
    for n in range(4):
        too_many.add_attachment(b"data", maintype="text", subtype="plain", filename=f"f{n}.txt")
    cases.append((too_many, 552, "at most 3"))
    for message, expected_code, reason in cases:
        code, answer = send(port, message)
        assert code == expected_code and reason in answer, (code, answer)

    malformed = (
        b"From: " + contact.encode() + b"\r\nTo: " + reply_address.encode() + b"\r\n"
        b"Subject: broken\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="never-used"\r\n\r\nno parts at all\r\n'
    )

    async def raw() -> tuple[int, str]:
        try:
            await aiosmtplib.send(
                malformed,
                sender=contact,
                recipients=[reply_address],
                hostname="127.0.0.1",
                port=port,
            )
        except aiosmtplib.SMTPResponseException as exc:
            return exc.code, exc.message
        return 250, ""

    code, answer = asyncio.run(raw())
    assert code == 550 and "Malformed message" in answer
    assert bodies(client, case_id) == ["first"]


def test_a_reply_with_files_attaches_them(
    inbound: tuple[Notify, int], case: tuple[Any, str, Mail, str]
) -> None:
    _, port = inbound
    client, case_id, mail, contact = case
    message = reply_to(mail, contact, "The log you asked for.")
    message.add_attachment(
        b"line 1\nline 2\n", maintype="text", subtype="plain", filename="app.log"
    )
    assert send(port, message)[0] == 250
    [newest] = client.describe_communications(caseId=case_id)["communications"][:1]
    assert newest["body"] == "The log you asked for."
    [attached] = newest["attachmentSet"]
    assert attached["fileName"] == "app.log"
    data = client.describe_attachment(attachmentId=attached["attachmentId"])["attachment"]["data"]
    assert data == b"line 1\nline 2\n"
