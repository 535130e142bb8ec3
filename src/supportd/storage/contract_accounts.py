"""The accounts area of the Store protocol: accounts, access keys and the audit trail."""

from __future__ import annotations

from typing import Protocol

from supportd.domain.accounts import (
    AccessKey,
    Account,
    AuditEntry,
    AuditQuery,
    Credential,
    LimitOverrides,
)


class AccountStore(Protocol):
    """Accounts (plan, e-mail, own limits), their access keys, and one audit row per API
    call. Secrets reach the store sealed; the store never sees the server key."""

    async def create_account(self, account: Account) -> None:
        """Insert an account; AccountExists if the id is taken."""

    async def get_account(self, account_id: str) -> Account | None:
        """The account, or None."""

    async def list_accounts(self) -> list[Account]:
        """Every account, in creation order."""

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

    async def delete_account(self, account_id: str) -> bool:
        """Delete the account and its access keys (its cases and audit rows stay);
        False if there was no such account."""

    async def create_key(self, key: AccessKey) -> None:
        """Insert an access key; AccountNotFound if its account does not exist."""

    async def get_credential(self, access_key_id: str) -> Credential | None:
        """The key with this id and its account, in one look-up (revoked and expired
        keys included: the caller decides), or None."""

    async def list_keys(self, account_id: str | None = None) -> list[AccessKey]:
        """The keys of one account, or of all, in creation order."""

    async def revoke_key(self, access_key_id: str, now_ms: int) -> AccessKey | None:
        """Mark a key revoked (a revoked key stays revoked, with its first revocation
        time); the key afterwards, or None if there is no such key."""

    async def recent_case_count(self, account_id: str, since_ms: int) -> int:
        """Cases the account created after since_ms (a read: not exact under concurrent
        creation; create_case's max_cases_per_hour is)."""

    def record_audit(self, entry: AuditEntry) -> None:
        """Queue one audit row; called on the store's event loop. Rows are written in
        batches shortly after, without the caller waiting, each row once (request ids
        are unique); close() (and flush_audit()) write every queued row first."""

    async def flush_audit(self) -> None:
        """Write every audit row queued so far."""

    async def list_audit(self, query: AuditQuery) -> list[AuditEntry]:
        """Up to query.limit rows matching the query, in recording order."""
