"""The staff console's storage, on both stores: staff members' console passwords and the
canned replies (see domain.console for the rules).

Setting a password ends every console session of that staff member in the same
transaction, as a new password does for Support Center users.
"""

from __future__ import annotations

from typing import Any

from supportd.domain.console import (
    MAX_CANNED_REPLIES,
    CannedReply,
    CannedReplyExists,
    StaffEmailTaken,
    StaffLogin,
    TooManyCannedReplies,
)
from supportd.domain.staff import StaffMember
from supportd.domain.web_sessions import STAFF as STAFF_KIND
from supportd.storage.sql import SqlStore, Tx, UniqueViolation

# Staff rows are few (people, not cases); the e-mail look-up still goes through the
# staff_by_email index.
LOGINS_SQL = (
    "SELECT s.name, s.email, s.role, s.created_ms, s.disabled_ms, p.password_hash"
    " FROM staff s JOIN staff_passwords p ON p.staff_name = s.name"
    " WHERE lower(s.email) = $1 ORDER BY s.seq LIMIT 10"
)
OTHER_LOGIN_SQL = (
    "SELECT s.name FROM staff s JOIN staff_passwords p ON p.staff_name = s.name"
    " WHERE lower(s.email) = $1 AND s.name <> $2 LIMIT 1"
)
UPSERT_LOGIN_SQL = (
    "INSERT INTO staff_passwords (staff_name, password_hash, changed_ms) VALUES ($1, $2, $3)"
    " ON CONFLICT (staff_name) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
    " changed_ms = EXCLUDED.changed_ms"
)
END_SESSIONS_SQL = "DELETE FROM web_sessions WHERE kind = $1 AND subject = $2"

CANNED_COLUMNS = "seq, title, body, created_by, created_ms, updated_by, updated_ms"
CANNED_SQL = f"SELECT {CANNED_COLUMNS} FROM canned_replies WHERE seq = $1"


def canned_from_row(row: Any) -> CannedReply:
    return CannedReply(
        seq=int(row[0]),
        title=row[1],
        body=row[2],
        created_by=row[3],
        created_ms=int(row[4]),
        updated_by=row[5],
        updated_ms=int(row[6]),
    )


async def _canned(tx: Tx, seq: int) -> CannedReply | None:
    row = await tx.fetchrow(CANNED_SQL, seq)
    return canned_from_row(row) if row else None


class Console(SqlStore):
    # --- staff passwords ----------------------------------------------------------

    async def set_staff_password(self, name: str, password_hash: str, now_ms: int) -> bool:
        """Give a staff member a (new) console password, ending their console sessions;
        False if there is no such staff member. StaffEmailTaken (nothing written) if
        another staff member with the same e-mail address has a password."""

        async def job(tx: Tx) -> bool:
            email = await tx.fetchval("SELECT email FROM staff WHERE name = $1 FOR UPDATE", name)
            if email is None:
                return False
            other = await tx.fetchval(OTHER_LOGIN_SQL, str(email).lower(), name)
            if other is not None:
                raise StaffEmailTaken(str(other))
            await tx.execute(UPSERT_LOGIN_SQL, name, password_hash, now_ms)
            await tx.execute(END_SESSIONS_SQL, STAFF_KIND, name)
            return True

        return await self._write(job)

    async def staff_logins(self, email: str) -> list[StaffLogin]:
        """The staff members with a console password whose e-mail address is `email`
        (lower-cased), disabled or not."""

        async def job(tx: Tx) -> list[StaffLogin]:
            return [
                StaffLogin(StaffMember(r[0], r[1], r[2], int(r[3]), r[4]), r[5])
                for r in await tx.fetch(LOGINS_SQL, email)
            ]

        return await self._read(job)

    async def staff_with_password(self, name: str) -> bool:
        async def job(tx: Tx) -> bool:
            found = await tx.fetchval("SELECT 1 FROM staff_passwords WHERE staff_name = $1", name)
            return found is not None

        return await self._read(job)

    # --- canned replies -----------------------------------------------------------

    async def list_canned_replies(self) -> list[CannedReply]:
        """Every canned reply (at most MAX_CANNED_REPLIES), by title."""
        return await self._records(
            canned_from_row,
            f"SELECT {CANNED_COLUMNS} FROM canned_replies ORDER BY title, seq LIMIT $1",
            MAX_CANNED_REPLIES,
        )

    async def get_canned_reply(self, seq: int) -> CannedReply | None:
        return await self._read(lambda tx: _canned(tx, seq))

    async def create_canned_reply(
        self, title: str, body: str, staff_name: str, now_ms: int
    ) -> CannedReply:
        """CannedReplyExists if the title is taken, TooManyCannedReplies if the list is
        full (nothing written)."""

        async def job(tx: Tx) -> CannedReply:
            await tx.lock("canned-replies", "count")
            count = await tx.fetchval("SELECT COUNT(*) FROM canned_replies")
            if int(count) >= MAX_CANNED_REPLIES:
                raise TooManyCannedReplies
            try:
                seq = await tx.fetchval(
                    "INSERT INTO canned_replies (title, body, created_by, created_ms,"
                    " updated_by, updated_ms) VALUES ($1, $2, $3, $4, $3, $4) RETURNING seq",
                    title,
                    body,
                    staff_name,
                    now_ms,
                )
            except UniqueViolation:
                raise CannedReplyExists(title) from None
            return CannedReply(int(seq), title, body, staff_name, now_ms, staff_name, now_ms)

        return await self._write(job)

    async def update_canned_reply(
        self, seq: int, title: str, body: str, staff_name: str, now_ms: int
    ) -> CannedReply | None:
        """None if there is no such canned reply; CannedReplyExists if another has the
        title."""

        async def job(tx: Tx) -> CannedReply | None:
            try:
                changed = await tx.execute(
                    "UPDATE canned_replies SET title = $1, body = $2, updated_by = $3,"
                    " updated_ms = $4 WHERE seq = $5",
                    title,
                    body,
                    staff_name,
                    now_ms,
                    seq,
                )
            except UniqueViolation:
                raise CannedReplyExists(title) from None
            return await _canned(tx, seq) if changed else None

        return await self._write(job)

    async def delete_canned_reply(self, seq: int) -> bool:
        async def job(tx: Tx) -> bool:
            return await tx.execute("DELETE FROM canned_replies WHERE seq = $1", seq) == 1

        return await self._write(job, idempotent=True, single_statement=True)
