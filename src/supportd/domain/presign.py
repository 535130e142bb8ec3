"""Presigned links: an HMAC-SHA256 of the method, the path and the expiry time.

The path names exactly one thing (an upload's part, or an attachment), so a link cannot
be turned into a link for another part or file; the expiry is inside the signed text, so
it cannot be extended. The host is not signed: any node (and any name the operator
publishes) serves the same links, as long as every node has the same server key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote

EXPIRES = "X-Supportd-Expires"
SIGNATURE = "X-Supportd-Signature"
UPLOAD_METHOD = "PUT"
DOWNLOAD_METHOD = "GET"

# Domain separation: this key also seals secrets (supportd.security.secretbox).
_PURPOSE = b"supportd presigned link v1\n"


def part_path(upload_id: str, index: int) -> str:
    return f"/attachments/uploads/{quote(upload_id, safe='')}/parts/{index}"


def download_path(attachment_id: str) -> str:
    return f"/attachments/{quote(attachment_id, safe='')}"


def signature(key: bytes, method: str, path: str, expires_s: int) -> str:
    text = _PURPOSE + f"{method}\n{path}\n{expires_s}".encode()
    return hmac.new(key, text, hashlib.sha256).hexdigest()


def query(key: bytes, method: str, path: str, expires_s: int) -> str:
    return f"{EXPIRES}={expires_s}&{SIGNATURE}={signature(key, method, path, expires_s)}"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a link is refused: S3's code for it and a message."""

    code: str
    message: str


def check(
    key: bytes, method: str, path: str, expires: str | None, given: str | None, now_s: int
) -> Refusal | None:
    """None if the link is genuine and unexpired."""
    if not expires or not given:
        return Refusal(
            "AccessDenied",
            f"Query-string authentication requires the parameters {EXPIRES} and {SIGNATURE}.",
        )
    if not (expires.isascii() and expires.isdigit()) or len(expires) > 12:
        return Refusal("AccessDenied", f"Invalid {EXPIRES}.")
    expected = signature(key, method, path, int(expires))
    if not given.isascii() or not hmac.compare_digest(expected, given.lower()):
        return Refusal(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    if int(expires) < now_s:
        return Refusal("AccessDenied", "Request has expired")
    return None
