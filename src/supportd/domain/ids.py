"""Identifiers handed to clients: case ids and display ids."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

# The meaning of the four letters in real case ids is unknown; a fixed token is fine.
CASE_ID_TOKEN = "supd"  # noqa: S105 (not a secret)
DISPLAY_ID_BASE = 1_000_000_000
CASE_ID_PATTERN = re.compile(r"^case-(\d{12})-[a-z]{4}-\d{4}-[0-9a-f]{16}$")


_RANDOM_POOL_BYTES = 4096
_random_pool = bytearray()


def random_hex(nbytes: int) -> str:
    """Unguessable hex from the OS's CSPRNG, drawn in 4 KiB batches: one os.urandom call
    per id would release the GIL (and wake the store's writer thread) on every request."""
    global _random_pool
    if len(_random_pool) < nbytes:
        _random_pool = bytearray(secrets.token_bytes(_RANDOM_POOL_BYTES))
    chunk = _random_pool[:nbytes]
    del _random_pool[:nbytes]
    return chunk.hex()


def new_case_id(account_id: str, now_ms: int) -> str:
    year = datetime.fromtimestamp(now_ms / 1000, tz=UTC).year
    return f"case-{account_id}-{CASE_ID_TOKEN}-{year}-{random_hex(8)}"


def is_case_id(value: str) -> bool:
    """Whether a value has the form of a case id (anything else names no case)."""
    return CASE_ID_PATTERN.fullmatch(value) is not None


def display_id(seq: int) -> str:
    """Display ids are numeric, unique and increasing: derived from the store's sequence."""
    return str(DISPLAY_ID_BASE + seq)


def seq_from_display_id(value: str) -> int | None:
    # isascii: str.isdigit() is also true for characters such as '²' that int() rejects.
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    seq = int(value) - DISPLAY_ID_BASE
    return seq if seq > 0 else None
