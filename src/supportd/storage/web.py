"""The web pages' storage, on both stores: Support Center users, browser sessions and
failed sign-ins (see domain.web_users and domain.web_sessions for the rules).

Every write that ends sessions (disabling or deleting a user, a new password) deletes
them in the same transaction as the change, so no request can still pass with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from supportd.domain.web_sessions import CUSTOMER as CUSTOMER_KIND
from supportd.domain.web_sessions import Failures, WebSession
from supportd.domain.web_users import WebUser, WebUserExists
from supportd.storage.rows import values_of
from supportd.storage.sql import SqlStore, Tx, UniqueViolation

USER_COLUMNS = (
    "user_id, account_id, email, name, password_hash, created_ms, disabled_ms, password_changed_ms"
)
SESSION_COLUMNS = "session_hash, kind, subject, csrf_token, created_ms, last_seen_ms"

INSERT_USER_SQL = (
    f"INSERT INTO web_users ({USER_COLUMNS}, invite_hash, invite_expires_ms)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)
USER_BY_ID_SQL = f"SELECT {USER_COLUMNS} FROM web_users WHERE user_id = $1"
USER_BY_EMAIL_SQL = f"SELECT {USER_COLUMNS} FROM web_users WHERE email = $1"
USER_BY_INVITE_SQL = (
    f"SELECT {USER_COLUMNS}, invite_expires_ms FROM web_users WHERE invite_hash = $1"
)
DELETE_USER_SESSIONS_SQL = "DELETE FROM web_sessions WHERE kind = $1 AND subject = $2"
DELETE_OTHER_SESSIONS_SQL = (
    "DELETE FROM web_sessions WHERE kind = $1 AND subject = $2 AND session_hash <> $3"
)
SET_HASH_SQL = (
    "UPDATE web_users SET password_hash = $1, password_changed_ms = $2, invite_hash = NULL,"
    " invite_expires_ms = NULL WHERE user_id = $3"
)
INSERT_SESSION_SQL = f"INSERT INTO web_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
SESSION_SQL = f"SELECT {SESSION_COLUMNS} FROM web_sessions WHERE session_hash = $1"
_user_values = values_of(USER_COLUMNS)
_session_values = values_of(SESSION_COLUMNS)
FAILURES_SQL = (
    "SELECT COUNT(*), MIN(at_ms) FROM web_sign_in_failures"
    " WHERE scope = $1 AND key = $2 AND at_ms > $3"
)


def user_from_row(row: Any) -> WebUser:
    """A USER_COLUMNS row (extra columns after them are not the record's)."""
    return WebUser(*row[:8])


def session_from_row(row: Any) -> WebSession:
    return WebSession(*row)


async def _user(tx: Tx, user_id: str) -> WebUser | None:
    row = await tx.fetchrow(USER_BY_ID_SQL, user_id)
    return user_from_row(row) if row else None


class Web(SqlStore):
    # --- users --------------------------------------------------------------------

    async def create_web_user(
        self, user: WebUser, invite_hash: str | None = None, invite_expires_ms: int | None = None
    ) -> None:
        """Insert a user (with a one-time link's token hash, if invited); WebUserExists
        if the e-mail address is taken."""

        async def job(tx: Tx) -> None:
            try:
                await tx.execute(
                    INSERT_USER_SQL, *_user_values(user), invite_hash, invite_expires_ms
                )
            except UniqueViolation:
                raise WebUserExists(user.email) from None

        await self._write(job, single_statement=True)

    async def get_web_user(self, user_id: str) -> WebUser | None:
        return await self._read(lambda tx: _user(tx, user_id))

    async def get_web_user_by_email(self, email: str) -> WebUser | None:
        """By the normalised (lower-case) address."""
        return await self._record(user_from_row, USER_BY_EMAIL_SQL, email)

    async def list_web_users(self, account_id: str | None = None) -> list[WebUser]:
        """The users of one account, or of all, in creation order."""
        where, args = ("WHERE account_id = $1", [account_id]) if account_id else ("", [])
        sql = f"SELECT {USER_COLUMNS} FROM web_users {where} ORDER BY seq"

        return await self._records(user_from_row, sql, *args, scan=True)

    async def set_web_user_disabled(self, user_id: str, disabled_ms: int | None) -> WebUser | None:
        """Disable (ending every session of the user at once) or enable a user."""

        async def job(tx: Tx) -> WebUser | None:
            await tx.execute(
                "UPDATE web_users SET disabled_ms = $1 WHERE user_id = $2", disabled_ms, user_id
            )
            if disabled_ms is not None:
                await tx.execute(DELETE_USER_SESSIONS_SQL, CUSTOMER_KIND, user_id)
            return await _user(tx, user_id)

        return await self._write(job, idempotent=True)

    async def delete_web_user(self, user_id: str) -> bool:
        """Delete the user and their sessions; False if there was no such user."""

        async def job(tx: Tx) -> bool:
            await tx.execute(DELETE_USER_SESSIONS_SQL, CUSTOMER_KIND, user_id)
            return await tx.execute("DELETE FROM web_users WHERE user_id = $1", user_id) == 1

        return await self._write(job, idempotent=True)

    async def set_web_user_password(
        self, user_id: str, password_hash: str, now_ms: int, keep_session: str | None = None
    ) -> bool:
        """A new password; every session of the user but `keep_session` (the one that
        changed it, if any) ends. False if there is no such user."""

        async def job(tx: Tx) -> bool:
            changed = await tx.execute(SET_HASH_SQL, password_hash, now_ms, user_id)
            if keep_session is None:
                await tx.execute(DELETE_USER_SESSIONS_SQL, CUSTOMER_KIND, user_id)
            else:
                await tx.execute(DELETE_OTHER_SESSIONS_SQL, CUSTOMER_KIND, user_id, keep_session)
            return changed == 1

        return await self._write(job, idempotent=True)

    async def set_web_invite(self, user_id: str, invite_hash: str, expires_ms: int) -> bool:
        """Give the user a (new) one-time link, replacing any earlier one."""

        async def job(tx: Tx) -> bool:
            changed = await tx.execute(
                "UPDATE web_users SET invite_hash = $1, invite_expires_ms = $2 WHERE user_id = $3",
                invite_hash,
                expires_ms,
                user_id,
            )
            return changed == 1

        return await self._write(job, idempotent=True, single_statement=True)

    async def get_web_invite(self, invite_hash: str) -> tuple[WebUser, int] | None:
        """The user a one-time link's token belongs to and when the link expires."""

        async def job(tx: Tx) -> tuple[WebUser, int] | None:
            row = await tx.fetchrow(USER_BY_INVITE_SQL, invite_hash)
            return (user_from_row(row), int(row[8])) if row else None

        return await self._read(job)

    async def accept_web_invite(
        self, invite_hash: str, password_hash: str, now_ms: int
    ) -> WebUser | None:
        """Use a one-time link: its user gets the password and the link is spent, in one
        transaction (two tabs using it at once: one wins). None if the link is unknown,
        spent, expired, or its user is disabled."""

        async def job(tx: Tx) -> WebUser | None:
            row = await tx.fetchrow(USER_BY_INVITE_SQL + " FOR UPDATE", invite_hash)
            if row is None:
                return None
            user = user_from_row(row)
            if not user.active or int(row[8]) <= now_ms:
                return None
            await tx.execute(SET_HASH_SQL, password_hash, now_ms, user.user_id)
            await tx.execute(DELETE_USER_SESSIONS_SQL, CUSTOMER_KIND, user.user_id)
            return await _user(tx, user.user_id)

        return await self._write(job)

    # --- sessions -----------------------------------------------------------------

    async def create_web_session(self, session: WebSession, replaces: str | None = None) -> None:
        """Insert a session; `replaces` (the session id hash the browser had before
        signing in) is deleted in the same transaction: a session id is never carried
        across a sign-in."""

        async def job(tx: Tx) -> None:
            if replaces is not None:
                await tx.execute("DELETE FROM web_sessions WHERE session_hash = $1", replaces)
            await tx.execute(INSERT_SESSION_SQL, *_session_values(session))

        await self._write(job)

    async def get_web_session(self, session_hash: str) -> WebSession | None:
        """The session, ended or not (the caller applies the time rules), or None."""
        return await self._record(session_from_row, SESSION_SQL, session_hash)

    async def touch_web_session(self, session_hash: str, now_ms: int) -> None:
        async def job(tx: Tx) -> None:
            await tx.execute(
                "UPDATE web_sessions SET last_seen_ms = $1"
                " WHERE session_hash = $2 AND last_seen_ms < $1",
                now_ms,
                session_hash,
            )

        await self._write(job, idempotent=True, single_statement=True)

    async def delete_web_session(self, session_hash: str) -> bool:
        async def job(tx: Tx) -> bool:
            deleted = await tx.execute(
                "DELETE FROM web_sessions WHERE session_hash = $1", session_hash
            )
            return deleted == 1

        return await self._write(job, idempotent=True, single_statement=True)

    async def delete_web_sessions(self, kind: str, subject: str) -> int:
        """End every session of one person (sign out everywhere)."""

        async def job(tx: Tx) -> int:
            return await tx.execute(DELETE_USER_SESSIONS_SQL, kind, subject)

        return await self._write(job, idempotent=True, single_statement=True)

    async def count_web_sessions(self, kind: str, subject: str) -> int:
        async def job(tx: Tx) -> int:
            count = await tx.fetchval(
                "SELECT COUNT(*) FROM web_sessions WHERE kind = $1 AND subject = $2",
                kind,
                subject,
            )
            return int(count)

        return await self._read(job)

    # --- sign-in throttling -------------------------------------------------------

    async def record_sign_in_failure(self, keys: Sequence[tuple[str, str]], at_ms: int) -> None:
        """One failed sign-in, counted against each (scope, key)."""

        async def job(tx: Tx) -> None:
            await tx.executemany(
                "INSERT INTO web_sign_in_failures (scope, key, at_ms) VALUES ($1, $2, $3)",
                [(scope, key, at_ms) for scope, key in keys],
            )

        await self._write(job)

    async def sign_in_failures(self, scope: str, key: str, since_ms: int) -> Failures:
        """Failed sign-ins against (scope, key) after since_ms."""

        async def job(tx: Tx) -> Failures:
            row = await tx.fetchrow(FAILURES_SQL, scope, key, since_ms)
            assert row is not None  # an aggregate always has a row
            return Failures(int(row[0]), None if row[1] is None else int(row[1]))

        return await self._read(job)

    async def clear_sign_in_failures(self, scope: str, key: str) -> None:
        async def job(tx: Tx) -> None:
            await tx.execute(
                "DELETE FROM web_sign_in_failures WHERE scope = $1 AND key = $2", scope, key
            )

        await self._write(job, idempotent=True, single_statement=True)

    # --- housekeeping -------------------------------------------------------------

    async def prune_web(
        self, created_before_ms: int, seen_before_ms: int, failures_before_ms: int
    ) -> int:
        """Delete ended sessions and failed sign-ins that no longer count; how many rows."""

        async def job(tx: Tx) -> int:
            sessions = await tx.execute(
                "DELETE FROM web_sessions WHERE created_ms < $1 OR last_seen_ms < $2",
                created_before_ms,
                seen_before_ms,
            )
            failures = await tx.execute(
                "DELETE FROM web_sign_in_failures WHERE at_ms < $1", failures_before_ms
            )
            return sessions + failures

        return await self._write(job, idempotent=True)
