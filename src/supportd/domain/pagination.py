"""Opaque keyset pagination tokens.

A token names the last row a page returned (its sequence number) and what it pages
over, so it stays correct while rows are inserted and works on any node.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import TypeVar

import msgspec

from supportd.domain.errors import InvalidToken

C = TypeVar("C", bound=msgspec.Struct)

MAX_SEQ = 2**63 - 1  # the largest 64-bit signed integer: SQLite's and PostgreSQL's bigint


class Cursor(msgspec.Struct, array_like=True, frozen=True):
    kind: str
    scope: str
    last_seq: int


def _digest(payload: bytes, person: bytes) -> bytes:
    return hashlib.blake2s(payload, digest_size=6, person=person).digest()


def seal(cursor: msgspec.Struct, person: bytes = b"supportd") -> str:
    """A token carrying the cursor: a short digest (under `person`, one per kind of
    cursor) and the cursor's JSON, URL-safe base64 without padding."""
    payload = msgspec.json.encode(cursor)
    return base64.urlsafe_b64encode(_digest(payload, person) + payload).decode().rstrip("=")


def unseal(token: str, cursor_type: type[C], person: bytes = b"supportd") -> C:
    """The cursor a token sealed with `person` carries; InvalidToken if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        digest, payload = raw[:6], raw[6:]
        if digest != _digest(payload, person):
            raise InvalidToken(token)
        return msgspec.json.decode(payload, type=cursor_type)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise InvalidToken(token) from exc


def encode(cursor: Cursor) -> str:
    return seal(cursor)


def decode(token: str, kind: str, scope: str) -> int:
    """The last sequence number of the previous page; InvalidToken if not ours."""
    cursor = unseal(token, Cursor)
    # The digest is not keyed, so a token can be forged: bound the position to what a
    # database integer holds.
    if cursor.kind != kind or cursor.scope != scope or not 0 <= cursor.last_seq <= MAX_SEQ:
        raise InvalidToken(token)
    return cursor.last_seq
