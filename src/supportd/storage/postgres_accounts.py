"""The scale-out store's accounts, access keys and audit trail.

Audit rows are queued in memory and written by one background task per process: while
one batch is being inserted (one statement, `unnest` of arrays), the next accumulates.
So a row costs one list append on the request path and a share of one round trip.
close() waits for every queued row first: no acknowledged request's row is lost on a
graceful stop. A batch retried after a connection lost during COMMIT is not written
twice (request ids are unique).

The case-creation quota (`check_case_quota`) runs in create_case's transaction, after
taking a transaction-level advisory lock on the account: every node creating a case for
that account waits its turn, and READ COMMITTED gives the count statement a snapshot
taken after the lock, so the count is exact across nodes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

import asyncpg

from supportd.domain.accounts import (
    AccessKey,
    Account,
    AccountExists,
    AccountNotFound,
    AuditEntry,
    AuditQuery,
    CaseQuotaExceeded,
    Credential,
    LimitOverrides,
)
from supportd.domain.records import NewCase
from supportd.storage.postgres_core import Connection, PostgresCore
from supportd.storage.rows import (
    ACCOUNT_COLUMNS,
    AUDIT_COLUMNS,
    CREDENTIAL_SELECT,
    KEY_COLUMNS,
    account_record,
    audit_record,
    audit_values,
    key_record,
)
from supportd.storage.sql import Params

log = logging.getLogger("supportd.storage.postgres")

HOUR_MS = 3_600_000
# First half of the two-int advisory lock keys that serialise an account's case
# creation (the single-bigint key space, used for migrations, does not overlap).
QUOTA_LOCK_CLASS = int.from_bytes(b"quot", "big", signed=True)
INSERT_AUDIT = (
    f"INSERT INTO audit_events ({AUDIT_COLUMNS}) SELECT * FROM unnest("
    "$1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],"
    " $8::text[], $9::int[], $10::text[]) ON CONFLICT (request_id) DO NOTHING"
)
CREDENTIAL_SQL = f"{CREDENTIAL_SELECT} WHERE k.access_key_id = $1"


def _lock_key(account_id: str) -> int:
    return int.from_bytes(
        hashlib.blake2s(account_id.encode(), digest_size=4).digest(), "big", signed=True
    )


async def check_case_quota(conn: Connection, case: NewCase, limit: int) -> None:
    """CaseQuotaExceeded if the account created `limit` cases in the hour before this
    one; inside create_case's transaction, before its insert."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, $2)", QUOTA_LOCK_CLASS, _lock_key(case.account_id)
    )
    # case_id <> $3: a retry of a create that did commit (connection lost during COMMIT)
    # must not count its own case; the insert then finds it (ON CONFLICT).
    count = await conn.fetchval(
        "SELECT COUNT(*) FROM cases WHERE account_id = $1 AND created_ms > $2 AND case_id <> $3",
        case.account_id,
        case.created_ms - HOUR_MS,
        case.case_id,
    )
    if count >= limit:
        raise CaseQuotaExceeded(limit)


