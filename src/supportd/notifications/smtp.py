"""E-mail out: one message per delivery to the account's contact and the case's CC
addresses, sent with aiosmtplib.

Each message has the display id in its subject, a Message-ID fixed by the delivery (a
resend is the same message), In-Reply-To/References naming the case's earlier messages
so that mail clients thread them, a text and an HTML part from the templates, files as
time-limited download links, and (with --reply-domain) a signed Reply-To address that
names the case.
"""

from __future__ import annotations

import email.utils
import socket
from collections.abc import Callable
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

import aiosmtplib

from supportd.domain import clock, ids, mail
from supportd.notifications.channel import DeliveryFailed, Message
from supportd.notifications.smtp_pool import SmtpPool
from supportd.notifications.templates import MailTemplates, TemplateProblem
from supportd.operations import attachments
from supportd.operations.context import Context


def _attachment_links(ctx: Context, records: list[Any]) -> list[dict[str, str]]:
    expires_s = attachments.link_expires_s(ctx)
    expires = clock.format_case_time(expires_s * 1000)
    return [
        {
            "name": record.file_name,
            "url": attachments.download_link(ctx.config, record.attachment_id, expires_s),
            "expires": expires,
        }
        for record in records
    ]


def _header(value: str) -> str:
    """A header value as it may be written: ASCII as it is, anything else as encoded
    words (a display name or subject in any language). Line breaks never reach here
    (domain.mail.subject; addresses are validated)."""
    if value.isascii():
        return value
    return Header(value, "utf-8").encode()


class SmtpChannel:
    def __init__(
        self, ctx: Context, templates: MailTemplates, reply_key: Callable[[], bytes]
    ) -> None:
        config = ctx.config
        self._ctx = ctx
        self._server = mail.parse_smtp_url(config.smtp_url)
        self._templates = templates
        self._reply_key = reply_key
        self._sender = email.utils.parseaddr(config.mail_from)[1]
        # aiosmtplib would look the name up (getfqdn, blocking) for every connection.
        local_hostname = socket.getfqdn()
        server = self._server
        self._pool = SmtpPool(
            lambda: aiosmtplib.SMTP(
                hostname=server.host,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.use_tls,
                start_tls=server.start_tls,
                timeout=config.notify_timeout_ms / 1000,
                local_hostname=local_hostname,
            )
        )

    async def compose(self, message: Message) -> MIMEMultipart:
        ctx, config = self._ctx, self._ctx.config
        delivery, event, case = message.delivery, message.event, message.case
        facts = await ctx.store.mail_facts(event)
        comm = facts.communication
        communication = None
        if comm is not None:
            communication = {
                "author": comm.submitted_by,
                "time": clock.format_case_time(comm.created_ms),
                "body": comm.body,
            }
        files = _attachment_links(ctx, facts.attachments)
        reply_to = ""
        if config.reply_domain:
            reply_to = mail.reply_address(
                self._reply_key(), case.case_id, case.seq, config.reply_domain
            )
        elif config.support_address:
            reply_to = config.support_address
        values = {
            "case": {
                "display_id": ids.display_id(case.seq),
                "case_id": case.case_id,
                "subject": case.subject,
                "status": case.status,
                "severity": case.severity_code,
                "language": case.language,
            },
            "event": {
                "name": event.event_name,
                "origin": event.origin,
                "reopened": facts.reopened,
            },
            "communication": communication,
            "attachments": files,
            "reply_by_mail": bool(config.reply_domain),
            "support_address": config.support_address,
        }
        rendered = self._templates.render(case.language, values)

        # email.mime (the compat32 policy) rather than EmailMessage: the modern policy
        # parses every header it is given, which cost more CPU than the rest of a
        # delivery. Headers are set as plain text (ASCII) or RFC 2047 encoded words.
        msg = MIMEMultipart("alternative")
        msg.attach(MIMEText(rendered.text, "plain", "utf-8"))
        msg.attach(MIMEText(rendered.html, "html", "utf-8"))
        headers: list[tuple[str, str]] = [("From", config.mail_from)]
        headers.append(("To", delivery.recipients[0]))
        if len(delivery.recipients) > 1:
            headers.append(("Cc", ", ".join(delivery.recipients[1:])))
        headers.append(("Subject", mail.subject(case.seq, case.subject)))
        headers.append(("Date", email.utils.formatdate(event.created_ms / 1000, usegmt=True)))
        message_id = delivery.message_id or mail.message_id(
            delivery.idempotency_key, mail.mail_domain(config.reply_domain, config.mail_from)
        )
        headers.append(("Message-ID", message_id))
        headers.extend(mail.thread_headers(facts.thread).items())
        if reply_to:
            headers.append(("Reply-To", reply_to))
        # Auto-replies (out of office) must not answer a notification.
        headers.append(("Auto-Submitted", "auto-generated"))
        headers.append(("X-Supportd-Delivery", delivery.idempotency_key))
        headers.append(("X-Supportd-Event", event.event_name))
        for name, value in headers:
            msg[name] = _header(value)
        return msg

    async def send(self, message: Message) -> str:
        try:
            composed = await self.compose(message)
        except TemplateProblem as exc:
            raise DeliveryFailed(str(exc)) from None
        server = self._server
        try:
            refused, answer = await self._pool.send(
                composed, self._sender, list(message.delivery.recipients)
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(
                f"{server.describe()} refused every recipient: "
                + "; ".join(f"{r.recipient} ({r.code} {r.message})" for r in exc.recipients)
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"{server.describe()} answered {exc.code} {exc.message}") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"{server.describe()}: {type(exc).__name__}: {exc}") from None
        result = f"{server.describe()}: {answer.strip()}"
        if refused:
            result += "; refused " + ", ".join(
                f"{address} ({response.code} {response.message})"
                for address, response in refused.items()
            )
        return result

    async def close(self) -> None:
        await self._pool.close()
