"""Accounts (plan, e-mail, own limits), their access keys, and one audit row per API
call, on both stores. Secrets reach the store sealed; the store never sees the server
key.

Audit rows are queued in memory: recording one is a list append on the request path.
The first row queued schedules one flush (a task on the store's event loop), which
takes everything queued and writes it with one executemany in one `_write`; rows queued
meanwhile go to the next batch, written as soon as that one is done. On SQLite the batch
joins the writer's next group commit; on PostgreSQL it is one atomic executemany (its
own transaction). A batch retried after a connection lost during COMMIT, or written
again after its flush was cancelled, does not write a row twice: request ids are unique
and the insert skips those present. close() writes every queued row before the store
closes, so no acknowledged request's row is lost on a graceful stop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from supportd.domain.accounts import (
    AccessKey,
    Account,
    AccountExists,
    AccountNotFound,
    AuditEntry,
    AuditQuery,
    Credential,
    LimitOverrides,
)
from supportd.storage.errors import StoreUnavailable
from supportd.storage.rows import (
    ACCOUNT_COLUMNS,
    AUDIT_COLUMNS,
    CREDENTIAL_SELECT,
    KEY_COLUMNS,
    account_record,
    audit_record,
    audit_values,
    key_record,
    values_of,
)
from supportd.storage.sql import POSTGRESQL, Params, SqlStore, Tx, TxFn, UniqueViolation

log = logging.getLogger("supportd.storage")

INSERT_ACCOUNT_SQL = f"INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
SELECT_ACCOUNT_SQL = f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE account_id = $1"
LIST_ACCOUNTS_SQL = f"SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY seq"
# The account row locked: creating a key and deleting its account take turns, so a key
# is never added to an account being deleted.
LOCK_ACCOUNT_SQL = "SELECT 1 FROM accounts WHERE account_id = $1 FOR UPDATE"
DELETE_KEYS_SQL = "DELETE FROM access_keys WHERE account_id = $1"
DELETE_ACCOUNT_SQL = "DELETE FROM accounts WHERE account_id = $1"
INSERT_KEY_SQL = f"INSERT INTO access_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
_key_values = values_of(KEY_COLUMNS)
CREDENTIAL_SQL = f"{CREDENTIAL_SELECT} WHERE k.access_key_id = $1"
LIST_KEYS_SQL = f"SELECT {KEY_COLUMNS} FROM access_keys ORDER BY seq"
LIST_ACCOUNT_KEYS_SQL = f"SELECT {KEY_COLUMNS} FROM access_keys WHERE account_id = $1 ORDER BY seq"
# A revoked key keeps its first revocation time.
REVOKE_KEY_SQL = (
    "UPDATE access_keys SET revoked_ms = COALESCE(revoked_ms, $2)"
    f" WHERE access_key_id = $1 RETURNING {KEY_COLUMNS}"
)
RECENT_CASES_SQL = "SELECT COUNT(*) FROM cases WHERE account_id = $1 AND created_ms > $2"
INSERT_AUDIT_SQL = (
    f"INSERT INTO audit_events ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)
# PostgreSQL may run a batch again after losing its connection during COMMIT: its unique
# index on request_id turns the repeat into nothing. SQLite never repeats a write (one
# writer thread, no connection to lose), so it keeps no such index, which would cost
# every audit row about 13 us (measured: an executemany of 10 rows per commit).
SKIP_WRITTEN = " ON CONFLICT (request_id) DO NOTHING"


def insert_audit(batch: list[AuditEntry]) -> TxFn[None]:
    """The transaction function that writes one batch of audit rows."""

    async def job(tx: Tx) -> None:
        sql = INSERT_AUDIT_SQL + SKIP_WRITTEN if tx.dialect == POSTGRESQL else INSERT_AUDIT_SQL
        await tx.executemany(sql, [audit_values(entry) for entry in batch])

    return job


class Accounts(SqlStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._audit_queue: list[AuditEntry] = []
        self._audit_flush: asyncio.Task[None] | None = None

    async def close(self) -> None:
        await self.flush_audit()
        await super().close()

    # --- accounts -----------------------------------------------------------------

    async def create_account(self, account: Account) -> None:
        """Insert an account; AccountExists if the id is taken."""
        limits = account.limits

        async def job(tx: Tx) -> None:
            try:
                await tx.execute(
                    INSERT_ACCOUNT_SQL,
                    account.account_id,
                    account.email,
                    account.plan,
                    limits.cases_per_hour,
                    limits.case_api_tps,
                    limits.advisor_tps,
                    account.created_ms,
                )
            except UniqueViolation:
                raise AccountExists(account.account_id) from None

        # Not idempotent: a retry after a lost COMMIT would find its own account.
        await self._write(job, single_statement=True)

    async def get_account(self, account_id: str) -> Account | None:
        """The account, or None."""
        return await self._record(account_record, SELECT_ACCOUNT_SQL, account_id)

    async def list_accounts(self) -> list[Account]:
        """Every account, in creation order."""
        return await self._records(account_record, LIST_ACCOUNTS_SQL, scan=True)

    async def update_account(
        self,
        account_id: str,
        *,
        plan: str | None = None,
        email: str | None = None,
        limits: LimitOverrides | None = None,
    ) -> Account | None:
        """Change what is given (limits: all three at once); the account afterwards, or
        None if there is no such account."""
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

        async def job(tx: Tx) -> Account | None:
            row = await tx.fetchrow(sql, *arg.values)
            return account_record(row) if row else None

        return await self._write(job, idempotent=True, single_statement=True)

    async def delete_account(self, account_id: str) -> bool:
        """Delete the account and its access keys (its cases and audit rows stay);
        False if there was no such account."""

        async def job(tx: Tx) -> bool:
            if await tx.fetchrow(LOCK_ACCOUNT_SQL, account_id) is None:
                return False
            await tx.execute(DELETE_KEYS_SQL, account_id)
            return await tx.execute(DELETE_ACCOUNT_SQL, account_id) > 0

        return await self._write(job)

    # --- access keys --------------------------------------------------------------

    async def create_key(self, key: AccessKey) -> None:
        """Insert an access key; AccountNotFound if its account does not exist."""

        async def job(tx: Tx) -> None:
            if await tx.fetchrow(LOCK_ACCOUNT_SQL, key.account_id) is None:
                raise AccountNotFound(key.account_id)
            await tx.execute(INSERT_KEY_SQL, *_key_values(key))

        await self._write(job)

    async def get_credential(self, access_key_id: str) -> Credential | None:
        """The key with this id and its account, in one look-up (revoked and expired
        keys included: the caller decides), or None."""

        async def job(tx: Tx) -> Credential | None:
            row = await tx.fetchrow(CREDENTIAL_SQL, access_key_id)
            if row is None:
                return None
            values = tuple(row)
            return Credential(key=key_record(values[:8]), account=account_record(values[8:]))

        return await self._read(job)

    async def list_keys(self, account_id: str | None = None) -> list[AccessKey]:
        """The keys of one account, or of all, in creation order."""

        async def job(tx: Tx) -> list[AccessKey]:
            if account_id is None:
                rows = await tx.fetch(LIST_KEYS_SQL)
            else:
                rows = await tx.fetch(LIST_ACCOUNT_KEYS_SQL, account_id)
            return [key_record(row) for row in rows]

        # Every key of the deployment is a scan; one account's keys are an index range.
        return await (self._scan(job) if account_id is None else self._read(job))

    async def revoke_key(self, access_key_id: str, now_ms: int) -> AccessKey | None:
        """Mark a key revoked (a revoked key stays revoked, with its first revocation
        time); the key afterwards, or None if there is no such key."""

        async def job(tx: Tx) -> AccessKey | None:
            row = await tx.fetchrow(REVOKE_KEY_SQL, access_key_id, now_ms)
            return key_record(row) if row else None

        return await self._write(job, idempotent=True, single_statement=True)

    async def recent_case_count(self, account_id: str, since_ms: int) -> int:
        """Cases the account created after since_ms (a read: not exact under concurrent
        creation; create_case's max_cases_per_hour is)."""

        async def job(tx: Tx) -> int:
            return int(await tx.fetchval(RECENT_CASES_SQL, account_id, since_ms))

        return await self._read(job)

    # --- the audit trail ----------------------------------------------------------

    def record_audit(self, entry: AuditEntry) -> None:
        """Queue one audit row; called on the store's event loop. Rows are written in
        batches shortly after, without the caller waiting, each row once (request ids
        are unique); close() (and flush_audit()) write every queued row first."""
        self._audit_queue.append(entry)
        if self._audit_flush is None:
            self._audit_flush = asyncio.get_running_loop().create_task(self._write_audit())

    async def _write_audit(self) -> None:
        """The flush: batch after batch until the queue is empty (runs on the event loop,
        as record_audit does, so taking the queue needs no lock)."""
        try:
            while self._audit_queue:
                batch, self._audit_queue = self._audit_queue, []
                try:
                    await self._write(insert_audit(batch), idempotent=True, single_statement=True)
                except asyncio.CancelledError:
                    # The loop is stopping this task. Where a write handed over commits
                    # anyway (SQLite's writer thread), the batch is done; elsewhere it goes
                    # back for close() to write (a part that did commit is skipped then).
                    if not self.cancelled_writes_commit:
                        self._audit_queue[:0] = batch
                    raise
                except StoreUnavailable as exc:
                    # Expected while the database is away or the disk full: one line.
                    log.error("%d audit rows could not be written: %s", len(batch), exc)
                except Exception:
                    log.exception("%d audit rows could not be written", len(batch))
        finally:
            self._audit_flush = None

    async def flush_audit(self) -> None:
        """Write every audit row queued so far."""
        while self._audit_queue or self._audit_flush is not None:
            flush = self._audit_flush
            if flush is None or flush.done():
                # Nothing scheduled, or a flush cancelled before it ever ran.
                flush = self._audit_flush = asyncio.get_running_loop().create_task(
                    self._write_audit()
                )
            # Waits without taking the flush's outcome (logged there) or cancelling it.
            await asyncio.wait([flush])

    async def list_audit(self, query: AuditQuery) -> list[AuditEntry]:
        """Up to query.limit rows matching the query, in recording order."""
        arg = Params(query.after_seq)
        where = [
            "seq > $1",
            *arg.given(
                ("account_id = {}", query.account_id),
                ("operation = {}", query.operation),
                ("error_code = {}", query.error_code),
            ),
        ]
        if query.outcome == "ok":
            where.append("error_code IS NULL")
        elif query.outcome == "error":
            where.append("error_code IS NOT NULL")
        where += arg.given(("at_ms >= {}", query.since_ms), ("at_ms <= {}", query.until_ms))
        sql = arg.page(f"SELECT {AUDIT_COLUMNS}, seq FROM audit_events", where, "seq", query.limit)
        # Filters may pass over many rows before `limit` match.
        rows = await self._scan(lambda tx: tx.fetch(sql, *arg.values))
        return [audit_record(row) for row in rows]
