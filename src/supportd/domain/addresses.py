"""E-mail addresses given as cc recipients."""

from __future__ import annotations

import re

# Deliberately practical (RFC 5322's full grammar accepts addresses no mail system does).
# fullmatch, not `$`: `$` also matches before a trailing newline.
_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def is_valid_email(address: str) -> bool:
    return len(address) <= 254 and _ADDRESS.fullmatch(address) is not None