class PostgresAccounts(PostgresCore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._audit_queue: list[AuditEntry] = []
        self._audit_task: asyncio.Task[None] | None = None

    async def close(self) -> None:
        await self.flush_audit()
        await super().close()

    # --- accounts -----------------------------------------------------------------

    async def create_account(self, account: Account) -> None:
        async def job(conn: Connection) -> None:
            try:
                await conn.execute(
                    f"INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    account.account_id,
                    account.email,
                    account.plan,
                    account.limits.cases_per_hour,
                    account.limits.case_api_tps,
                    account.limits.advisor_tps,
                    account.created_ms,
                )
            except asyncpg.exceptions.UniqueViolationError:
                raise AccountExists(account.account_id) from None

        await self._write_conn(job)

    async def get_account(self, account_id: str) -> Account | None:
        async def job(conn: Connection) -> Account | None:
            row = await conn.fetchrow(
                f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE account_id = $1", account_id
            )
            return account_record(row) if row else None

        return await self._read_conn(job)

    async def list_accounts(self) -> list[Account]:
        async def job(conn: Connection) -> list[Account]:
            rows = await conn.fetch(f"SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY seq")
            return [account_record(row) for row in rows]

        return await self._read_conn(job)

    async def update_account(
        self,
        account_id: str,
        *,
        plan: str | None = None,
        email: str | None = None,
        limits: LimitOverrides | None = None,
    ) -> Account | None:
        arg = Params(account_id)

        sets: list[str] = []
        if plan is not None:
            sets.append(f"plan = {arg(plan)}")
        if email is not None:
            sets.append(f"email = {arg(email)}")
        if limits is not None:
            sets.append(f"max_cases_per_hour = {arg(limits.cases_per_hour)}")
            sets.append(f"case_api_tps = {arg(limits.case_api_tps)}")
            sets.append(f"advisor_tps = {arg(limits.advisor_tps)}")
        if not sets:
            return await self.get_account(account_id)
        sql = (
            f"UPDATE accounts SET {', '.join(sets)} WHERE account_id = $1"
            f" RETURNING {ACCOUNT_COLUMNS}"
        )

        async def job(conn: Connection) -> Account | None:
            row = await conn.fetchrow(sql, *arg.values)
            return account_record(row) if row else None

        return await self._write_conn(job, idempotent=True)

    async def delete_account(self, account_id: str) -> bool:
        async def job(conn: Connection) -> bool:
            await conn.execute("DELETE FROM access_keys WHERE account_id = $1", account_id)
            status = await conn.execute("DELETE FROM accounts WHERE account_id = $1", account_id)
            return bool(status != "DELETE 0")

        return await self._write_conn(job)

    # --- access keys --------------------------------------------------------------

    async def create_key(self, key: AccessKey) -> None:
        async def job(conn: Connection) -> None:
            try:
                await conn.execute(
                    f"INSERT INTO access_keys ({KEY_COLUMNS})"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    key.access_key_id,
                    key.account_id,
                    key.user_name,
                    key.secret_sealed,
                    key.session_token_hash,
                    key.expires_ms,
                    key.created_ms,
                    key.revoked_ms,
                )
            except asyncpg.exceptions.ForeignKeyViolationError:
                raise AccountNotFound(key.account_id) from None

        await self._write_conn(job)

    async def get_credential(self, access_key_id: str) -> Credential | None:
        async def job(conn: Connection) -> Credential | None:
            row = await conn.fetchrow(CREDENTIAL_SQL, access_key_id)
            if row is None:
                return None
            values = tuple(row)
            return Credential(key=key_record(values[:8]), account=account_record(values[8:]))

        return await self._read_conn(job)

    async def list_keys(self, account_id: str | None = None) -> list[AccessKey]:
        async def job(conn: Connection) -> list[AccessKey]:
            if account_id is None:
                rows = await conn.fetch(f"SELECT {KEY_COLUMNS} FROM access_keys ORDER BY seq")
            else:
                rows = await conn.fetch(
                    f"SELECT {KEY_COLUMNS} FROM access_keys WHERE account_id = $1 ORDER BY seq",
                    account_id,
                )
            return [key_record(row) for row in rows]

        return await self._read_conn(job)

    async def revoke_key(self, access_key_id: str, now_ms: int) -> AccessKey | None:
        async def job(conn: Connection) -> AccessKey | None:
            row = await conn.fetchrow(
                "UPDATE access_keys SET revoked_ms = COALESCE(revoked_ms, $2)"
                f" WHERE access_key_id = $1 RETURNING {KEY_COLUMNS}",
                access_key_id,
                now_ms,
            )
            return key_record(row) if row else None

        return await self._write_conn(job, idempotent=True)

    async def recent_case_count(self, account_id: str, since_ms: int) -> int:
        async def job(conn: Connection) -> int:
            return int(
                await conn.fetchval(
                    "SELECT COUNT(*) FROM cases WHERE account_id = $1 AND created_ms > $2",
                    account_id,
                    since_ms,
                )
            )

        return await self._read_conn(job)

    # --- the audit trail ----------------------------------------------------------

    def record_audit(self, entry: AuditEntry) -> None:
        self._audit_queue.append(entry)
        if self._audit_task is None or self._audit_task.done():
            self._audit_task = asyncio.get_running_loop().create_task(self._drain_audit())

    async def _drain_audit(self) -> None:
        while self._audit_queue:
            batch, self._audit_queue = self._audit_queue, []
            columns: list[list[Any]] = [[] for _ in range(10)]
            for entry in batch:
                for column, value in zip(columns, audit_values(entry), strict=True):
                    column.append(value)

            async def job(conn: Connection, columns: list[list[Any]] = columns) -> None:
                await conn.execute(INSERT_AUDIT, *columns)

            try:
                await self._write_conn(job, idempotent=True, single_statement=True)
            except Exception:
                log.exception("%d audit rows could not be written", len(batch))

    async def flush_audit(self) -> None:
        while self._audit_task is not None and not self._audit_task.done():
            await asyncio.shield(self._audit_task)
        if self._audit_queue:
            await self._drain_audit()

    async def list_audit(self, query: AuditQuery) -> list[AuditEntry]:
        arg = Params(query.after_seq)

        where = ["seq > $1"]
        if query.account_id is not None:
            where.append(f"account_id = {arg(query.account_id)}")
        if query.operation is not None:
            where.append(f"operation = {arg(query.operation)}")
        if query.error_code is not None:
            where.append(f"error_code = {arg(query.error_code)}")
        if query.outcome == "ok":
            where.append("error_code IS NULL")
        elif query.outcome == "error":
            where.append("error_code IS NOT NULL")
        if query.since_ms is not None:
            where.append(f"at_ms >= {arg(query.since_ms)}")
        if query.until_ms is not None:
            where.append(f"at_ms <= {arg(query.until_ms)}")
        sql = (
            f"SELECT seq, {AUDIT_COLUMNS} FROM audit_events WHERE {' AND '.join(where)}"
            f" ORDER BY seq LIMIT {arg(query.limit)}"
        )

        async def job(conn: Connection) -> list[AuditEntry]:
            return [audit_record(row) for row in await conn.fetch(sql, *arg.values)]

        return await self._read_conn(job)
