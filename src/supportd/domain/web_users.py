"""People who sign in to the Support Center: records and pure rules.

A user belongs to one account and signs in with an e-mail address and a password. The
e-mail address is unique across every account (sign-in asks for nothing else); it is
kept lower-cased, so `Jane@Example.com` and `jane@example.com` are one user.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from supportd.domain.addresses import is_valid_email
from supportd.domain.errors import DomainError

USER_ID_PREFIX = "user-"
MIN_PASSWORD_CHARS = 10
# Long enough for any passphrase or manager-made password; short enough that hashing a
# hostile one costs nothing noticeable.
MAX_PASSWORD_CHARS = 256
MAX_NAME_CHARS = 100


class WebUserExists(DomainError):
    """A user with this e-mail address exists already."""


@dataclass(frozen=True, slots=True)
class WebUser:
    user_id: str
    account_id: str
    email: str
    name: str
    password_hash: str | None  # None: invited, no password chosen yet
    created_ms: int
    disabled_ms: int | None = None
    password_changed_ms: int | None = None

    @property
    def active(self) -> bool:
        return self.disabled_ms is None

    @property
    def display_name(self) -> str:
        return self.name or self.email


@dataclass(frozen=True, slots=True)
class Invite:
    """A one-time sign-in link's secret is shown once; the store keeps its SHA-256."""

    user_id: str
    token_hash: str
    expires_ms: int


def new_user_id() -> str:
    return USER_ID_PREFIX + secrets.token_hex(10)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    if not email:
        return "Enter an e-mail address."
    if not is_valid_email(email):
        return "Enter an e-mail address in the form name@example.com."
    return None


def name_problem(name: str) -> str | None:
    if len(name) > MAX_NAME_CHARS:
        return f"A name has at most {MAX_NAME_CHARS} characters."
    if any(ord(c) < 32 for c in name):
        return "A name must not contain control characters."
    return None


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None. Length is what counts (NIST SP 800-63B):
    no composition rules, which only push people to predictable patterns."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"A password needs at least {MIN_PASSWORD_CHARS} characters."
    if len(password) > MAX_PASSWORD_CHARS:
        return f"A password has at most {MAX_PASSWORD_CHARS} characters."
    if "\x00" in password:
        return "A password must not contain the NUL character."
    return None


def new_secret() -> str:
    """A random token for a cookie or a link: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """What the store keeps of a session id or invite token: reading the database does
    not let anyone act as a signed-in person."""
    return hashlib.sha256(secret.encode()).hexdigest()
