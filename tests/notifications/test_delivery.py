"""E-mail, webhooks and EventBridge from a real server, on both stores: what each change
sends, to whom, in what shape; threading; links instead of files; what operators see."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from typing import Any

import httpx

from supportd.domain import mail as mail_rules
from tests.notifications.conftest import (
    MAIL_FROM,
    REPLY_DOMAIN,
    WEBHOOK_SECRET,
    Notify,
    staff_get,
    staff_token,
)
from tests.notifications.receivers import Mail, wait_until


def display_id(client: Any, case_id: str) -> str:
    [case] = client.describe_cases(caseIdList=[case_id], includeResolvedCases=True)["cases"]
    return str(case["displayId"])


def mails_to(notify: Notify, address: str, count: int) -> list[Mail]:
    return wait_until(
        lambda: (found := notify.mail.to(address)) and len(found) >= count and found,
        what=f"{count} mails to {address}",
    )


def hits(notify: Notify, account: str, count: int) -> list[Any]:
    return wait_until(
        lambda: (found := notify.hooks.at(account)) and len(found) >= count and found,
        what=f"{count} webhook requests of {account}",
    )


def parts(message: Any) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_content()
        for part in message.walk()
        if not part.is_multipart()
    }


def test_create_case_mails_the_contact_and_cc_and_sends_signed_events(
    notify: Notify, customer: Any, customer_account: str
) -> None:
    notify.webhook(customer_account, "ok")
    case_id = customer.create_case(
        subject="Database is slow",
        communicationBody="Queries take 10 s since this morning.",
        ccEmailAddresses=["cc-one@example.net"],
        language="en",
    )["caseId"]
    shown = display_id(customer, case_id)
    contact = f"contact-{customer_account}@example.org"

    [mail] = mails_to(notify, contact, 1)
    assert sorted(mail.recipients) == sorted([contact, "cc-one@example.net"])
    message = mail.message
    assert message["Subject"] == f"[Case {shown}] Database is slow"
    assert message["From"] == MAIL_FROM
    assert message["To"] == contact and message["Cc"] == "cc-one@example.net"
    assert re.fullmatch(r"<[0-9a-f-]{36}@reply\.example\.com>", message["Message-ID"])
    assert message["In-Reply-To"] is None  # the first message of the case
    assert message["Auto-Submitted"] == "auto-generated"
    local, domain = message["Reply-To"].split("@")
    assert domain == REPLY_DOMAIN and local.startswith(f"case+{shown}-")
    seq, signature = mail_rules.parse_reply_local_part(local) or (0, "")
    assert seq == int(shown) - 1_000_000_000
    assert mail_rules.reply_signature_valid(notify.server_key(), case_id, signature)
    assert not mail_rules.reply_signature_valid(notify.server_key(), case_id + "0", signature)
    texts = parts(message)
    assert set(texts) == {"text/plain", "text/html"}
    assert "Queries take 10 s since this morning." in texts["text/plain"]
    assert "We have received your case." in texts["text/html"]
    assert case_id in texts["text/plain"]

    [hit] = hits(notify, customer_account, 1)
    body = hit.body
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hit.headers["X-Supportd-Signature"] == expected
    uuid.UUID(hit.headers["X-Supportd-Delivery"])
    event = hit.json()
    assert set(event) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert event["version"] == "0" and event["detail-type"] == "Support Case Update"
    assert event["source"] == "aws.support" and event["region"] == "us-east-1"
    assert event["account"] == customer_account and event["resources"] == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    assert event["detail"] == {
        "case-id": case_id,
        "display-id": shown,
        "communication-id": "",
        "event-name": "CreateCase",
        "origin": "",
    }

    def on_bus() -> list[dict[str, Any]]:
        return [e for e in notify.bus.poll() if e["detail"]["case-id"] == case_id]

    [put] = wait_until(on_bus, what="the CreateCase event on EventBridge")
    assert put["source"] == "aws.support" and put["detail-type"] == "Support Case Update"
    assert put["detail"]["event-name"] == "CreateCase" and put["detail"]["display-id"] == shown
    uuid.UUID(put["detail"]["supportd-delivery-id"])


def test_replies_resolution_and_reopening_thread_in_one_conversation(
    notify: Notify, customer: Any, customer_account: str
) -> None:
    notify.webhook(customer_account, "ok")
    contact = f"contact-{customer_account}@example.org"
    case_id = customer.create_case(subject="Threading", communicationBody="first")["caseId"]
    [first] = mails_to(notify, contact, 1)
    customer.add_communication_to_case(
        caseId=case_id, communicationBody="second", ccEmailAddresses=["late-cc@example.net"]
    )
    second = mails_to(notify, contact, 2)[1]
    root = first.message["Message-ID"]
    assert second.message["In-Reply-To"] == root
    assert second.message["References"] == root
    assert second.message["Subject"] == first.message["Subject"]
    assert "late-cc@example.net" in second.recipients  # the communication's own CC
    assert "second" in parts(second.message)["text/plain"]

    customer.resolve_case(caseId=case_id)
    third = mails_to(notify, contact, 3)[2]
    assert "resolved" in parts(third.message)["text/plain"]
    assert third.message["In-Reply-To"] == second.message["Message-ID"]
    assert third.message["References"] == f"{root} {second.message['Message-ID']}"

    customer.add_communication_to_case(caseId=case_id, communicationBody="back again")
    fourth = mails_to(notify, contact, 4)[3]
    assert "reopened" in parts(fourth.message)["text/plain"]

    events = hits(notify, customer_account, 5)
    details = [h.json()["detail"] for h in events]
    # Deliveries run concurrently: the receiver may get them in any order.
    assert sorted((d["event-name"], d["origin"]) for d in details) == [
        ("AddCommunicationToCase", "CUSTOMER"),
        ("AddCommunicationToCase", "CUSTOMER"),
        ("CreateCase", ""),
        ("ReopenCase", ""),
        ("ResolveCase", ""),
    ]
    by_name: dict[str, list[dict[str, str]]] = {}
    for detail in details:
        by_name.setdefault(detail["event-name"], []).append(detail)
    replies = {d["communication-id"] for d in by_name["AddCommunicationToCase"]}
    assert len(replies) == 2 and "" not in replies
    assert by_name["ResolveCase"][0]["communication-id"] == ""
    assert by_name["ReopenCase"][0]["communication-id"] == ""
    # A reopening by a reply is told by the reply's e-mail: four mails, not five.
    assert len(notify.mail.to(contact)) == 4
    # Each delivery has its own key, the same on every attempt.
    assert len({h.headers["X-Supportd-Delivery"] for h in events}) == 5


def test_attachments_are_links_that_download_the_file(
    notify: Notify, customer: Any, customer_account: str
) -> None:
    contact = f"contact-{customer_account}@example.org"
    attachment_set = customer.add_attachments_to_set(
        attachments=[{"fileName": "trace.log", "data": b"line one\nline two\n"}]
    )["attachmentSetId"]
    customer.create_case(
        subject="With a file", communicationBody="see the log", attachmentSetId=attachment_set
    )
    [mail] = mails_to(notify, contact, 1)
    assert not [p for p in mail.message.walk() if p.get_content_disposition() == "attachment"]
    text = parts(mail.message)["text/plain"]
    [link] = re.findall(r"trace\.log: (http\S+)", text)
    assert link.startswith(notify.url + "/attachments/")
    assert "X-Supportd-Expires=" in link
    download = httpx.get(link, timeout=10)
    assert download.status_code == 200 and download.content == b"line one\nline two\n"
    forged = httpx.get(link[:-4] + "0000", timeout=10)
    assert forged.status_code == 403


def test_html_part_escapes_what_customers_wrote(
    notify: Notify, customer: Any, customer_account: str
) -> None:
    contact = f"contact-{customer_account}@example.org"
    customer.create_case(
        subject="<b>bold</b> subject", communicationBody="<script>alert(1)</script>"
    )
    [mail] = mails_to(notify, contact, 1)
    html = parts(mail.message)["text/html"]
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt; subject" in html
    assert "<script>alert(1)</script>" in parts(mail.message)["text/plain"]


def test_an_open_mode_account_without_a_contact_mails_only_its_cc(notify: Notify) -> None:
    from tests.support.clients import boto3_client

    client = boto3_client(notify.url, "699999999999")  # not in the accounts table
    case_id = client.create_case(
        subject="No contact", communicationBody="x", ccEmailAddresses=["only-cc@example.net"]
    )["caseId"]
    [mail] = mails_to(notify, "only-cc@example.net", 1)
    assert mail.recipients == ["only-cc@example.net"]
    client.create_case(subject="Nobody to mail", communicationBody="y")
    deliveries = wait_until(
        lambda: (d := notify.case_deliveries(case_id)) and d["events"][0]["deliveries"] and d,
        what="the deliveries",
    )
    assert [d["channel"] for d in deliveries["events"][0]["deliveries"]] == ["email", "eventbridge"]


def test_operators_see_what_went_to_whom(
    notify: Notify, customer: Any, customer_account: str
) -> None:
    hook = notify.webhook(customer_account, "ok")
    contact = f"contact-{customer_account}@example.org"
    case_id = customer.create_case(
        subject="Show me", communicationBody="x", ccEmailAddresses=["cc@example.net"]
    )["caseId"]
    shown = display_id(customer, case_id)

    def all_delivered() -> dict[str, Any] | None:
        found = notify.case_deliveries(shown)
        statuses = [d["status"] for e in found["events"] for d in e["deliveries"]]
        return found if statuses and set(statuses) == {"delivered"} else None

    found = wait_until(all_delivered, what="every delivery delivered")
    assert found["caseId"] == case_id and found["displayId"] == shown
    [event] = found["events"]
    assert event["eventName"] == "CreateCase" and event["fannedOut"]
    by_channel = {d["channel"]: d for d in event["deliveries"]}
    assert set(by_channel) == {"email", "webhook", "eventbridge"}
    assert by_channel["email"]["recipients"] == [contact, "cc@example.net"]
    assert by_channel["email"]["lastResult"].startswith(f"smtp://127.0.0.1:{notify.mail.port}")
    assert by_channel["webhook"]["target"] == hook
    assert by_channel["webhook"]["recipients"] == [notify.hooks.url("ok", customer_account)]
    assert by_channel["webhook"]["lastResult"] == "HTTP 204"
    assert by_channel["eventbridge"]["lastResult"].startswith("EventId ")
    assert all(d["attempts"] == 1 and d["delivered"] for d in event["deliveries"])

    token = staff_token(notify)
    via_api = staff_get(notify, token, f"/cases/{case_id}/deliveries")
    assert via_api.status_code == 200 and via_api.json() == found
    assert staff_get(notify, token, "/cases/1999999999/deliveries").status_code == 404
    assert (
        staff_get(
            notify, "sdst_000000000000_" + "x" * 43, f"/cases/{case_id}/deliveries"
        ).status_code
        == 401
    )

    listed = json.loads(
        notify.cli("outbox", "list", "--status", "delivered", "--json", "--limit", "1000").output
    )
    mine = [d for d in listed["deliveries"] if d["caseId"] == case_id]
    assert {d["channel"] for d in mine} == {"email", "webhook", "eventbridge"}
    assert all(d["status"] == "delivered" for d in listed["deliveries"])


def test_webhook_commands_and_their_refusals(notify: Notify, customer_account: str) -> None:
    hook = notify.webhook(customer_account, "ok", events="ResolveCase,ReopenCase")
    listed = json.loads(notify.cli("webhooks", "list", "--json").output)["webhooks"]
    [mine] = [h for h in listed if h["id"] == hook]
    assert mine["events"] == ["ResolveCase", "ReopenCase"] and mine["accountId"] == customer_account
    assert "secret" not in json.dumps(listed).lower().replace("secret_", "")

    tested = json.loads(notify.cli("webhooks", "test", hook, "--json").output)
    assert tested["ok"] is True and tested["result"] == "HTTP 204"
    [hit] = notify.hooks.at(customer_account)
    assert hit.json()["detail-type"] == "Support Case Update Test"
    signed = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), hit.body, hashlib.sha256).hexdigest()
    assert hit.headers["X-Supportd-Signature"] == signed

    failing = notify.webhook(customer_account, "500")
    result = notify.cli("webhooks", "test", failing, ok=False)
    assert result.exit_code == 1 and "HTTP 500" in result.output

    refusals = [
        (["--url", "ftp://example.com/x", "--secret", WEBHOOK_SECRET], "http:// or https://"),
        (["--url", "http://example.com/x", "--secret", "short"], "16 to 256 characters"),
        (
            ["--url", "http://example.com/x", "--secret", WEBHOOK_SECRET, "--events", "Nope"],
            "unknown event 'Nope'",
        ),
        (
            ["--url", "http://example.com/x", "--secret", WEBHOOK_SECRET, "--account", "12"],
            "12-digit",
        ),
    ]
    for args, message in refusals:
        refused = notify.cli("webhooks", "create", *args, ok=False)
        assert refused.exit_code == 1 and message in refused.output, refused.output

    assert notify.cli("webhooks", "delete", hook).exit_code == 0
    gone = notify.cli("webhooks", "delete", hook, ok=False)
    assert gone.exit_code == 1 and f"no webhook {hook}" in gone.output
    assert notify.cli("webhooks", "test", hook, ok=False).exit_code == 1
    assert notify.cli("outbox", "retry", "999999999", ok=False).exit_code == 1
    bad_status = notify.cli("outbox", "list", "--status", "lost", ok=False)
    assert bad_status.exit_code == 2
