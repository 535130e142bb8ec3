"""The web pages' area of the Store protocol: Support Center users, browser sessions and
failed sign-ins (storage.web implements it for both stores)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from supportd.domain.web_sessions import Failures, WebSession
from supportd.domain.web_users import WebUser


class WebStore(Protocol):
    async def create_web_user(
        self, user: WebUser, invite_hash: str | None = None, invite_expires_ms: int | None = None
    ) -> None:
        """Insert a user (with a one-time link's token hash, if invited); WebUserExists
        if the e-mail address is taken."""

    async def get_web_user(self, user_id: str) -> WebUser | None: ...

    async def get_web_user_by_email(self, email: str) -> WebUser | None:
        """By the normalised (lower-case) address."""

    async def list_web_users(self, account_id: str | None = None) -> list[WebUser]:
        """The users of one account, or of all, in creation order."""

    async def set_web_user_disabled(self, user_id: str, disabled_ms: int | None) -> WebUser | None:
        """Disable (every session of the user ends in the same transaction) or enable;
        the user afterwards, or None."""

    async def delete_web_user(self, user_id: str) -> bool:
        """Delete the user and their sessions; False if there was no such user."""

    async def set_web_user_password(
        self, user_id: str, password_hash: str, now_ms: int, keep_session: str | None = None
    ) -> bool:
        """Store a new password hash (spending any one-time link); every session of the
        user but keep_session ends. False if there is no such user."""

    async def set_web_invite(self, user_id: str, invite_hash: str, expires_ms: int) -> bool:
        """Give the user a (new) one-time link, replacing any earlier one."""

    async def get_web_invite(self, invite_hash: str) -> tuple[WebUser, int] | None:
        """The user of a one-time link and its expiry time, or None."""

    async def accept_web_invite(
        self, invite_hash: str, password_hash: str, now_ms: int
    ) -> WebUser | None:
        """Spend a live link of an active user on a password, in one transaction; the
        user, or None if the link cannot be used."""

    async def create_web_session(self, session: WebSession, replaces: str | None = None) -> None:
        """Insert a session, deleting the session `replaces` in the same transaction."""

    async def get_web_session(self, session_hash: str) -> WebSession | None:
        """The session, ended or not (the caller applies the time rules), or None."""

    async def touch_web_session(self, session_hash: str, now_ms: int) -> None: ...

    async def delete_web_session(self, session_hash: str) -> bool: ...

    async def delete_web_sessions(self, kind: str, subject: str) -> int:
        """End every session of one person; how many there were."""

    async def count_web_sessions(self, kind: str, subject: str) -> int: ...

    async def record_sign_in_failure(self, keys: Sequence[tuple[str, str]], at_ms: int) -> None:
        """One failed sign-in, counted against each (scope, key)."""

    async def sign_in_failures(self, scope: str, key: str, since_ms: int) -> Failures:
        """Failed sign-ins against (scope, key) after since_ms."""

    async def clear_sign_in_failures(self, scope: str, key: str) -> None: ...

    async def prune_web(
        self, created_before_ms: int, seen_before_ms: int, failures_before_ms: int
    ) -> int:
        """Delete ended sessions and failed sign-ins older than the window."""
