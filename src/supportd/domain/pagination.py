"""Opaque keyset pagination tokens.

A token names the last row a page returned (its sequence number) and what it pages
over, so it stays correct while rows are inserted and works on any node.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

import msgspec

from supportd.domain.errors import InvalidToken

MAX_SEQ = 2**63 - 1  # the largest 64-bit signed integer: SQLite's and PostgreSQL's bigint


class Cursor(msgspec.Struct, array_like=True, frozen=True):
    kind: str
    scope: str
    last_seq: int


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2s(payload, digest_size=6, person=b"supportd").digest()


def encode(cursor: Cursor) -> str:
    payload = msgspec.json.encode(cursor)
    return base64.urlsafe_b64encode(_digest(payload) + payload).decode().rstrip("=")


def decode(token: str, kind: str, scope: str) -> int:
    """The last sequence number of the previous page; InvalidToken if not ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        digest, payload = raw[:6], raw[6:]
        if digest != _digest(payload):
            raise InvalidToken(token)
        cursor = msgspec.json.decode(payload, type=Cursor)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise InvalidToken(token) from exc
    # The digest is not keyed, so a token can be forged: bound the position to what a
    # database integer holds.
    if cursor.kind != kind or cursor.scope != scope or not 0 <= cursor.last_seq <= MAX_SEQ:
        raise InvalidToken(token)
    return cursor.last_seq
