"""Password hashing: argon2id (argon2-cffi), in the PHC string format.

Parameters: OWASP's recommended minimum for argon2id (19 MiB, 2 passes, 1 lane), about
30 ms per hash on one core. A hash keeps its parameters, so stronger ones can come
later: `needs_rehash` tells when a stored hash should be replaced at the next sign-in.
Hashing runs in a thread (`hash_async`, `verify_async`): 30 ms of CPU must not stall
the event loop's other requests.
"""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1, type=Type.ID)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches the hash. Without a hash (an unknown e-mail address,
    an invited user with no password yet) a dummy hash is checked all the same, so the
    answer takes as long and says nothing about which addresses exist."""
    try:
        return _HASHER.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


@functools.cache
def _dummy_hash() -> str:
    return _HASHER.hash("supportd: no such user")


async def hash_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_async(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)
