"""The pure rules of notifications and e-mail, the templates, and the settings' checks."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from supportd import config
from supportd.domain import lifecycle, mail
from supportd.domain import notifications as note
from supportd.notifications.templates import MailTemplates, TemplateProblem

KEY = b"k" * 32
CASE_ID = "case-111122223333-supd-2024-0123456789abcdef"


def test_which_changes_notify() -> None:
    assert note.case_created(7) == [note.Change(note.CREATE_CASE, "", 7)]
    assert note.customer_reply(8, lifecycle.WORK_IN_PROGRESS, lifecycle.WORK_IN_PROGRESS) == [
        note.Change(note.ADD_COMMUNICATION, note.ORIGIN_CUSTOMER, 8)
    ]
    assert note.customer_reply(9, lifecycle.RESOLVED, lifecycle.REOPENED) == [
        note.Change(note.ADD_COMMUNICATION, note.ORIGIN_CUSTOMER, 9),
        note.Change(note.REOPEN_CASE, "", 9),
    ]
    assert note.resolution(lifecycle.RESOLVED) == []
    assert note.resolution(lifecycle.OPENED) == [note.Change(note.RESOLVE_CASE)]
    assert note.staff_changes(None, None) == []  # a note, an assignment
    assert note.staff_changes(5, None) == [note.Change(note.ADD_COMMUNICATION, note.ORIGIN_AWS, 5)]
    assert note.staff_changes(None, (lifecycle.OPENED, lifecycle.RESOLVED)) == [
        note.Change(note.RESOLVE_CASE)
    ]
    assert note.staff_changes(None, (lifecycle.RESOLVED, lifecycle.WORK_IN_PROGRESS)) == [
        note.Change(note.REOPEN_CASE)
    ]
    assert note.staff_changes(None, (lifecycle.OPENED, lifecycle.WORK_IN_PROGRESS)) == []


def test_email_rules() -> None:
    assert note.wants_email(note.REOPEN_CASE, None)
    assert not note.wants_email(note.REOPEN_CASE, 3)  # the reply's own e-mail says it
    assert note.email_recipients("c@x.org", ["A@y.org", "c@X.org"], ["a@y.org", "b@z.org"]) == [
        "c@x.org",
        "A@y.org",
        "b@z.org",
    ]
    assert note.email_recipients(None, [], []) == []
    assert note.webhook_wants(None, [note.CREATE_CASE], "1", note.CREATE_CASE)
    assert not note.webhook_wants("2", [note.CREATE_CASE], "1", note.CREATE_CASE)
    assert not note.webhook_wants(None, [note.RESOLVE_CASE], "1", note.CREATE_CASE)


def test_backoff_doubles_up_to_its_cap_and_attempts_run_out() -> None:
    policy = note.RetryPolicy(max_attempts=4, backoff_ms=100, backoff_max_ms=350)
    assert [policy.delay_ms(n) for n in (1, 2, 3, 4, 60)] == [100, 200, 350, 350, 350]
    assert note.after_attempt(policy, 1, 0, False, 0) == note.AttemptOutcome(note.PENDING, 100)
    assert note.after_attempt(policy, 4, 0, False, 0) == note.AttemptOutcome(note.FAILED, None)
    # After a manual retry at 4 attempts, four more.
    assert note.after_attempt(policy, 5, 4, False, 0) == note.AttemptOutcome(note.PENDING, 100)
    assert note.after_attempt(policy, 8, 4, False, 0).status == note.FAILED
    assert note.after_attempt(policy, 1, 0, False, 0, final=True).status == note.FAILED
    assert note.after_attempt(policy, 4, 0, True, 0) == note.AttemptOutcome(note.DELIVERED, None)


def test_the_event_is_eventbridges_shape() -> None:
    event = note.case_update_event(
        event_id="e1",
        account_id="111122223333",
        at_ms=1_645_458_679_123,
        case_id=CASE_ID,
        case_seq=42,
        event_name=note.ADD_COMMUNICATION,
        origin=note.ORIGIN_AWS,
        communication_seq=9,
    )
    assert event == {
        "version": "0",
        "id": "e1",
        "detail-type": "Support Case Update",
        "source": "aws.support",
        "account": "111122223333",
        "time": "2022-02-21T15:51:19Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "case-id": CASE_ID,
            "display-id": "1000000042",
            "communication-id": f"{CASE_ID}-comm-9",
            "event-name": "AddCommunicationToCase",
            "origin": "AWS",
        },
    }
    resolved = note.event_detail(CASE_ID, 42, note.RESOLVE_CASE, note.ORIGIN_AWS, 9)
    assert resolved["origin"] == "" and resolved["communication-id"] == ""
    body = note.encode_body(event)
    assert note.signature("s3cret", body) == (
        "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    )
    assert note.idempotency_key("e1", "webhook", "w") == note.idempotency_key("e1", "webhook", "w")
    assert note.idempotency_key("e1", "webhook", "w") != note.idempotency_key("e1", "webhook", "v")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com:2525", ("mail.example.com", 2525, None, None, False, False)),
        ("smtp://mail.example.com", ("mail.example.com", 25, None, None, False, False)),
        (
            "smtps://u%40x:p%3Ass@mail.example.com",
            ("mail.example.com", 465, "u@x", "p:ss", True, False),
        ),
        ("smtp://h:587?starttls=true", ("h", 587, None, None, False, True)),
    ],
)
def test_smtp_urls(url: str, expected: tuple[object, ...]) -> None:
    server = mail.parse_smtp_url(url)
    assert (
        server.host,
        server.port,
        server.username,
        server.password,
        server.use_tls,
        server.start_tls,
    ) == expected
    assert "p:ss" not in server.describe()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.example.com", "must start with smtp://"),
        ("smtp://", "must name a host"),
        ("smtp://h:99999", "smtp_url"),
        ("smtp://h/path", "takes no path"),
        ("smtp://h?tls=1", "unknown parameter 'tls'"),
        ("smtp://h?starttls=maybe", "starttls must be true or false"),
        ("smtps://h?starttls=true", "TLS already"),
    ],
)
def test_bad_smtp_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(mail.MailSettingError, match=message):
        mail.parse_smtp_url(url)


def test_subjects_message_ids_and_threading() -> None:
    assert mail.subject(42, "Help\r\nBcc: evil@example.com") == (
        "[Case 1000000042] Help Bcc: evil@example.com"
    )
    assert mail.message_id("k", "d.example") == "<k@d.example>"
    assert mail.thread_headers([]) == {}
    ids = [f"<{n}@d>" for n in range(30)]
    headers = mail.thread_headers(ids)
    assert headers["In-Reply-To"] == "<29@d>"
    kept = headers["References"].split()
    assert len(kept) == mail.REFERENCES_KEPT and kept[0] == "<0@d>" and kept[-1] == "<29@d>"
    assert mail.address_domain("Support <help@Example.COM>") == "example.com"
    assert mail.address_domain("nobody") == ""
    assert mail.mail_domain("", "a@b.example") == "b.example"
    assert mail.mail_domain("r.example", "a@b.example") == "r.example"


def test_reply_addresses_are_signed_for_their_case() -> None:
    address = mail.reply_address(KEY, CASE_ID, 42, "reply.example.com")
    local, domain = address.split("@")
    assert domain == "reply.example.com" and len(local) <= 64
    parsed = mail.parse_reply_local_part(local.upper())  # mail systems may change case
    assert parsed is not None and parsed[0] == 42
    assert mail.reply_signature_valid(KEY, CASE_ID, parsed[1])
    assert not mail.reply_signature_valid(b"x" * 32, CASE_ID, parsed[1])  # another server
    assert not mail.reply_signature_valid(KEY, CASE_ID.replace("0123", "9999"), parsed[1])
    assert mail.parse_reply_local_part("case+1000000042") is None
    assert mail.parse_reply_local_part("help") is None


def _values(language: str = "en", body: str = "hi") -> dict[str, object]:
    return {
        "case": {
            "display_id": "1000000001",
            "case_id": CASE_ID,
            "subject": "S",
            "status": "opened",
            "severity": "low",
            "language": language,
        },
        "event": {"name": note.CREATE_CASE, "origin": "", "reopened": False},
        "communication": {"author": "me", "time": "t", "body": body},
        "attachments": [],
        "reply_by_mail": True,
        "support_address": "help@example.com",
    }


def test_operator_templates_replace_and_add_languages(tmp_path: Path) -> None:
    builtin = MailTemplates().render("ja", _values("ja"))
    assert "We have received your case." in builtin.text  # English when none in Japanese
    (tmp_path / "ja").mkdir()
    (tmp_path / "ja" / "case_update.txt").write_text("受付番号 {{ case.display_id }}")
    (tmp_path / "ja" / "case_update.html").write_text("<p>{{ communication.body }}</p>")
    own = MailTemplates(str(tmp_path))
    rendered = own.render("ja", _values("ja", "<b>x</b>"))
    assert rendered.text == "受付番号 1000000001"
    assert rendered.html == "<p>&lt;b&gt;x&lt;/b&gt;</p>"
    assert "We have received your case." in own.render("en", _values()).text
    assert "We have received" in own.render("../../etc", _values()).text  # not a path


def test_a_broken_operator_template_is_reported(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "case_update.txt").write_text("{{ unknown_name }}")
    (tmp_path / "en" / "case_update.html").write_text("{% if %}")
    templates = MailTemplates(str(tmp_path))
    with pytest.raises(TemplateProblem, match="mail template"):
        templates.check()
    with pytest.raises(TemplateProblem, match="mail template"):
        templates.render("en", _values())


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"smtp_url": "smtp://h:25"}, "mail_from must be an e-mail address"),
        ({"smtp_url": "imap://h", "mail_from": "a@b.c"}, "smtp_url must start"),
        ({"support_address": "nobody"}, "support_address"),
        ({"reply_domain": "not a domain"}, "reply_domain"),
        ({"notify_max_attempts": 0}, "notify_max_attempts"),
        ({"notify_backoff_ms": 10, "notify_backoff_max_ms": 5}, "notify_backoff_ms"),
        ({"notify_timeout_ms": 1}, "notify_timeout_ms"),
        ({"notify_concurrency": 0}, "notify_concurrency"),
        ({"notify_nice": -1}, "notify_nice"),
        ({"notify_nice": 20}, "notify_nice"),
        ({"eventbridge_endpoint": "ftp://x"}, "eventbridge_endpoint"),
        ({"eventbridge_access_key_id": "AKIA"}, "go together"),
        ({"eventbridge_source": " "}, "eventbridge_source"),
        ({"inbound_smtp_port": 2525}, "needs reply_domain or support_address"),
        ({"inbound_smtp_port": 70000, "reply_domain": "r.example"}, "inbound_smtp_port"),
        ({"inbound_max_bytes": 10}, "inbound_max_bytes"),
    ],
)
def test_bad_notification_settings_are_refused(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config.from_environ({}, settings)


def test_a_dead_nodes_deliveries_are_taken_over_after_the_timeout_and_15_s(
    tmp_path: Path,
) -> None:
    from supportd.notifications.dispatcher import Dispatcher
    from supportd.operations.context import Context
    from supportd.reference import catalogue
    from supportd.storage.sqlite import SQLiteStore
    from supportd.worker import PoolWorker

    settings = config.Config(data_dir=str(tmp_path), notify_timeout_ms=2000)
    ctx = Context(settings, catalogue.load(), SQLiteStore(settings.sqlite_path))
    dispatcher = Dispatcher(ctx, lambda: pytest.fail("no key needed"), lambda: b"")
    worker = PoolWorker(ctx, dispatcher.kinds(), dispatcher.periodic(), 0.1, 4)
    assert worker.lease_ms == 17_000
    assert set(worker.kinds) == {"notify-fanout", "notify-deliver", "periodic:notify-sweep"}


@pytest.mark.parametrize(
    ("delivers_here", "email", "eventbridge", "needs_a_webhook"),
    [
        (True, False, False, True),
        (True, True, False, False),
        (True, False, True, False),
        (False, False, False, False),  # another node delivers, with channels unknown here
        (False, True, True, False),
    ],
)
def test_only_a_delivering_node_with_no_channel_but_webhooks_may_skip_events(
    delivers_here: bool, email: bool, eventbridge: bool, needs_a_webhook: bool
) -> None:
    assert (
        note.events_need_a_webhook(
            delivers_here=delivers_here, email=email, eventbridge=eventbridge
        )
        is needs_a_webhook
    )
