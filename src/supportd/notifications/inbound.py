"""E-mail in: an SMTP listener (aiosmtpd) inside `serve` for replies an MTA routes to
supportd (--inbound-smtp-port). A reply from the account's contact or one of the case's
CC addresses becomes the customer's communication on that case, under
AddCommunicationToCase's rules (reopening, status, attachments into a set within the
set's limits); quoted history is stripped (mail-parser-reply).

Which case: the signed Reply-To address (case+<display id>-<signature>@<reply domain>)
first; for mail to --support-address, In-Reply-To/References against the Message-IDs
supportd sent. Never the subject. Anything refused gets an SMTP error that says why,
and nothing is written: an unknown or forged address, a stranger, a message over the
limits or malformed. The same message delivered twice (its Message-ID) is added once.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import html
import logging
import re
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.smtp import SMTP
from mailparser_reply import EmailReplyParser

from supportd import api_errors
from supportd.domain import mail
from supportd.domain.records import CaseRecord, Principal
from supportd.domain.staff import MAX_BODY_CHARS
from supportd.operations import attachments, cases
from supportd.operations.context import Context

log = logging.getLogger("supportd.inbound")

# Defects that mean the MIME structure cannot be trusted (a missing boundary, a
# multipart without parts); others (a header without a colon, say) are tolerated.
_FATAL_DEFECTS = (
    "StartBoundaryNotFoundDefect",
    "CloseBoundaryNotFoundDefect",
    "MultipartInvariantViolationDefect",
    "NoBoundaryInMultipartDefect",
    "InvalidBase64PaddingDefect",
    "InvalidBase64CharactersDefect",
)
_MESSAGE_IDS = re.compile(r"<[^<>\s]+>")
_TAGS = re.compile(r"<[^>]*>")
INBOUND_KEY = "inbound-mail"


class Refused(Exception):
    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain", "html"))
    if part is None:
        return ""
    text = str(part.get_content())
    if part.get_content_type() == "text/html":
        text = html.unescape(_TAGS.sub("", text))
    return text


class InboundHandler:
    """aiosmtpd's handler: decides at RCPT which case a message is for (or refuses it),
    and at DATA makes it a communication."""

    def __init__(self, ctx: Context, key: Callable[[], bytes]) -> None:
        self.ctx = ctx
        self._key = key
        self._replies = EmailReplyParser(languages=["en"])

    async def _case_of_address(self, address: str) -> CaseRecord | str | None:
        """The case a recipient address names; None for the support address (the case
        comes from the message's references); an SMTP refusal otherwise."""
        config = self.ctx.config
        local, _, domain = address.rpartition("@")
        if config.support_address and address.lower() == (
            email.utils.parseaddr(config.support_address)[1].lower()
        ):
            return None
        if not config.reply_domain or domain.lower() != config.reply_domain.lower():
            return "550 5.1.1 Unknown recipient: not a supportd reply address"
        parsed = mail.parse_reply_local_part(local)
        if parsed is None:
            return "550 5.1.1 Unknown recipient: not a supportd reply address"
        seq, signature = parsed
        found = await self.ctx.store.staff_get_case(seq=seq)
        if found is None or not mail.reply_signature_valid(
            self._key(), found.case.case_id, signature
        ):
            return "550 5.7.1 Forged or unknown reply address"
        return found.case

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if envelope.rcpt_tos:
            return "452 4.5.3 One recipient per message: the case's reply address"
        target = await self._case_of_address(address)
        if isinstance(target, str):
            return target
        envelope.rcpt_tos.append(address)
        envelope.supportd_case = target
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        try:
            return await self._deliver(envelope)
        except Refused as refused:
            return refused.reply
        except Exception:
            log.exception("inbound message from %s not delivered", envelope.mail_from)
            return "451 4.3.0 Temporary failure: try again later"

    async def _deliver(self, envelope: Any) -> str:
        ctx = self.ctx
        raw: bytes = envelope.original_content or envelope.content
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        for part in message.walk():
            fatal = [type(d).__name__ for d in part.defects if type(d).__name__ in _FATAL_DEFECTS]
            if fatal:
                raise Refused(f"550 5.6.0 Malformed message: {fatal[0]}")
        case: CaseRecord | None = getattr(envelope, "supportd_case", None)
        if case is None:
            references = f"{message.get('In-Reply-To', '')} {message.get('References', '')}"
            seq = await ctx.store.case_of_message_ids(_MESSAGE_IDS.findall(references))
            found = await ctx.store.staff_get_case(seq=seq) if seq is not None else None
            if found is None:
                raise Refused(
                    "550 5.1.1 This message names no case: reply to an e-mail about the case"
                )
            case = found.case
        name, sender = email.utils.parseaddr(str(message.get("From", "")))
        account = await ctx.store.get_account(case.account_id)
        allowed = {a.lower() for a in case.cc_emails}
        if account is not None:
            allowed.add(account.email.lower())
        if not sender or sender.lower() not in allowed:
            raise Refused(
                f"550 5.7.1 {sender or 'The sender'} is not the case's contact or one of"
                " its CC addresses"
            )
        body = self._replies.parse_reply(text=_text_of(message)).strip()
        if not body:
            raise Refused("550 5.6.0 No reply text found above the quoted message")
        if len(body) > MAX_BODY_CHARS:
            raise Refused(
                f"552 5.3.4 The reply has {len(body)} characters; at most {MAX_BODY_CHARS}"
            )
        files = [
            {"fileName": part.get_filename() or "attachment", "data": part.get_content()}
            for part in message.iter_attachments()
        ]
        principal = Principal(case.account_id, sender, name or sender, INBOUND_KEY)
        message_id = str(message.get("Message-ID", "")).strip() or (
            "<" + hashlib.sha256(raw).hexdigest() + "@inbound.supportd>"
        )
        try:
            claim = None
            if files:
                for file in files:
                    if isinstance(file["data"], str):
                        file["data"] = file["data"].encode()
                made = await attachments.add_attachments_to_set(
                    ctx, principal, {"attachments": files}
                )
                claim = await attachments.attachment_claim(
                    ctx, principal, {"attachmentSetId": made["attachmentSetId"]}
                )
            await cases.add_customer_communication(
                ctx, principal, case, body, (), claim, source_message_id=message_id
            )
        except mail.DuplicateMessage:
            return "250 2.0.0 Already received"
        except api_errors.ApiError as exc:
            code = "552 5.3.4" if "Limit" in exc.code or "Size" in exc.code else "550 5.7.0"
            raise Refused(f"{code} {exc.message}") from None
        return f"250 2.0.0 Added to case {case.case_id}"


async def start_listener(ctx: Context, key: Callable[[], bytes]) -> asyncio.Server:
    """The listener on --inbound-smtp-port (shared by the server's worker processes)."""
    config = ctx.config
    handler = InboundHandler(ctx, key)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(
            handler,
            data_size_limit=config.inbound_max_bytes,
            hostname=config.reply_domain or None,
            ident="supportd",
            timeout=60,
        ),
        host=config.host,
        port=config.inbound_smtp_port,
        reuse_port=True,
    )
