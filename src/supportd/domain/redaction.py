"""Secrets customers paste into cases are redacted before anything is stored.

AWS replaces secret access keys and private keys whole with `[REDACTED_BY_AWS]` and
keeps the last four digits of card numbers (`[REDACTED_BY_AWS]-7016`).
The original text is never stored.
"""

from __future__ import annotations

import re

MARK = "[REDACTED_BY_AWS]"

# PEM keys (`-----BEGIN RSA PRIVATE KEY-----`) and OpenPGP ones (`... PRIVATE KEY BLOCK-----`).
_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?"
    r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL,
)
# A secret access key is 40 characters of base64 alphabet, not part of a longer token.
# `=` may precede it (`AWS_SECRET_ACCESS_KEY=...`): in base64 it only ever pads the end.
_SECRET_KEY = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
# 13 to 19 digits, optionally grouped by single spaces or dashes.
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])")


def _looks_like_secret_key(candidate: str) -> bool:
    # Real secret keys mix letter cases and digits; plain words or hex digests do not.
    return (
        any(c.islower() for c in candidate)
        and any(c.isupper() for c in candidate)
        and any(c.isdigit() for c in candidate)
    )


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


# Issuer prefixes and lengths of the card networks: a Luhn-valid number outside them
# (a millisecond timestamp in a pasted log, an order number) is left alone.
_ISSUERS: tuple[tuple[re.Pattern[str], frozenset[int]], ...] = (
    (re.compile(r"4"), frozenset({13, 16, 19})),  # Visa
    (re.compile(r"5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)"), frozenset({16})),  # Mastercard
    (re.compile(r"3[47]"), frozenset({15})),  # American Express
    (re.compile(r"6(?:011|4[4-9]|5)"), frozenset({16, 17, 18, 19})),  # Discover
    (re.compile(r"35(?:2[89]|[3-8]\d)"), frozenset({16, 17, 18, 19})),  # JCB
    (re.compile(r"3(?:0[0-5]|[689])"), frozenset({14, 15, 16, 17, 18, 19})),  # Diners
    (re.compile(r"62"), frozenset({16, 17, 18, 19})),  # UnionPay
)


def _is_card_number(digits: str) -> bool:
    issued = any(prefix.match(digits) and len(digits) in lengths for prefix, lengths in _ISSUERS)
    return issued and _luhn_ok(digits)


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    if not _is_card_number(digits):
        return match.group(0)
    return f"{MARK}-{digits[-4:]}"


def _secret(match: re.Match[str]) -> str:
    text = match.group(0)
    return MARK if _looks_like_secret_key(text) else text


# What must be in a text for a redaction to start: most text has none of it, and then
# the six substitutions are skipped. Three cheap checks rather than one pattern with
# three alternatives (which tries each at every position: ~3x slower on a CreateCase).
# A run of digits, spaces and dashes from digit to digit holds every card number; ASCII
# text can use the faster [0-9] (\d also matches other scripts' digits).
_DIGIT_RUN_ASCII = re.compile(r"[0-9][0-9 -]{11,}[0-9]")
_DIGIT_RUN = re.compile(r"\d[\d -]{11,}\d")
_SECRET_KEY_LENGTH = 40


def _may_hold_secret(text: str) -> bool:
    if "PRIVATE KEY" in text:
        return True
    digit_run = _DIGIT_RUN_ASCII if text.isascii() else _DIGIT_RUN
    if digit_run.search(text) is not None:
        return True
    # A secret key has no whitespace in it: some word is at least as long.
    return max(map(len, text.split()), default=0) >= _SECRET_KEY_LENGTH


def redact(text: str) -> str:
    if not _may_hold_secret(text):
        return text
    text = _PRIVATE_KEY.sub(MARK, text)
    text = _SECRET_KEY.sub(_secret, text)
    return _CARD.sub(_card, text)
