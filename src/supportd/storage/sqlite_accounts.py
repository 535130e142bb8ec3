"""The embedded store's accounts, access keys and audit trail.

Audit rows are queued in memory and written by the process's writer thread: the first
row queued schedules one writer job, and that job writes every row queued by the time it
runs, in the same group commit as the cases being created. So a row costs one list
append on the request path and a share of one executemany. Stopping the writer (close())
runs the queued job first: no acknowledged request's row is lost on a graceful stop.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from typing import Any

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
from supportd.storage.sqlite_core import SQLiteCore

log = logging.getLogger("supportd.storage.sqlite")

HOUR_MS = 3_600_000
INSERT_AUDIT = f"INSERT INTO audit_events ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
CREDENTIAL_SQL = f"{CREDENTIAL_SELECT} WHERE k.access_key_id = ?"


def check_case_quota(conn: sqlite3.Connection, case: NewCase, limit: int) -> None:
    """CaseQuotaExceeded if the account created `limit` cases in the hour before this
    one. Run in the writer's transaction (BEGIN IMMEDIATE holds the database's write
    lock), so the count is exact across every process on the file."""
    (count,) = conn.execute(
        "SELECT COUNT(*) FROM cases WHERE account_id = ? AND created_ms > ?",
        (case.account_id, case.created_ms - HOUR_MS),
    ).fetchone()
    if count >= limit:
        raise CaseQuotaExceeded(limit)


class SQLiteAccounts(SQLiteCore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._audit_lock = threading.Lock()
        self._audit_queue: list[AuditEntry] = []
        self._audit_scheduled = False

    # --- accounts -----------------------------------------------------------------

    async def create_account(self, account: Account) -> None:
        def job(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    f"INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        account.account_id,
                        account.email,
                        account.plan,
                        account.limits.cases_per_hour,
                        account.limits.case_api_tps,
                        account.limits.advisor_tps,
                        account.created_ms,
                    ),
                )
            except sqlite3.IntegrityError:
                raise AccountExists(account.account_id) from None

        await self._writer.submit(job)

    async def get_account(self, account_id: str) -> Account | None:
        row = self._db.execute(
            f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE account_id = ?", (account_id,)
        ).fetchone()
        return account_record(row) if row else None

    async def list_accounts(self) -> list[Account]:
        rows = self._db.execute(f"SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY seq")
        return [account_record(row) for row in rows]

    async def update_account(
        self,
        account_id: str,
        *,
        plan: str | None = None,
        email: str | None = None,
        limits: LimitOverrides | None = None,
    ) -> Account | None:
        sets: list[str] = []
        args: list[Any] = []
        if plan is not None:
            sets.append("plan = ?")
            args.append(plan)
        if email is not None:
            sets.append("email = ?")
            args.append(email)
        if limits is not None:
            sets.append("max_cases_per_hour = ?, case_api_tps = ?, advisor_tps = ?")
            args.extend((limits.cases_per_hour, limits.case_api_tps, limits.advisor_tps))

        def job(conn: sqlite3.Connection) -> Account | None:
            if sets:
                conn.execute(
                    f"UPDATE accounts SET {', '.join(sets)} WHERE account_id = ?",
                    (*args, account_id),
                )
            row = conn.execute(
                f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE account_id = ?", (account_id,)
            ).fetchone()
            return account_record(row) if row else None

        return await self._writer.submit(job)

    async def delete_account(self, account_id: str) -> bool:
        def job(conn: sqlite3.Connection) -> bool:
            conn.execute("DELETE FROM access_keys WHERE account_id = ?", (account_id,))
            cursor = conn.execute("DELETE FROM accounts WHERE account_id = ?", (account_id,))
            return cursor.rowcount > 0

        return await self._writer.submit(job)

    # --- access keys --------------------------------------------------------------

    async def create_key(self, key: AccessKey) -> None:
        def job(conn: sqlite3.Connection) -> None:
            if not conn.execute(
                "SELECT 1 FROM accounts WHERE account_id = ?", (key.account_id,)
            ).fetchone():
                raise AccountNotFound(key.account_id)
            conn.execute(
                f"INSERT INTO access_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key.access_key_id,
                    key.account_id,
                    key.user_name,
                    key.secret_sealed,
                    key.session_token_hash,
                    key.expires_ms,
                    key.created_ms,
                    key.revoked_ms,
                ),
            )

        await self._writer.submit(job)

    async def get_credential(self, access_key_id: str) -> Credential | None:
        row = self._db.execute(CREDENTIAL_SQL, (access_key_id,)).fetchone()
        if row is None:
            return None
        return Credential(key=key_record(row[:8]), account=account_record(row[8:]))

    async def list_keys(self, account_id: str | None = None) -> list[AccessKey]:
        if account_id is None:
            rows = self._db.execute(f"SELECT {KEY_COLUMNS} FROM access_keys ORDER BY seq")
        else:
            rows = self._db.execute(
                f"SELECT {KEY_COLUMNS} FROM access_keys WHERE account_id = ? ORDER BY seq",
                (account_id,),
            )
        return [key_record(row) for row in rows]

    async def revoke_key(self, access_key_id: str, now_ms: int) -> AccessKey | None:
        def job(conn: sqlite3.Connection) -> AccessKey | None:
            conn.execute(
                "UPDATE access_keys SET revoked_ms = ? WHERE access_key_id = ?"
                " AND revoked_ms IS NULL",
                (now_ms, access_key_id),
            )
            row = conn.execute(
                f"SELECT {KEY_COLUMNS} FROM access_keys WHERE access_key_id = ?",
                (access_key_id,),
            ).fetchone()
            return key_record(row) if row else None

        return await self._writer.submit(job)

    async def recent_case_count(self, account_id: str, since_ms: int) -> int:
        (count,) = self._db.execute(
            "SELECT COUNT(*) FROM cases WHERE account_id = ? AND created_ms > ?",
            (account_id, since_ms),
        ).fetchone()
        return int(count)

    # --- the audit trail ----------------------------------------------------------

    def record_audit(self, entry: AuditEntry) -> None:
        with self._audit_lock:
            self._audit_queue.append(entry)
            if self._audit_scheduled:
                return
            self._audit_scheduled = True
        self._writer.submit(self._write_audit).add_done_callback(_report_audit_failure)

    def _write_audit(self, conn: sqlite3.Connection) -> int:
        # On the writer thread, inside its transaction.
        with self._audit_lock:
            batch, self._audit_queue = self._audit_queue, []
            self._audit_scheduled = False
        if batch:
            conn.executemany(INSERT_AUDIT, [audit_values(entry) for entry in batch])
        return len(batch)

    async def flush_audit(self) -> None:
        await self._writer.submit(self._write_audit)

    async def list_audit(self, query: AuditQuery) -> list[AuditEntry]:
        where, args = _audit_filters(query)
        sql = (
            f"SELECT seq, {AUDIT_COLUMNS} FROM audit_events WHERE {' AND '.join(where)}"
            " ORDER BY seq LIMIT ?"
        )
        rows = self._db.execute(sql, (*args, query.limit))
        return [audit_record(row) for row in rows]


def _audit_filters(query: AuditQuery) -> tuple[list[str], list[Any]]:
    where = ["seq > ?"]
    args: list[Any] = [query.after_seq]
    if query.account_id is not None:
        where.append("account_id = ?")
        args.append(query.account_id)
    if query.operation is not None:
        where.append("operation = ?")
        args.append(query.operation)
    if query.error_code is not None:
        where.append("error_code = ?")
        args.append(query.error_code)
    if query.outcome == "ok":
        where.append("error_code IS NULL")
    elif query.outcome == "error":
        where.append("error_code IS NOT NULL")
    if query.since_ms is not None:
        where.append("at_ms >= ?")
        args.append(query.since_ms)
    if query.until_ms is not None:
        where.append("at_ms <= ?")
        args.append(query.until_ms)
    return where, args


def _report_audit_failure(future: asyncio.Future[int]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("audit rows could not be written", exc_info=future.exception())
