"""E-mail rules: the SMTP server setting, the subject, Message-IDs and their threading,
and the signed Reply-To address that names a case.

Pure functions: the smtp channel (supportd.notifications.smtp) sends what these decide.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from supportd.domain import ids

REFERENCES_KEPT = 20  # the root and the newest others: enough for every client to thread


class DuplicateMessage(Exception):
    """An e-mail (by its Message-ID) that was made into a communication already."""


class MailSettingError(ValueError):
    """A mail setting that cannot be used."""


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool  # smtps://: TLS from the first byte
    start_tls: bool  # ?starttls=true: STARTTLS after the greeting

    def describe(self) -> str:
        """For logs and errors: never the password."""
        scheme = "smtps" if self.use_tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_smtp_url(url: str) -> SmtpServer:
    """`smtp://[user:password@]host:port[?starttls=true]` or `smtps://...`."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise MailSettingError(f"smtp_url: {exc}") from None
    if parts.scheme not in ("smtp", "smtps"):
        raise MailSettingError("smtp_url must start with smtp:// or smtps://")
    if not parts.hostname:
        raise MailSettingError("smtp_url must name a host")
    if parts.path not in ("", "/") or parts.fragment:
        raise MailSettingError("smtp_url takes no path")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"starttls"}
    if unknown:
        raise MailSettingError(f"smtp_url: unknown parameter {sorted(unknown)[0]!r}")
    starttls_text = query.get("starttls", ["false"])[-1].lower()
    if starttls_text not in _TRUE | _FALSE:
        raise MailSettingError("smtp_url: starttls must be true or false")
    use_tls = parts.scheme == "smtps"
    start_tls = starttls_text in _TRUE
    if use_tls and start_tls:
        raise MailSettingError("smtp_url: smtps:// is TLS already; starttls is for smtp://")
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if use_tls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        use_tls=use_tls,
        start_tls=start_tls,
    )


_LINE_BREAKS = re.compile(r"[\r\n\t\x00]+")


def subject(case_seq: int, case_subject: str) -> str:
    """`[Case 1000000042] subject`: the display id lets every client (and a human) tell
    the case; line breaks cannot reach the header."""
    clean = _LINE_BREAKS.sub(" ", case_subject).strip()
    return f"[Case {ids.display_id(case_seq)}] {clean}"


def message_id(idempotency_key: str, domain: str) -> str:
    """The same for every attempt of one delivery: a resend is recognisably the same
    message."""
    return f"<{idempotency_key}@{domain}>"


def thread_headers(earlier: Sequence[str]) -> dict[str, str]:
    """In-Reply-To (the case's previous message) and References (the first, then the
    newest others), so every message of a case joins one thread."""
    if not earlier:
        return {}
    kept = list(earlier)
    if len(kept) > REFERENCES_KEPT:
        kept = [kept[0], *kept[-(REFERENCES_KEPT - 1) :]]
    return {"In-Reply-To": earlier[-1], "References": " ".join(kept)}


def address_domain(address: str) -> str:
    """The domain of `Name <user@domain>` or `user@domain` ("" if none)."""
    match = re.search(r"@([A-Za-z0-9.\-]+)>?\s*$", address)
    return match.group(1).lower() if match else ""


_DOMAIN = re.compile(
    r"\A(?=.{1,253}\Z)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
    r"(\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z"
)


def valid_domain(domain: str) -> bool:
    return bool(_DOMAIN.match(domain))


def mail_domain(reply_domain: str, mail_from: str) -> str:
    """The right-hand side of supportd's Message-IDs."""
    return reply_domain or address_domain(mail_from) or "supportd.invalid"


# --- the signed Reply-To address ----------------------------------------------------------
#
# case+<display id>-<signature>@<reply domain>. The signature is the first 80 bits of an
# HMAC-SHA256 of the case id under the server key (domain-separated from its other uses),
# in lower-case base32: mail systems may change the case of a local part. The display id
# finds the case; the signature proves the address was made by supportd for that case.

_PURPOSE = b"supportd reply address v1\n"
_REPLY = re.compile(r"\Acase\+(\d{10,18})-([a-z2-7]{16})\Z")


def _reply_signature(key: bytes, case_id: str) -> str:
    digest = hmac.new(key, _PURPOSE + case_id.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode().lower()


def reply_address(key: bytes, case_id: str, case_seq: int, domain: str) -> str:
    return f"case+{ids.display_id(case_seq)}-{_reply_signature(key, case_id)}@{domain}"


def parse_reply_local_part(local_part: str) -> tuple[int, str] | None:
    """(case seq, signature) of a reply address's local part, or None if it is not one."""
    match = _REPLY.match(local_part.lower())
    if not match:
        return None
    seq = ids.seq_from_display_id(match.group(1))
    return (seq, match.group(2)) if seq is not None else None


def reply_signature_valid(key: bytes, case_id: str, signature: str) -> bool:
    return hmac.compare_digest(_reply_signature(key, case_id), signature.lower())
