"""The staff console's area of the Store protocol: staff members' console passwords and
canned replies (storage.console implements it for both stores)."""

from __future__ import annotations

from typing import Protocol

from supportd.domain.console import CannedReply, StaffLogin


class ConsoleStore(Protocol):
    async def set_staff_password(self, name: str, password_hash: str, now_ms: int) -> bool:
        """Set a staff member's console password and end their console sessions, in one
        transaction; False if there is no such staff member. StaffEmailTaken (nothing
        written) if another staff member with that e-mail address has a password."""

    async def staff_logins(self, email: str) -> list[StaffLogin]:
        """Staff members with a console password and this (lower-cased) e-mail address."""

    async def staff_with_password(self, name: str) -> bool: ...

    async def list_canned_replies(self) -> list[CannedReply]:
        """Every canned reply, by title (at most domain.console.MAX_CANNED_REPLIES)."""

    async def get_canned_reply(self, seq: int) -> CannedReply | None: ...

    async def create_canned_reply(
        self, title: str, body: str, staff_name: str, now_ms: int
    ) -> CannedReply:
        """CannedReplyExists if the title is taken; TooManyCannedReplies if the list is
        full (nothing written either way)."""

    async def update_canned_reply(
        self, seq: int, title: str, body: str, staff_name: str, now_ms: int
    ) -> CannedReply | None:
        """The reply afterwards; None if there is no such reply; CannedReplyExists if
        another reply has the title."""

    async def delete_canned_reply(self, seq: int) -> bool: ...
